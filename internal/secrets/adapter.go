package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Adapter reads secrets from one password manager through its command line
// tool. Secret values only ever travel through the tool's stdout; session
// tokens go through the environment, never through argv.
type Adapter interface {
	// Fetch returns the named secrets in request order. account and from
	// are the --account and --from options (either may be empty); each
	// adapter documents how it reads names.
	Fetch(ctx context.Context, account, from string, names []string) ([]Var, error)
}

// Streams are the terminal streams a vendor tool may use to ask the user for
// a password or to report an error. Zero values mean os.Stdin and os.Stderr.
type Streams struct {
	Stdin  io.Reader
	Stderr io.Writer
}

func (s Streams) stdin() io.Reader {
	if s.Stdin == nil {
		return os.Stdin
	}
	return s.Stdin
}

func (s Streams) stderr() io.Writer {
	if s.Stderr == nil {
		return os.Stderr
	}
	return s.Stderr
}

type adapterSpec struct {
	requiresAccount bool
	build           func(Streams) Adapter
}

// adapterSpecs maps every adapter name Kamal accepts to its implementation.
var adapterSpecs = map[string]adapterSpec{
	"1password":           {true, func(s Streams) Adapter { return &onePassword{cli: newCLI("op", "1Password", s)} }},
	"one_password":        {true, func(s Streams) Adapter { return &onePassword{cli: newCLI("op", "1Password", s)} }},
	"lastpass":            {true, func(s Streams) Adapter { return &lastPass{cli: newCLI("lpass", "LastPass", s)} }},
	"last_pass":           {true, func(s Streams) Adapter { return &lastPass{cli: newCLI("lpass", "LastPass", s)} }},
	"bitwarden":           {true, func(s Streams) Adapter { return &bitwarden{cli: newCLI("bw", "Bitwarden", s)} }},
	"bitwarden-sm":        {false, func(s Streams) Adapter { return &bitwardenSM{cli: newCLI("bws", "Bitwarden Secrets Manager", s)} }},
	"aws_secrets_manager": {false, func(s Streams) Adapter { return &awsSecretsManager{cli: newCLI("aws", "AWS Secrets Manager", s)} }},
	"gcp":                 {true, func(s Streams) Adapter { return &gcpSecretManager{cli: newCLI("gcloud", "GCP Secret Manager", s)} }},
	"gcp_secret_manager":  {true, func(s Streams) Adapter { return &gcpSecretManager{cli: newCLI("gcloud", "GCP Secret Manager", s)} }},
	"doppler":             {false, func(s Streams) Adapter { return &doppler{cli: newCLI("doppler", "Doppler", s)} }},
	"passbolt":            {false, func(s Streams) Adapter { return &passbolt{cli: newCLI("passbolt", "Passbolt", s)} }},
	"enpass":              {false, func(s Streams) Adapter { return &enpass{cli: newCLI("enpass-cli", "Enpass", s)} }},
	"test":                {true, func(Streams) Adapter { return reverser{} }},
}

// LookupAdapter returns the adapter called name (case-insensitive, as in
// Kamal) and whether it needs --account.
func LookupAdapter(name string, streams Streams) (Adapter, bool, error) {
	spec, ok := adapterSpecs[strings.ToLower(name)]
	if !ok {
		//lint:ignore ST1005 Kamal's message, word for word
		return nil, false, fmt.Errorf("Unknown secrets adapter: %s", name)
	}
	return spec.build(streams), spec.requiresAccount, nil
}

// prefixed puts from/ in front of every name, as Kamal's --from does.
func prefixed(from string, names []string) []string {
	if from == "" {
		return append([]string(nil), names...)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = from + "/" + n
	}
	return out
}

// vendorCLI runs one password manager's command line tool.
type vendorCLI struct {
	bin     string // executable name, looked up on PATH
	product string // shown in messages
	streams Streams
	env     []string // extra environment, e.g. a session token
}

func newCLI(bin, product string, s Streams) *vendorCLI {
	return &vendorCLI{bin: bin, product: product, streams: s}
}

// checkInstalled fails when the tool is not on PATH.
func (c *vendorCLI) checkInstalled() error {
	if _, err := exec.LookPath(c.bin); err != nil {
		return fmt.Errorf("%s CLI is not installed (%s not found in PATH)", c.product, c.bin)
	}
	return nil
}

