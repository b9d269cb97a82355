package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"
)

// FetchOptions are the options of `kamal secrets fetch`.
type FetchOptions struct {
	Adapter string
	Account string
	From    string
	Names   []string
	Streams Streams
}

// Fetch runs `kamal secrets fetch`: it asks the adapter for the secrets.
func Fetch(ctx context.Context, o FetchOptions) ([]Var, error) {
	if o.Adapter == "" {
		//lint:ignore ST1005 Kamal's message, word for word
		return nil, errors.New("No value provided for required options '--adapter'")
	}
	a, needsAccount, err := LookupAdapter(o.Adapter, o.Streams)
	if err != nil {
		return nil, err
	}
	if needsAccount && o.Account == "" {
		//lint:ignore ST1005 Kamal's message, word for word
		return nil, errors.New("No value provided for required options '--account'")
	}
	return a.Fetch(ctx, o.Account, o.From, o.Names)
}

// FormatFetch renders fetched secrets as Kamal 2.12 prints them: a JSON
// object (keys in fetch order). With inline, the form `$(kamal secrets
// fetch …)` in a secrets file gets, the object is escaped as one shell
// word, so that `$(kamal secrets extract NAME $SECRETS)` gets it back
// intact; without it, it is plain JSON a program can read.
func FormatFetch(vars []Var, inline bool) string {
	if inline {
		return ShellEscape(MarshalJSON(vars))
	}
	return MarshalJSON(vars)
}

// MarshalJSON renders vars as a JSON object in order, escaping like Ruby's
// JSON.dump: no HTML escaping, non-ASCII characters as they are.
func MarshalJSON(vars []Var) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vars {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, v.Key)
		b.WriteByte(':')
		writeJSONString(&b, v.Value)
	}
	b.WriteByte('}')
	return b.String()
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// Extract runs `kamal secrets extract NAME JSON`: the value of key NAME, or
// else of the first key ending in /NAME.
func Extract(name, secretsJSON string) (string, error) {
	vars, err := decodeObject(secretsJSON)
	if err != nil {
		return "", err
	}
	for _, v := range vars {
		if v.Key == name {
			return v.Value, nil
		}
	}
	for _, v := range vars {
		if strings.HasSuffix(v.Key, "/"+name) {
			return v.Value, nil
		}
	}
	//lint:ignore ST1005 Kamal's message, word for word
	return "", fmt.Errorf("Could not find secret %s", name)
}

// decodeObject reads a JSON object keeping key order; null values are
// left out, other non-strings become their JSON text.
func decodeObject(s string) ([]Var, error) {
	var probe any
	if err := json.Unmarshal([]byte(s), &probe); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("secrets JSON is not valid JSON (at byte %d)", syn.Offset)
		}
		return nil, errors.New("secrets JSON is not valid JSON")
	}
	bad := errors.New("secrets JSON is not a JSON object of secrets")
	if _, ok := probe.(map[string]any); !ok {
		return nil, bad
	}
	// Decode again token by token to keep the keys in order.
	dec := json.NewDecoder(strings.NewReader(s))
	if _, err := dec.Token(); err != nil {
		return nil, bad
	}
	var r results
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad
		}
		if v, ok := jsonText(raw); ok {
			r.set(key, v)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad
	}
	return r.vars, nil
}

// RunInline runs a `kamal secrets ...` command found in a secrets file in
// this process, as Kamal does, and returns what it would print with
// --inline. args start with "secrets". Kamal's global options are accepted
// and ignored.
func RunInline(ctx context.Context, args []string, streams Streams) (string, error) {
	if len(args) < 2 || args[0] != "secrets" {
		return "", errors.New("expected `kamal secrets fetch|extract ...`")
	}
	fs := pflag.NewFlagSet("kamal secrets "+args[1], pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o FetchOptions
	fs.StringVarP(&o.Adapter, "adapter", "a", "", "")
	fs.StringVar(&o.Account, "account", "", "")
	fs.StringVar(&o.From, "from", "", "")
	fs.Bool("inline", false, "")
	// Kamal's global options.
	fs.BoolP("verbose", "v", false, "")
	fs.BoolP("quiet", "q", false, "")
	fs.String("version", "", "")
	fs.BoolP("primary", "p", false, "")
	fs.StringP("hosts", "h", "", "")
	fs.StringP("roles", "r", "", "")
	fs.StringP("config-file", "c", "", "")
	fs.StringP("destination", "d", "", "")
	fs.BoolP("skip-hooks", "H", false, "")
	if err := fs.Parse(args[2:]); err != nil {
		return "", fmt.Errorf("kamal secrets %s: %w", args[1], err)
	}
	rest := fs.Args()
	switch args[1] {
	case "fetch":
		o.Names = rest
		o.Streams = streams
		vars, err := Fetch(ctx, o)
		if err != nil {
			return "", err
		}
		return FormatFetch(vars, true), nil
	case "extract":
		if len(rest) != 2 {
			return "", fmt.Errorf("kamal secrets extract: expected NAME and SECRETS_JSON, got %d arguments", len(rest))
		}
		return Extract(rest[0], rest[1])
	case "print":
		// Printing needs the secrets files, which are being read right now.
		return "", errors.New("`kamal secrets print` cannot be used while the secrets are being loaded")
	default:
		return "", fmt.Errorf("unknown command `kamal secrets %s`", args[1])
	}
}
