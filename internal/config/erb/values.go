package erb

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// Ruby values are plain Go values:
//
//	nil -> nil, true/false -> bool, Integer -> int64, String -> string,
//	Symbol -> Symbol, Array -> *Array, Hash -> *Hash, Regexp -> *Regexp,
//	URI -> *URI, Time -> *Time, ENV/File/... -> module.
//
// Strings are immutable here; Ruby code that mutates strings in place
// (<<, gsub!, strip!) is outside the subset.
type Value any

// Symbol is a Ruby symbol (:name).
type Symbol string

// Array is a Ruby Array; a pointer so that mutation through one
// reference is seen through others, as in Ruby.
type Array struct{ elems []Value }

// Hash is an insertion-ordered Ruby Hash.
type Hash struct {
	keys  []Value
	vals  []Value
	index map[hashKey]int
}

type hashKey struct {
	kind byte // 's' string, 'y' symbol, 'i' integer, 'f' float, 'b' bool, 'n' nil
	s    string
	i    int64
}

// Regexp is a Ruby regexp literal compiled for Go's engine.
type Regexp struct {
	re  *regexp.Regexp
	src string
}

// URI is the result of URI.parse.
type URI struct {
	u   *url.URL
	raw string
}

// module is a constant naming a built-in namespace: ENV, File, Dir, ...
type module string

func newHash() *Hash { return &Hash{index: map[hashKey]int{}} }

func keyOf(v Value) (hashKey, bool) {
	switch x := v.(type) {
	case nil:
		return hashKey{kind: 'n'}, true
	case string:
		return hashKey{kind: 's', s: x}, true
	case *StringInquirer:
		return hashKey{kind: 's', s: x.s}, true
	case Symbol:
		return hashKey{kind: 'y', s: string(x)}, true
	case int64:
		return hashKey{kind: 'i', i: x}, true
	case float64:
		if x == 0 {
			x = 0 // -0.0 and 0.0 are the same key (eql?)
		}
		return hashKey{kind: 'f', i: int64(math.Float64bits(x))}, true
	case bool:
		if x {
			return hashKey{kind: 'b', i: 1}, true
		}
		return hashKey{kind: 'b'}, true
	}
	return hashKey{}, false
}

func (h *Hash) get(k Value) (Value, bool) {
	hk, ok := keyOf(k)
	if !ok {
		return nil, false
	}
	i, ok := h.index[hk]
	if !ok {
		return nil, false
	}
	return h.vals[i], true
}

func (h *Hash) set(k, v Value) bool {
	hk, ok := keyOf(k)
	if !ok {
		return false
	}
	if i, ok := h.index[hk]; ok {
		h.vals[i] = v
		return true
	}
	h.index[hk] = len(h.keys)
	h.keys = append(h.keys, k)
	h.vals = append(h.vals, v)
	return true
}

func truthy(v Value) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	}
	return true
}

// className is Ruby's class name for a value, for error messages.
func className(v Value) string {
	switch x := v.(type) {
	case nil:
		return "NilClass"
	case bool:
		if x {
			return "TrueClass"
		}
		return "FalseClass"
	case int64:
		return "Integer"
	case float64:
		return "Float"
	case string:
		return "String"
	case Symbol:
		return "Symbol"
	case *Array:
		return "Array"
	case *Hash:
		return "Hash"
	case *Regexp:
		return "Regexp"
	case *URI:
		return "URI::Generic"
	case *Time:
		return "Time"
	case *Date:
		return "Date"
	case *processStatus:
		return "Process::Status"
	case *Range:
		return "Range"
	case *ioStream:
		return "IO"
	case *OpenStruct:
		return "OpenStruct"
	case *enumerator:
		return "Enumerator"
	case *StringInquirer:
		return "ActiveSupport::StringInquirer"
	case *exception:
		return x.class
	case *Proc:
		return "Proc"
	case *match:
		return "MatchData"
	case module:
		return string(x)
	}
	return "Object"
}

