package rubyyaml

import (
	"encoding/base64"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file writes YAML the way Ruby's `to_yaml` (Psych on libyaml) does, so
// `kamal config` prints what Kamal prints: `---` header, symbol keys as
// `:key:`, indentless block sequences, Psych's quoting choices and libyaml's
// folding of long scalars at 80 columns.

const yamlBestWidth = 80

type emitter struct {
	b      strings.Builder
	column int
}

// Dump renders n as Ruby's n.to_yaml.
func Dump(n *Node) string {
	e := &emitter{}
	e.write("---")
	switch {
	case n != nil && n.Kind == Map && n.Tag == "":
		if len(n.Keys) == 0 {
			e.write(" {}")
		} else {
			e.newline()
			e.mapping(n, 0, false)
		}
	case n != nil && n.Kind == Seq:
		if len(n.Items) == 0 {
			e.write(" []")
		} else {
			e.newline()
			e.sequence(n, 0, false)
		}
	default:
		e.scalarAfterIndicator(n, 2)
	}
	if e.column > 0 {
		e.newline()
	}
	return e.b.String()
}

func (e *emitter) write(s string) {
	e.b.WriteString(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		e.column = utf8.RuneCountInString(s[i+1:])
	} else {
		e.column += utf8.RuneCountInString(s)
	}
}

func (e *emitter) newline() { e.b.WriteByte('\n'); e.column = 0 }

// startItem begins the i-th entry of a block collection on its own
// indented line, except the first of an inline one ("- key: v").
func (e *emitter) startItem(i, ind int, inline bool) {
	if i == 0 && inline {
		return
	}
	if e.column > 0 {
		e.newline()
	}
	e.write(strings.Repeat(" ", ind))
}

func (e *emitter) mapping(m *Node, ind int, inline bool) {
	for i, k := range m.Keys {
		e.startItem(i, ind, inline)
		key := m.KeyNodes[k]
		if key == nil {
			key = NewString(k)
		}
		e.scalar(key, ind+2, true)
		e.write(":")
		e.value(m.Vals[k], ind, true)
	}
}

func (e *emitter) sequence(s *Node, ind int, inline bool) {
	for i, item := range s.Items {
		e.startItem(i, ind, inline)
		e.write("-")
		e.value(item, ind, false)
	}
}

// value writes what follows "key:" or "-".
func (e *emitter) value(n *Node, ind int, inMap bool) {
	switch {
	case n.IsNull():
		// "key:" / "-" with nothing after
	case n.Kind == Map && n.Tag != "":
		e.write(" " + n.Tag)
		if len(n.Keys) == 0 {
			e.write(" {}")
			return
		}
		e.newline()
		e.mapping(n, ind+2, false)
	case n.Kind == Map:
		if len(n.Keys) == 0 {
			e.write(" {}")
			return
		}
		if inMap {
			e.newline()
			e.mapping(n, ind+2, false)
		} else {
			e.write(" ")
			e.mapping(n, ind+2, true)
		}
	case n.Kind == Seq:
		if len(n.Items) == 0 {
			e.write(" []")
			return
		}
		if inMap {
			e.newline()
			e.sequence(n, ind, false)
		} else {
			e.write(" ")
			e.sequence(n, ind+2, true)
		}
	default:
		e.scalarAfterIndicator(n, ind+2)
	}
}

func (e *emitter) scalarAfterIndicator(n *Node, ind int) {
	e.write(" ")
	e.scalar(n, ind, false)
}

// scalar writes a scalar; ind is the indentation used when folding.
func (e *emitter) scalar(n *Node, ind int, key bool) {
	if n.IsNull() {
		if key {
			// libyaml quotes an empty simple key
			e.write("''")
		}
		return
	}
	switch n.Kind {
	case Bool:
		e.write(strconv.FormatBool(n.Bool))
	case Int, Date:
		e.write(n.Text())
	case Time:
		// Psych writes times with nanoseconds, "Z" for UTC ones
		if n.Time.Location() == time.UTC {
			e.write(n.Time.Format("2006-01-02 15:04:05.000000000 Z"))
		} else {
			e.write(n.Time.Format("2006-01-02 15:04:05.000000000 -07:00"))
		}
	case Float:
		switch x := n.Float; {
		case math.IsNaN(x):
			e.write(".nan")
		case math.IsInf(x, 1):
			e.write(".inf")
		case math.IsInf(x, -1):
			e.write("-.inf")
		default:
			e.write(FormatFloat(x))
		}
	case Symbol:
		e.str(":"+n.Str, ind, key, true)
	case String:
		if n.Binary && !isASCII(n.Str) {
			// Ruby's binary strings: !binary and base64, as a literal block
			e.write("!binary ")
			e.writeLiteral(base64.StdEncoding.EncodeToString([]byte(n.Str)), ind)
			return
		}
		e.str(n.Str, ind, key, false)
	default:
		e.str("", ind, key, false)
	}
}

var (
	nonWordStartRE = regexp.MustCompile(`^[^\p{L}\p{M}\p{Nd}\p{Pc}][^"]*$`)
	octal89RE      = regexp.MustCompile(`^0[0-7]*[89]`)
)

type scalarStyle int

const (
	stylePlain scalarStyle = iota
	styleSingle
	styleDouble
	styleLiteral
)

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// tokenizesAsString reports whether Psych would read s back as a String.
func tokenizesAsString(s string) bool {
	if s == "" {
		return false
	}
	return tokenize(s, &Node{}).Kind == String
}

func (e *emitter) str(s string, ind int, key, symbol bool) {
	style := stylePlain
	if !symbol {
		switch {
		case strings.Contains(strings.TrimSuffix(s, "\n"), "\n"):
			style = styleLiteral
		case s == "<<":
			style = styleSingle
		case s == "y" || s == "Y" || s == "n" || s == "N":
			style = styleDouble
		case nonWordStartRE.MatchString(s):
			style = styleDouble
		case !tokenizesAsString(s) || octal89RE.MatchString(s):
			style = styleSingle
		}
	}
	a := analyzeScalar(s)
	if style == styleLiteral && (key || !a.blockAllowed) {
		style = styleDouble
	}
	if style == stylePlain && (!a.blockPlainAllowed || (key && a.multiline) || s == "") {
		style = styleSingle
	}
	if style == styleSingle && (!a.singleAllowed || (key && a.multiline)) {
		style = styleDouble
	}
	allowBreaks := !key
	switch style {
	case stylePlain:
		e.writePlain(s, ind, allowBreaks)
	case styleSingle:
		e.writeSingle(s, ind, allowBreaks)
	case styleDouble:
		e.writeDouble(s, ind, allowBreaks)
	case styleLiteral:
		e.writeLiteral(s, ind)
	}
}

type scalarAnalysis struct {
	multiline         bool
	blockPlainAllowed bool
	singleAllowed     bool
	blockAllowed      bool
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' || isBreak(r) }
func isBreak(r rune) bool { return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029 }
func isPrintable(r rune) bool {
	return r == 0x0A || (r >= 0x20 && r <= 0x7E) || r == 0x85 || (r >= 0xA0 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF) || (r >= 0x10000 && r <= 0x10FFFF)
}

// analyzeScalar follows libyaml's yaml_emitter_analyze_scalar.
func analyzeScalar(s string) scalarAnalysis {
	a := scalarAnalysis{blockPlainAllowed: true, singleAllowed: true, blockAllowed: true}
	if s == "" {
		a.blockPlainAllowed = false
		return a
	}
	rs := []rune(s)
	first, last := rs[0], rs[len(rs)-1]
	leadingSpace, leadingBreak := first == ' ', isBreak(first)
	trailingSpace, trailingBreak := last == ' ', isBreak(last)
	blockInd := strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...")
	var breakSpace, spaceBreak, special, lineBreaks bool
	preceded := true
	prevSpace, prevBreak := false, false
	for i, r := range rs {
		followed := i+1 >= len(rs) || isBlank(rs[i+1])
		if i == 0 {
			switch r {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				blockInd = true
			case '?', ':', '-':
				blockInd = blockInd || followed
			}
		} else {
			switch r {
			case ':':
				blockInd = blockInd || followed
			case '#':
				blockInd = blockInd || preceded
			}
		}
		special = special || !isPrintable(r)
		space, brk := r == ' ', isBreak(r)
		lineBreaks = lineBreaks || brk
		breakSpace = breakSpace || (space && prevBreak)
		spaceBreak = spaceBreak || (brk && prevSpace)
		prevSpace, prevBreak = space, brk
		preceded = isBlank(r)
	}
	a.multiline = lineBreaks
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.blockPlainAllowed = false
	}
	if trailingSpace {
		a.blockAllowed = false
	}
	if breakSpace {
		a.blockPlainAllowed = false
		a.singleAllowed = false
	}
	if spaceBreak || special {
		a.blockPlainAllowed = false
		a.singleAllowed = false
		a.blockAllowed = false
	}
	if lineBreaks {
		a.blockPlainAllowed = false
	}
	if blockInd {
		a.blockPlainAllowed = false
	}
	return a
}

func (e *emitter) writeIndent(ind int) {
	e.newline()
	e.write(strings.Repeat(" ", ind))
}

func (e *emitter) writePlain(s string, ind int, allowBreaks bool) {
	rs := []rune(s)
	spaces := false
	for i, r := range rs {
		if r == ' ' {
			if allowBreaks && !spaces && e.column > yamlBestWidth && !(i+1 < len(rs) && rs[i+1] == ' ') {
				e.writeIndent(ind)
			} else {
				e.write(" ")
			}
			spaces = true
			continue
		}
		e.write(string(r))
		spaces = false
	}
}

func (e *emitter) writeSingle(s string, ind int, allowBreaks bool) {
	e.write("'")
	rs := []rune(s)
	spaces, breaks := false, false
	for i, r := range rs {
		switch {
		case r == ' ':
			if allowBreaks && !spaces && e.column > yamlBestWidth && i != 0 && i != len(rs)-1 && !(i+1 < len(rs) && rs[i+1] == ' ') {
				e.writeIndent(ind)
			} else {
				e.write(" ")
			}
			spaces = true
		case isBreak(r):
			if !breaks && r == '\n' {
				e.newline()
			}
			e.newline()
			breaks = true
			continue
		default:
			if breaks {
				e.write(strings.Repeat(" ", ind))
			}
			if r == '\'' {
				e.write("'")
			}
			e.write(string(r))
			spaces = false
		}
		breaks = false
	}
	e.write("'")
}

func (e *emitter) writeDouble(s string, ind int, allowBreaks bool) {
	e.write(`"`)
	rs := []rune(s)
	spaces := false
	for i, r := range rs {
		if !isPrintable(r) || r == 0xFEFF || isBreak(r) || r == '"' || r == '\\' {
			e.write(doubleEscape(r))
			spaces = false
			continue
		}
		if r == ' ' {
			if allowBreaks && !spaces && e.column > yamlBestWidth && i != 0 && i != len(rs)-1 {
				e.writeIndent(ind)
				if i+1 < len(rs) && rs[i+1] == ' ' {
					e.write(`\`)
				}
			} else {
				e.write(" ")
			}
			spaces = true
			continue
		}
		e.write(string(r))
		spaces = false
	}
	e.write(`"`)
}

// yamlEscapes are libyaml's short escapes in double-quoted scalars.
var yamlEscapes = map[rune]string{
	0: `\0`, 7: `\a`, 8: `\b`, 9: `\t`, 0xA: `\n`, 0xB: `\v`, 0xC: `\f`, 0xD: `\r`, 0x1B: `\e`,
	'"': `\"`, '\\': `\\`, 0x85: `\N`, 0xA0: `\_`, 0x2028: `\L`, 0x2029: `\P`,
}

func doubleEscape(r rune) string {
	if esc, ok := yamlEscapes[r]; ok {
		return esc
	}
	switch {
	case r <= 0xFF:
		return fmt.Sprintf(`\x%02X`, r)
	case r <= 0xFFFF:
		return fmt.Sprintf(`\u%04X`, r)
	}
	return fmt.Sprintf(`\U%08X`, r)
}

func (e *emitter) writeLiteral(s string, ind int) {
	header := "|"
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") {
		header += "2"
	}
	switch {
	case !strings.HasSuffix(s, "\n"):
		header += "-"
	case strings.HasSuffix(s, "\n\n") || s == "\n":
		header += "+"
	}
	e.write(header)
	body := strings.TrimSuffix(s, "\n")
	for _, line := range strings.Split(body, "\n") {
		e.newline()
		if line != "" {
			e.write(strings.Repeat(" ", ind) + line)
		}
	}
	if strings.HasSuffix(s, "\n\n") {
		for range strings.Count(s, "\n") - strings.Count(strings.TrimRight(s, "\n"), "\n") - 1 {
			e.newline()
		}
	}
}