// exitError reports a vendor tool that failed. It names the subcommand
// only: arguments are names, but a message should stay short.
type exitError struct {
	bin, sub string
	code     int
	err      error
}

func (e *exitError) Error() string {
	cmd := strings.TrimSpace(e.bin + " " + e.sub)
	if e.code >= 0 {
		return fmt.Sprintf("`%s` exited with status %d", cmd, e.code)
	}
	return fmt.Sprintf("`%s`: %v", cmd, e.err)
}

func (e *exitError) Unwrap() error { return e.err }

// Output modes of vendorCLI.exec.
const (
	captureStdout = iota // stdout returned, stderr shown to the user
	probe                // stdout returned, stderr discarded (status checks)
	showAll              // both shown to the user (interactive sign-in)
)

// run runs the tool and returns its stdout. The tool shares the user's
// terminal for stdin (password prompts) and stderr (its own error message)
// unless quiet, which discards stderr for status probes.
func (c *vendorCLI) run(ctx context.Context, quiet bool, args ...string) ([]byte, error) {
	mode := captureStdout
	if quiet {
		mode = probe
	}
	return c.exec(ctx, mode, args...)
}

// interactive runs a sign-in command whose output is meant for the user
// (a URL to open, a code to type); its stdout goes to the user's stderr.
func (c *vendorCLI) interactive(ctx context.Context, args ...string) error {
	_, err := c.exec(ctx, showAll, args...)
	return err
}

func (c *vendorCLI) exec(ctx context.Context, mode int, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stdin = c.streams.stdin()
	switch mode {
	case probe:
		cmd.Stderr = io.Discard
	case showAll:
		cmd.Stdout = c.streams.stderr()
		cmd.Stderr = c.streams.stderr()
	default:
		cmd.Stderr = c.streams.stderr()
	}
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	if err := cmd.Run(); err != nil {
		sub := ""
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				break
			}
			if sub != "" && len(sub)+len(a) > 40 {
				break
			}
			sub = strings.TrimSpace(sub + " " + a)
		}
		e := &exitError{bin: c.bin, sub: sub, code: -1, err: err}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			e.code = exit.ExitCode()
		}
		return out.Bytes(), e
	}
	return out.Bytes(), nil
}

// output runs the tool with its stderr shown to the user.
func (c *vendorCLI) output(ctx context.Context, args ...string) ([]byte, error) {
	return c.run(ctx, false, args...)
}

// succeeds runs a status probe and reports whether it exited 0.
func (c *vendorCLI) succeeds(ctx context.Context, args ...string) bool {
	_, err := c.run(ctx, true, args...)
	return err == nil
}

// errorf prefixes a message with the product name.
func (c *vendorCLI) errorf(format string, args ...any) error {
	return fmt.Errorf(c.product+": "+format, args...)
}

// decode parses a tool's JSON output. The error never quotes the output,
// which holds secret values.
func (c *vendorCLI) decode(data []byte, v any, what string) error {
	if err := json.Unmarshal(data, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return c.errorf("unexpected output from %s: not valid JSON (at byte %d)", what, syn.Offset)
		case errors.As(err, &typ):
			return c.errorf("unexpected output from %s: not in the expected shape (unexpected JSON %s)", what, typ.Value)
		default:
			return c.errorf("unexpected output from %s: not valid JSON", what)
		}
	}
	return nil
}

// results collects fetched secrets in first-seen order; a repeated key
// keeps its position and takes the new value, like a Ruby hash.
type results struct {
	vars  []Var
	index map[string]int
}

func (r *results) set(k, v string) {
	if r.index == nil {
		r.index = map[string]int{}
	}
	if i, ok := r.index[k]; ok {
		r.vars[i].Value = v
		return
	}
	r.index[k] = len(r.vars)
	r.vars = append(r.vars, Var{k, v})
}

func (r *results) has(k string) bool { _, ok := r.index[k]; return ok }

// lacking returns the names r has no value for, each once, in order.
func (r *results) lacking(names []string) []string {
	var missing []string
	for _, n := range unique(names) {
		if !r.has(n) {
			missing = append(missing, n)
		}
	}
	return missing
}

// jsonText turns a JSON value into the string a secret holds: strings as
// they are, anything else as its compact JSON text.
func jsonText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw), true
	}
	return buf.String(), true
}

// unique returns names without repeats, in first-seen order.
func unique(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
