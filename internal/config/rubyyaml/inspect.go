package rubyyaml

import (
	"fmt"
	"regexp"
	"strings"
)

// Inspect is Ruby 3.4's inspect of the value, which is also to_s for a Hash
// or an Array: {"a" => 1, b: :c}, ["x", nil, 1.0].
func (n *Node) Inspect() string {
	if n == nil {
		return "nil"
	}
	switch n.Kind {
	case Null:
		return "nil"
	case String:
		return InspectString(n.Str)
	case Symbol:
		if symbolNameRE.MatchString(n.Str) {
			return ":" + n.Str
		}
		return ":" + InspectString(n.Str)
	case Date:
		return n.Text()
	case Seq:
		parts := make([]string, len(n.Items))
		for i, it := range n.Items {
			parts[i] = it.Inspect()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case Map:
		parts := make([]string, len(n.Keys))
		for i, k := range n.Keys {
			key := n.KeyNodes[k]
			if key == nil {
				key = NewString(k)
			}
			if key.Kind == Symbol {
				name := key.Str
				if !symbolNameRE.MatchString(name) {
					name = InspectString(name)
				}
				parts[i] = name + ": " + n.Vals[k].Inspect()
			} else {
				parts[i] = key.Inspect() + " => " + n.Vals[k].Inspect()
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return n.Text()
}

// symbolNameRE: symbols Ruby prints without quotes.
var symbolNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*[?!=]?$`)

// InspectString is Ruby's String#inspect of UTF-8 text: "a\"b\n".
func InspectString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '\v':
			b.WriteString(`\v`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case 0x1b:
			b.WriteString(`\e`)
		case '#':
			// "#{", "#$" and "#@" would interpolate
			if i+1 < len(s) && strings.ContainsRune("{$@", rune(s[i+1])) {
				b.WriteByte('\\')
			}
			b.WriteByte('#')
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(&b, `\u%04X`, r)
			case r == 0x7f:
				b.WriteString(`\x7F`)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
