// Package commands builds the shell commands kamal runs on hosts and
// locally. Builders are pure: configuration in, command values out, no I/O.
// Every value placed in a command is quoted or escaped here, so callers can
// run the String() form through a shell as it is.
package commands

import (
	"strings"

	"github.com/kamalgo/kamal/internal/shell"
)

// Cmd is one command line as a list of shell-safe words. Builders quote
// values when they create words; String joins them with single spaces, as
// SSHKit joins Kamal's token arrays.
type Cmd []string

// String renders the command line.
func (c Cmd) String() string { return shell.Join(c...) }

// New returns a command from words that need no quoting (fixed words such as
// "docker", "ps" or flags). Use Quote/Escape words for any value.
func New(words ...string) Cmd { return Cmd(words) }

// Quoted appends v quoted as one POSIX shell word.
func (c Cmd) Quoted(v string) Cmd { return append(c, shell.Quote(v)) }

// Escaped appends v escaped the way Kamal escapes values (a double-quoted
// string), so generated commands match Kamal's byte for byte.
func (c Cmd) Escaped(v string) Cmd { return append(c, shell.Escape(v)) }

// join links commands with an operator such as "&&".
func join(op string, cmds []Cmd) Cmd {
	var out Cmd
	for i, c := range cmds {
		if len(c) == 0 {
			continue
		}
		if i > 0 && len(out) > 0 {
			out = append(out, op)
		}
		out = append(out, c...)
	}
	return out
}

// Combine runs the commands one after another while they succeed (a && b).
func Combine(cmds ...Cmd) Cmd { return join("&&", cmds) }

// Chain runs the commands one after another regardless of failures (a ; b).
func Chain(cmds ...Cmd) Cmd { return join(";", cmds) }

// Pipe connects the commands' output to the next one's input (a | b).
func Pipe(cmds ...Cmd) Cmd { return join("|", cmds) }

// Any runs the commands until one succeeds (a || b).
func Any(cmds ...Cmd) Cmd { return join("||", cmds) }

// Append appends the command's output to path (cmd >> path).
func Append(c Cmd, path string) Cmd { return append(append(Cmd{}, c...), ">>", shell.Quote(path)) }

// Write writes the command's output to path (cmd > path).
func Write(c Cmd, path string) Cmd { return append(append(Cmd{}, c...), ">", shell.Quote(path)) }

// Shell wraps the command in `sh -c '<cmd>'`, needed where a pipeline must
// run as one unit (for example before `| head -1`).
func Shell(c Cmd) Cmd { return Cmd{"sh", "-c", shell.Quote(c.String())} }

// Xargs feeds the output of c as arguments to next (c | xargs next).
func Xargs(c Cmd, next Cmd) Cmd { return Pipe(c, append(Cmd{"xargs"}, next...)) }

// Contains reports whether the command line contains s (for tests and logs).
func (c Cmd) Contains(s string) bool { return strings.Contains(c.String(), s) }
