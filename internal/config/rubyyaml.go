package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file writes YAML the way Ruby's `to_yaml` (Psych on libyaml) does, so
// `kamal config` prints what Kamal prints: `---` header, symbol keys as
// `:key:`, indentless block sequences, Psych's quoting choices and libyaml's
// folding of long scalars at 80 columns.

// rsym is a Ruby Symbol.
type rsym string

// omap is an ordered Ruby Hash.
type omap struct {
	keys []any
	vals []any
}

func (m *omap) add(k, v any) { m.keys = append(m.keys, k); m.vals = append(m.vals, v) }

// rubyValue converts a node tree to emitter values, keeping symbols and order.
func rubyValue(n *node) any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindNull:
		return nil
	case kindString:
		return n.str
	case kindSymbol:
		return rsym(n.str)
	case kindInt:
		return n.i
	case kindFloat:
		return n.f
	case kindBool:
		return n.b
	case kindSeq:
		s := make([]any, len(n.seq))
		for i, v := range n.seq {
			s[i] = rubyValue(v)
		}
		return s
	case kindMap:
		m := &omap{}
		for _, k := range n.keys {
			m.add(rubyValue(n.knod[k]), rubyValue(n.vals[k]))
		}
		return m
	}
	return nil
}

const yamlBestWidth = 80

type rubyEmitter struct {
	b      strings.Builder
	column int
}

// toRubyYAML renders v as Ruby's v.to_yaml.
func toRubyYAML(v any) string {
	e := &rubyEmitter{}
	e.write("---")
	switch x := v.(type) {
	case *omap:
		if len(x.keys) == 0 {
			e.write(" {}")
		} else {
			e.newline()
			e.mapping(x, 0, false)
		}
	case []any:
		if len(x) == 0 {
			e.write(" []")
		} else {
			e.newline()
			e.sequence(x, 0, false)
		}
	default:
		e.scalarAfterIndicator(v, 2)
	}
	if e.column > 0 {
		e.newline()
	}
	return e.b.String()
}

func (e *rubyEmitter) write(s string) {
	e.b.WriteString(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		e.column = utf8.RuneCountInString(s[i+1:])
	} else {
		e.column += utf8.RuneCountInString(s)
	}
}

func (e *rubyEmitter) newline() { e.b.WriteByte('\n'); e.column = 0 }

// startItem begins the i-th entry of a block collection on its own
// indented line, except the first of an inline one ("- key: v").
func (e *rubyEmitter) startItem(i, ind int, inline bool) {
	if i == 0 && inline {
		return
	}
	if e.column > 0 {
		e.newline()
	}
	e.write(strings.Repeat(" ", ind))
}

func (e *rubyEmitter) mapping(m *omap, ind int, inline bool) {
	for i, k := range m.keys {
		e.startItem(i, ind, inline)
		e.scalar(k, ind+2, true)
		e.write(":")
		e.value(m.vals[i], ind, true)
	}
}

func (e *rubyEmitter) sequence(s []any, ind int, inline bool) {
	for i, item := range s {
		e.startItem(i, ind, inline)
		e.write("-")
		e.value(item, ind, false)
	}
}

// value writes what follows "key:" or "-".
func (e *rubyEmitter) value(v any, ind int, inMap bool) {
	switch x := v.(type) {
	case *omap:
		if len(x.keys) == 0 {
			e.write(" {}")
			return
		}
		if inMap {
			e.newline()
			e.mapping(x, ind+2, false)
		} else {
			e.write(" ")
			e.mapping(x, ind+2, true)
		}
	case []any:
		if len(x) == 0 {
			e.write(" []")
			return
		}
		if inMap {
			e.newline()
			e.sequence(x, ind, false)
		} else {
			e.write(" ")
			e.sequence(x, ind+2, true)
		}
	case taggedMap:
		e.write(" " + x.tag)
		if len(x.m.keys) == 0 {
			e.write(" {}")
			return
		}
		e.newline()
		e.mapping(x.m, ind+2, false)
	case nil:
		// "key:" / "-" with nothing after
	default:
		e.scalarAfterIndicator(v, ind+2)
	}
}

func (e *rubyEmitter) scalarAfterIndicator(v any, ind int) {
	e.write(" ")
	e.scalar(v, ind, false)
}

// scalar writes a scalar; ind is the indentation used when folding.
func (e *rubyEmitter) scalar(v any, ind int, key bool) {
	switch x := v.(type) {
	case nil:
		if key {
			e.write("")
		}
	case bool:
		e.write(strconv.FormatBool(x))
	case int64:
		e.write(strconv.FormatInt(x, 10))
	case int:
		e.write(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsNaN(x):
			e.write(".nan")
		case math.IsInf(x, 1):
			e.write(".inf")
		case math.IsInf(x, -1):
			e.write("-.inf")
		default:
			e.write(rubyFloat(x))
		}
	case rsym:
		s := ":" + string(x)
		e.str(s, ind, key, true)
	case string:
		e.str(x, ind, key, false)
	default:
		e.str("", ind, key, false)
	}
}

var (
	nonWordStartRE = regexp.MustCompile(`^[^\p{L}\p{M}\p{Nd}\p{Pc}][^"]*$`)
	octal89RE      = regexp.MustCompile(`^0[0-7]*[89]`)
	dateRE         = regexp.MustCompile(`^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$`)
	timeRE         = regexp.MustCompile(`^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$`)
)

type scalarStyle int

const (
	stylePlain scalarStyle = iota
	styleSingle
	styleDouble
	styleLiteral
)

// tokenizesAsString reports whether Psych would read s back as a String.
func tokenizesAsString(s string) bool {
	if s == "" {
		return false
	}
	if dateRE.MatchString(s) || timeRE.MatchString(s) {
		return false
	}
	n := resolvePlain(s, &node{kind: kindString, str: s})
	return n.kind == kindString
}

func (e *rubyEmitter) str(s string, ind int, key, symbol bool) {
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

func (e *rubyEmitter) writeIndent(ind int) {
	e.newline()
	e.write(strings.Repeat(" ", ind))
}

func (e *rubyEmitter) writePlain(s string, ind int, allowBreaks bool) {
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

func (e *rubyEmitter) writeSingle(s string, ind int, allowBreaks bool) {
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

func (e *rubyEmitter) writeDouble(s string, ind int, allowBreaks bool) {
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

func (e *rubyEmitter) writeLiteral(s string, ind int) {
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
