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
	Options      map[string]string // Ruby's to_s of each value
	OptionsOrder []string

	// how Kamal writes an option whose value is not a present string
	forms map[string]logOptionForm
}

type logOptionForm int

const (
	logOptionValue logOptionForm = iota // key="value", escaped
	logOptionFalse                      // false: key=false
	logOptionBare                       // blank (nil, "", [], {}): the key alone
)

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
		l.Options, l.OptionsOrder = mapOf(n.Get("options"), rubyToS)
		for k, v := range n.Get("options").Vals {
			switch {
			case v.Kind == rubyyaml.Bool && !v.Bool:
				l.setForm(k, logOptionFalse)
			case !v.Present():
				l.setForm(k, logOptionBare)
			}
		}
	}
	if l.Driver == "" && len(l.OptionsOrder) == 0 {
		l.Options = map[string]string{"max-size": DefaultLogMaxSize}
		l.OptionsOrder = []string{"max-size"}
	}
	return l
}

func (l *Logging) setForm(key string, f logOptionForm) {
	if l.forms == nil {
		l.forms = map[string]logOptionForm{}
	}
	l.forms[key] = f
}

// rubyToS is Ruby's to_s of a value: a Hash or an Array prints as its
// inspect.
func rubyToS(n *rubyyaml.Node) string {
	if n.Kind == rubyyaml.Map || n.Kind == rubyyaml.Seq {
		return n.Inspect()
	}
	return n.Text()
}

// OptionArg is what follows --log-opt for option key, as Kamal's
// argumentize writes it: key="value" with the value escaped like Kamal,
// key=false for false, and the key alone for a blank value. quoteKey
// writes the key (commands quote keys that are not plain words).
func (l Logging) OptionArg(key string, quoteKey func(string) string) string {
	switch l.forms[key] {
	case logOptionFalse:
		return quoteKey(key) + "=false"
	case logOptionBare:
		return quoteKey(key)
	}
	return quoteKey(key) + "=" + shell.Escape(l.Options[key])
}

// Args returns the docker logging arguments as Kamal renders them:
// `--log-driver "<driver>"` then `--log-opt key="value"` pairs.
func (l Logging) Args() []string {
	var args []string
	if l.Driver != "" {
		args = append(args, "--log-driver", shell.Escape(l.Driver))
	}
	for _, k := range l.OptionsOrder {
		args = append(args, "--log-opt", l.OptionArg(k, func(k string) string { return k }))
	}
	return args
}
