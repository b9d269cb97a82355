package erb

import (
	"io"
	"strings"
)

// ioStream is $stdout or $stderr (STDOUT, STDERR). What the template
// writes there goes to the terminal, not into the rendered YAML, as in
// Kamal.
type ioStream struct {
	name string
	w    io.Writer
}

func (ev *evaluator) stdout() *ioStream { return &ioStream{name: "$stdout", w: ev.opts.Stdout} }
func (ev *evaluator) stderr() *ioStream { return &ioStream{name: "$stderr", w: ev.opts.Stderr} }

// putsText is what puts writes for its arguments: each on its own line,
// arrays flattened, no newline added after one that ends a line.
func putsText(args []Value, depth int) string {
	if len(args) == 0 && depth == 0 {
		return "\n"
	}
	var b strings.Builder
	for _, a := range args {
		if arr, ok := a.(*Array); ok && depth < maxNesting {
			if len(arr.elems) == 0 {
				b.WriteString("\n")
			}
			b.WriteString(putsText(arr.elems, depth+1))
			continue
		}
		s := toS(a)
		b.WriteString(s)
		if !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// write sends text to a stream; a write error is ignored, as Ruby's
// puts to a closed terminal would raise but a config should not care.
func (s *ioStream) write(text string) {
	_, _ = io.WriteString(s.w, text)
}

// printMethod implements puts, print, p, pp and warn, on self or on a
// stream.
func printMethod(s *ioStream, name string, args []Value, n node) (Value, error) {
	if len(args) > 0 {
		if h, ok := args[len(args)-1].(*Hash); ok && name == "warn" && allSymbolKeys(h) {
			args = args[:len(args)-1] // uplevel:, category: only add a location
		}
	}
	var b strings.Builder
	for _, a := range args {
		if _, bad := a.(*Proc); bad {
			return nil, unsupported(n)
		}
	}
	switch name {
	case "puts":
		s.write(putsText(args, 0))
		return nil, nil
	case "warn":
		if len(args) > 0 {
			s.write(putsText(args, 0))
		}
		return nil, nil
	case "print", "write", "<<":
		for _, a := range args {
			b.WriteString(toS(a))
		}
		s.write(b.String())
		if name == "write" {
			return int64(b.Len()), nil
		}
		if name == "<<" {
			return s, nil
		}
		return nil, nil
	case "p", "pp":
		for _, a := range args {
			b.WriteString(inspect(a) + "\n")
		}
		s.write(b.String())
		switch len(args) {
		case 0:
			return nil, nil
		case 1:
			return args[0], nil
		}
		return &Array{elems: args}, nil
	case "flush", "sync", "fsync":
		return s, nil
	case "tty?", "isatty":
		return false, nil
	}
	return nil, unsupported(n)
}
