package commands

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// Helpers shared by the docker command builders. They reproduce Kamal's
// argumentize/optionize token shapes while making sure every value is
// either escaped like Kamal does or POSIX-quoted.

// q quotes a value Kamal would put in the command unquoted. Plain words stay
// as they are, so output matches Kamal's for ordinary values.
func q(v string) string { return shell.Quote(v) }

// alwaysQuote wraps v in single quotes even when it is a plain word, the way
// Kamal writes '<value>' literally in a few commands (shell(), grep '…').
func alwaysQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// pwdPath is a host path relative to the login directory made absolute with
// $PWD, which the remote shell expands (docker needs absolute bind mounts).
func pwdPath(rel string) string { return "$PWD/" + q(rel) }

// escapedPair is `key="value"` (argumentize with a hash): the key is quoted
// when it is not a plain word, the value escaped like Kamal.
func escapedPair(k, v string) string { return q(k) + "=" + shell.Escape(v) }

// envArgs renders clear env vars as `--env K="v"` pairs, in order.
func envArgs(env []shell.KV) Cmd {
	var c Cmd
	for _, kv := range env {
		c = append(c, "--env", escapedPair(kv.Key, kv.Value))
	}
	return c
}

// clearEnv returns the clear values of env in order.
func clearEnv(env config.Env) []shell.KV {
	out := make([]shell.KV, 0, len(env.ClearOrder))
	for _, k := range env.ClearOrder {
		out = append(out, shell.KV{Key: k, Value: env.Clear[k]})
	}
	return out
}

// loggingArgs renders a logging section: `--log-driver "x"` then
// `--log-opt k="v"` for each option (k=false, or k alone, for false and
// blank values).
func loggingArgs(l config.Logging) Cmd {
	var c Cmd
	if l.Driver != "" {
		c = append(c, "--log-driver", shell.Escape(l.Driver))
	}
	for _, k := range l.OptionsOrder {
		c = append(c, "--log-opt", l.OptionArg(k, q))
	}
	return c
}

// labelArgs renders `--label k="v"` pairs in order.
func labelArgs(labels map[string]string, order []string) Cmd {
	var c Cmd
	for _, k := range order {
		c = append(c, "--label", escapedPair(k, labels[k]))
	}
	return c
}

// optionArgs renders docker options the way Kamal's optionize does:
// `--key "value"`, a bare `--key` for true, and repeated flags for lists.
// Keys listed in skip are left out.
func optionArgs(opts map[string]any, order []string, skip ...string) Cmd {
	var c Cmd
	for _, k := range order {
		if contains(skip, k) {
			continue
		}
		flag := "--" + k
		if !plainFlag(k) {
			flag = q(flag)
		}
		for _, v := range flatten(opts[k]) {
			if b, ok := v.(bool); ok && b {
				c = append(c, flag)
				continue
			}
			c = append(c, flag, shell.Escape(scalar(v)))
		}
	}
	return c
}

// optionValue returns the option's value as a string, if set and scalar.
func optionValue(opts map[string]any, key string) (string, bool) {
	v, ok := opts[key]
	if !ok || v == nil {
		return "", false
	}
	if _, isList := v.([]any); isList {
		return "", false
	}
	return scalar(v), true
}

func plainFlag(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func flatten(v any) []any {
	if l, ok := v.([]any); ok {
		var out []any
		for _, x := range l {
			out = append(out, flatten(x)...)
		}
		return out
	}
	return []any{v}
}

// scalar renders a YAML scalar as Ruby's to_s would.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + scalar(x[k])
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// containerIDFor is `docker container ls [--all] --filter 'name=^<name>$' --quiet`.
func containerIDFor(name string, all bool) Cmd {
	c := New("docker", "container", "ls")
	if all {
		c = append(c, "--all")
	}
	return append(c, "--filter", q("name=^"+name+"$"), "--quiet")
}

// seconds renders a duration the way Kamal passes timeouts to kamal-proxy.
func seconds(n int) string { return strconv.Itoa(n) + "s" }

// Secret is a value that must not be logged or put in argv (for example a
// registry password fed to stdin). String redacts it.
type Secret string

// String redacts the value for logs and %v.
func (Secret) String() string { return "[REDACTED]" }

// GoString redacts the value for %#v.
func (Secret) GoString() string { return "[REDACTED]" }

// Reveal returns the secret value; only the code that feeds it to a process
// should call this.
func (s Secret) Reveal() string { return string(s) }
