package config

import (
	"github.com/kamalgo/kamal/internal/config/rubyyaml"
	"github.com/kamalgo/kamal/internal/shell"
)

// The logging section (root or role): the docker log driver and options.

// DefaultLogMaxSize is the max-size log option when no logging is set.
const DefaultLogMaxSize = "10m"

// Logging is a docker logging section.
type Logging struct {
	Driver       string
	Options      map[string]string
	OptionsOrder []string
}

var loggingSchema = []field{
	f("driver", tString),
	f("options", tAnyHash),
}

// validateLogging checks a logging section found at ctx, if any.
func (v *validator) validateLogging(ctx string, n *rubyyaml.Node) {
	if n != nil {
		v.withContext(ctx, func() { v.validateAgainst(n, loggingSchema, false) })
	}
}

func buildLogging(n *rubyyaml.Node) Logging {
	l := Logging{Options: map[string]string{}}
	if n != nil && n.Kind == rubyyaml.Map {
		l.Driver = n.Get("driver").Text()
		l.Options, l.OptionsOrder = stringMap(n.Get("options"))
	}
	if l.Driver == "" && len(l.OptionsOrder) == 0 {
		l.Options = map[string]string{"max-size": DefaultLogMaxSize}
		l.OptionsOrder = []string{"max-size"}
	}
	return l
}

// Pairs returns the docker run logging arguments, e.g.
// ["--log-opt", `max-size="10m"`] in unescaped form: pairs of flag and
// key=value (values are NOT shell-escaped; command builders escape them).
func (l Logging) Pairs() [][2]string {
	var out [][2]string
	if l.Driver != "" {
		out = append(out, [2]string{"--log-driver", l.Driver})
	}
	for _, k := range l.OptionsOrder {
		out = append(out, [2]string{"--log-opt", k + "=" + l.Options[k]})
	}
	return out
}

// Args returns the docker logging arguments as Kamal renders them:
// `--log-driver "<driver>"` then `--log-opt key="value"` pairs.
func (l Logging) Args() []string {
	var args []string
	if l.Driver != "" {
		args = append(args, "--log-driver", shell.Escape(l.Driver))
	}
	for _, k := range l.OptionsOrder {
		args = append(args, "--log-opt", k+"="+shell.Escape(l.Options[k]))
	}
	return args
}