// toS is Ruby's to_s, which is also what <%= %> prints.
func toS(v Value) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return rubyyaml.FormatFloat(x)
	case string:
		return x
	case Symbol:
		return string(x)
	case *Array, *Hash, *Regexp:
		return inspect(v)
	case *URI:
		return x.raw
	case *Time:
		return x.String()
	case *Date:
		return x.String()
	case module:
		return string(x)
	case *processStatus:
		return x.String()
	case *Range:
		return x.inspectWith(toS)
	case *match:
		return toS(x.group(0))
	case *Proc, *ioStream, *OpenStruct:
		return inspect(x)
	case *StringInquirer:
		return x.s
	case *exception:
		return x.msg
	}
	return fmt.Sprint(v)
}

// inspect is Ruby's inspect (Ruby 3.4 style for hashes).
func inspect(v Value) string {
	budget := maxOutput
	return inspectRec(v, nil, &budget)
}

// limitPanic aborts a runaway inspect or comparison of a structure that
// shares itself many times over ([a, a] nested 40 deep); Render turns it
// into an error at the line being evaluated.
type limitPanic struct{ msg string }

func spend(budget *int, k int) {
	*budget -= k
	if *budget < 0 {
		panic(limitPanic{fmt.Sprintf("value is too large to print or compare (more than %d bytes or steps)", maxOutput)})
	}
}

// inspectRec tracks the containers being printed: one that contains
// itself prints as [...] or {...}, as in Ruby.
func inspectRec(v Value, active []any, budget *int) string {
	spend(budget, 1)
	switch x := v.(type) {
	case *Array, *Hash:
		for _, a := range active {
			if a == v {
				if _, ok := x.(*Array); ok {
					return "[...]"
				}
				return "{...}"
			}
		}
		if len(active) > maxNesting {
			return "..."
		}
		active = append(active, v)
	}
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return inspectString(x)
	case *StringInquirer:
		return inspectString(x.s)
	case Symbol:
		return inspectSymbol(string(x))
	case *Array:
		parts := make([]string, len(x.elems))
		for i, e := range x.elems {
			parts[i] = inspectRec(e, active, budget)
			spend(budget, len(parts[i]))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Hash:
		if len(x.keys) == 0 {
			return "{}"
		}
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			val := inspectRec(x.vals[i], active, budget)
			spend(budget, len(val))
			if s, ok := k.(Symbol); ok {
				if simpleSymbol(string(s)) && !strings.HasSuffix(string(s), "=") {
					parts[i] = string(s) + ": " + val
				} else {
					parts[i] = inspectString(string(s)) + ": " + val
				}
				continue
			}
			parts[i] = inspect(k) + " => " + val
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *Regexp:
		return "/" + x.src + "/"
	case *URI:
		return "#<URI::Generic " + x.raw + ">"
	case *Time:
		return x.inspect()
	case *Date:
		return "#<Date: " + x.String() + ">"
	case *processStatus:
		return "#<Process::Status: " + x.String() + ">"
	case *Range:
		return x.inspectWith(func(v Value) string { return inspectRec(v, active, budget) })
	case *match:
		return x.inspect()
	case *exception:
		return x.inspect()
	case *OpenStruct:
		return x.inspect()
	case *ioStream:
		return "#<IO:<" + strings.ToUpper(strings.TrimPrefix(x.name, "$")) + ">>"
	case *Proc:
		if x.lambda {
			return "#<Proc:(erb) (lambda)>"
		}
		return "#<Proc:(erb)>"
	}
	return toS(v)
}

func simpleSymbol(s string) bool {
	if s == "" {
		return false
	}
	if !isIdentStart(s[0]) || s[0] >= 0x80 {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if isIdentChar(c) && c < 0x80 {
			continue
		}
		if i == len(s)-1 && (c == '?' || c == '!' || c == '=') {
			continue
		}
		return false
	}
	return true
}

func inspectSymbol(s string) string {
	if simpleSymbol(s) || contains(symbolOperators, s) {
		return ":" + s
	}
	return ":" + inspectString(s)
}

