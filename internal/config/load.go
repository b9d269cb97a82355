package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KamalVersion is the Kamal version whose behaviour we implement; configs
// compare `minimum_version` against it. The cli package keeps it in sync.
var KamalVersion = "2.12.0"

// erbRenderer renders one config file's ERB. It is a variable so tests can
// run without the real evaluator; erb_link.go installs the real one.
type erbRenderer func(src []byte, file, dir string, lookupEnv func(string) (string, bool)) ([]byte, error)

var renderERB erbRenderer

// gitRunner runs git with args in the current directory and returns stdout;
// tests replace it.
var gitRunner = func(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		// git's own first line says what is wrong (e.g. no commit yet).
		if msg, _, _ := strings.Cut(strings.TrimSpace(errb.String()), "\n"); msg != "" {
			err = errors.New(msg)
		}
	}
	return out.String(), err
}

// Load reads, renders, merges, validates and models the configuration.
func Load(opts LoadOptions) (*Config, error) {
	raw, err := LoadRaw(opts)
	if err != nil {
		return nil, err
	}
	return build(raw, opts)
}

// Parse builds a Config from the text of a deploy.yml held in memory (it is
// rendered through ERB like a file). opts.ConfigFile only names it in error
// messages; no destination file is read. Handy for tests of other packages.
func Parse(data []byte, opts LoadOptions) (*Config, error) {
	file := opts.ConfigFile
	if file == "" {
		file = DefaultConfigFile
	}
	n, err := parseFile(file, data, envLookup(opts))
	if err != nil {
		return nil, err
	}
	return build(&RawConfig{root: n}, opts)
}

// LoadRaw reads the config file(s), renders ERB, parses YAML and merges the
// destination file, without validating. It is used for alias lookup.
func LoadRaw(opts LoadOptions) (*RawConfig, error) {
	file := opts.ConfigFile
	if file == "" {
		file = DefaultConfigFile
	}
	lookup := envLookup(opts)
	files := []string{file}
	if opts.Destination != "" {
		files = append(files, destinationFile(file, opts.Destination))
	}
	var merged *node
	for _, f := range files {
		n, err := loadFile(f, lookup)
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = n
		} else {
			merged = deepMerge(merged, n)
		}
	}
	return &RawConfig{root: merged}, nil
}

// RawConfig is a merged but unvalidated configuration.
type RawConfig struct{ root *node }

// Config validates the raw configuration and builds the model. opts gives
// the destination and version; its ConfigFile is not read again.
func (r *RawConfig) Config(opts LoadOptions) (*Config, error) { return build(r, opts) }

// Alias returns the command line of alias name, if the raw config has one.
func (r *RawConfig) Alias(name string) (string, bool) {
	a := r.root.get("aliases")
	if a == nil || a.kind != kindMap {
		return "", false
	}
	v, ok := a.vals[name]
	if !ok || !v.stringish() {
		return "", false
	}
	return v.text(), true
}

// destinationFile is Ruby's Pathname#sub_ext(".<dest>.yml").
func destinationFile(file, dest string) string {
	ext := filepath.Ext(file)
	base := strings.TrimSuffix(file, ext)
	if strings.HasSuffix(base, "/") || base == "" {
		// a dotfile such as "config/.yml": Ruby treats the whole name as stem
		base = file
	}
	return base + "." + dest + ".yml"
}

// envLookup returns the environment seen by ERB: KAMAL_DESTINATION is the
// destination (unset without one), as Kamal sets ENV before rendering.
func envLookup(opts LoadOptions) func(string) (string, bool) {
	base := opts.LookupEnv
	if base == nil {
		// Shell-outs from ERB must see it too, so set the process env.
		if opts.Destination != "" {
			os.Setenv("KAMAL_DESTINATION", opts.Destination)
		} else {
			os.Unsetenv("KAMAL_DESTINATION")
		}
		return os.LookupEnv
	}
	return func(k string) (string, bool) {
		if k == "KAMAL_DESTINATION" {
			return opts.Destination, opts.Destination != ""
		}
		return base(k)
	}
}

func loadFile(file string, lookup func(string) (string, bool)) (*node, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Message: "Configuration file not found in " + file, kind: KindRuntime}
		}
		return nil, &Error{Message: fmt.Sprintf("Cannot read configuration file %s: %v", file, err), kind: KindRuntime}
	}
	return parseFile(file, data, lookup)
}

// parseFile renders and parses the content of one config file.
func parseFile(file string, data []byte, lookup func(string) (string, bool)) (*node, error) {
	if renderERB == nil {
		return nil, &Error{Message: file + ": ERB rendering is not available", kind: KindRuntime}
	}
	rendered, err := renderERB(data, file, filepath.Dir(file), lookup)
	if err != nil {
		return nil, err
	}
	n, err := parseYAML(file, rendered)
	if err != nil {
		return nil, err
	}
	if n.kind == kindNull {
		// an empty file (or only comments): nothing to merge
		return &node{kind: kindMap, file: file, line: 1}, nil
	}
	if n.kind != kindMap {
		return nil, &Error{File: file, Line: n.line, Message: "the configuration must be a YAML mapping of settings (key: value)", kind: KindConfiguration}
	}
	return n, nil
}

// resolveVersion is --version, then $VERSION, then git.
func versionResolver(declared string, lookup func(string) (string, bool), gitClone bool) func() (string, error) {
	return func() (string, error) {
		if declared != "" {
			return declared, nil
		}
		if v, ok := lookup("VERSION"); ok {
			return v, nil
		}
		return gitVersion(gitClone)
	}
}

// gitVersion is the HEAD commit, with _uncommitted_<16 hex> appended when the
// work tree is dirty and the build uses it directly (builder.context set).
func gitVersion(gitClone bool) (string, error) {
	if _, err := gitRunner("rev-parse"); err != nil {
		pwd, _ := os.Getwd()
		return "", &Error{Message: "Can't use commit hash as version, no git repository found in " + pwd, kind: KindRuntime}
	}
	head, err := gitRunner("rev-parse", "HEAD")
	if err != nil {
		return "", &Error{Message: "Can't use commit hash as version, git rev-parse HEAD failed: " + err.Error(), kind: KindRuntime}
	}
	v := strings.TrimSpace(head)
	if !gitClone {
		status, err := gitRunner("status", "--porcelain")
		if err == nil && strings.TrimSpace(status) != "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			v += "_uncommitted_" + hex.EncodeToString(b)
		}
	}
	return v, nil
}