// inspectString is String#inspect.
func inspectString(s string) string { return rubyyaml.InspectString(s) }

// toJSON is the json gem's generate (no HTML escaping).
func toJSON(v Value) (string, error) {
	var b strings.Builder
	if err := writeJSON(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, v Value, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("nesting of %d is too deep", depth)
	}
	if b.Len() > maxOutput {
		return fmt.Errorf("generated JSON is larger than %d bytes", maxOutput)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s not allowed in JSON", rubyyaml.FormatFloat(x))
		}
		b.WriteString(rubyyaml.FormatFloat(x))
	case string:
		return jsonString(b, x)
	case *StringInquirer:
		return jsonString(b, x.s)
	case Symbol:
		return jsonString(b, string(x))
	case *Array:
		b.WriteByte('[')
		for i, e := range x.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *Hash:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := jsonString(b, toS(k)); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeJSON(b, x.vals[i], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return jsonString(b, toS(v))
	}
	return nil
}

func jsonString(b *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("source sequence is illegal/malformed utf-8")
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, "\\u%04x", r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return nil
}

// equal is Ruby's ==.
func equal(a, b Value) bool {
	budget := maxOutput
	return equalDepth(a, b, 0, &budget)
}

func equalDepth(a, b Value, depth int, budget *int) bool {
	spend(budget, 1)
	if x, ok := a.(*Array); ok && x == b {
		return true // the same object, as Ruby checks first
	}
	if x, ok := a.(*Hash); ok && x == b {
		return true
	}
	if depth > maxNesting {
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64, float64:
		if !isNumber(b) {
			return false
		}
		c, ok := numCompare(a, b)
		return ok && c == 0
	case string:
		if q, ok := b.(*StringInquirer); ok {
			return x == q.s
		}
		y, ok := b.(string)
		return ok && x == y
	case *StringInquirer:
		return equalDepth(x.s, b, depth, budget)
	case Symbol:
		y, ok := b.(Symbol)
		return ok && x == y
	case *Array:
		y, ok := b.(*Array)
		if !ok || len(x.elems) != len(y.elems) {
			return false
		}
		for i := range x.elems {
			if !equalDepth(x.elems[i], y.elems[i], depth+1, budget) {
				return false
			}
		}
		return true
	case *Hash:
		y, ok := b.(*Hash)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for i, k := range x.keys {
			v, ok := y.get(k)
			if !ok || !equalDepth(x.vals[i], v, depth+1, budget) {
				return false
			}
		}
		return true
	case *URI:
		y, ok := b.(*URI)
		return ok && x.raw == y.raw
	case *Time:
		y, ok := b.(*Time)
		return ok && x.t.Equal(y.t)
	case *Date:
		y, ok := b.(*Date)
		return ok && x.t.Equal(y.t)
	case module:
		y, ok := b.(module)
		return ok && x == y
	case *Regexp:
		y, ok := b.(*Regexp)
		return ok && x.src == y.src
	}
	return false
}

// blank is ActiveSupport's blank?.
func blank(v Value) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return strings.TrimFunc(x, isRubySpace) == ""
	case *Array:
		return len(x.elems) == 0
	case *Hash:
		return len(x.keys) == 0
	}
	return false
}

// isRubySpace is [[:space:]] as ActiveSupport's blank? uses it.
func isRubySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// compare orders two values of the same comparable kind.
func compare(a, b Value) (int, bool) {
	switch x := a.(type) {
	case int64, float64:
		if isNumber(b) {
			return numCompare(a, b)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	case *Time:
		if y, ok := b.(*Time); ok {
			return x.t.Compare(y.t), true
		}
	case *Date:
		if y, ok := b.(*Date); ok {
			return x.t.Compare(y.t), true
		}
	}
	return 0, false
}

func sortValues(elems []Value) bool {
	ok := true
	sort.SliceStable(elems, func(i, j int) bool {
		c, good := compare(elems[i], elems[j])
		if !good {
			ok = false
		}
		return c < 0
	})
	return ok
}
