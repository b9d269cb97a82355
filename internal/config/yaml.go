package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file turns YAML text into a tree of *node with Ruby Psych (YAML 1.1)
// semantics, which is what Kamal's configs are written against: yes/no/on/off
// booleans, underscored and comma-separated integers, sexagesimal integers,
// :symbols, `<<` merge keys (also lists of maps), and "last duplicate key
// wins". Every node remembers the file and line it came from so validation
// errors can point at it.

type nodeKind int

const (
	kindNull nodeKind = iota
	kindString
	kindSymbol
	kindInt
	kindFloat
	kindBool
	kindMap
	kindSeq
)

// node is one YAML value. Maps keep their keys in insertion order.
type node struct {
	kind nodeKind
	str  string // string and symbol value; also the source text of other scalars
	i    int64
	f    float64
	b    bool
	keys []string // map keys in order
	vals map[string]*node
	knod map[string]*node // key node (for positions and key types)
	seq  []*node

	file string
	line int
	col  int
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	return n.vals[key]
}

func (n *node) has(key string) bool {
	if n == nil || n.kind != kindMap {
		return false
	}
	_, ok := n.vals[key]
	return ok
}

// set stores key, keeping the position of an existing key (Ruby Hash#[]=).
func (n *node) set(key string, keyNode, val *node) {
	if n.vals == nil {
		n.vals = map[string]*node{}
		n.knod = map[string]*node{}
	}
	if _, ok := n.vals[key]; !ok {
		n.keys = append(n.keys, key)
	}
	n.vals[key] = val
	n.knod[key] = keyNode
}

func (n *node) isNull() bool { return n == nil || n.kind == kindNull }

// present mirrors ActiveSupport's present?: not nil, not false, not empty or
// whitespace-only string, not empty map/seq.
func (n *node) present() bool {
	if n == nil {
		return false
	}
	switch n.kind {
	case kindNull:
		return false
	case kindBool:
		return n.b
	case kindString, kindSymbol:
		return strings.TrimSpace(n.str) != ""
	case kindMap:
		return len(n.keys) > 0
	case kindSeq:
		return len(n.seq) > 0
	}
	return true
}

// stringish reports whether Kamal's validator accepts n where a string is
// expected: strings, symbols, numbers and booleans.
func (n *node) stringish() bool {
	switch n.kind {
	case kindString, kindSymbol, kindInt, kindFloat, kindBool:
		return true
	}
	return false
}

// text is Ruby's to_s of a scalar.
func (n *node) text() string {
	if n == nil {
		return ""
	}
	switch n.kind {
	case kindString, kindSymbol:
		return n.str
	case kindInt:
		return strconv.FormatInt(n.i, 10)
	case kindFloat:
		return rubyFloat(n.f)
	case kindBool:
		return strconv.FormatBool(n.b)
	case kindNull:
		return ""
	}
	return n.str
}

func rubyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if a := math.Abs(f); a != 0 && (a >= 1e16 || a < 1e-4) {
		s = strconv.FormatFloat(f, 'e', -1, 64)
		// Ruby prints 1.0e+16
		mant, exp, _ := strings.Cut(s, "e")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		if exp[0] == '+' || exp[0] == '-' {
			if len(exp) == 2 {
				exp = exp[:1] + "0" + exp[1:]
			}
		}
		return mant + "e" + exp
	}
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// toAny converts n to plain Go values (map[string]any, []any, string, int64,
// float64, bool, nil). Symbols become strings.
func (n *node) toAny() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindNull:
		return nil
	case kindString, kindSymbol:
		return n.str
	case kindInt:
		return n.i
	case kindFloat:
		return n.f
	case kindBool:
		return n.b
	case kindMap:
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k] = n.vals[k].toAny()
		}
		return m
	case kindSeq:
		s := make([]any, len(n.seq))
		for i, v := range n.seq {
			s[i] = v.toAny()
		}
		return s
	}
	return nil
}

// YAMLError is a YAML syntax error with its position.
type YAMLError struct {
	File    string
	Line    int
	Column  int
	Message string
}

// Kind names the error like Ruby's YAML parser does.
func (e *YAMLError) Kind() string { return "Psych::SyntaxError" }

func (e *YAMLError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: invalid YAML: %s", e.File, e.Line, e.Column, e.Message)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: invalid YAML: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: invalid YAML: %s", e.File, e.Message)
}

// maxExpandedNodes bounds alias expansion ("billion laughs").
const maxExpandedNodes = 1 << 20

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parseYAML parses one document with Psych semantics. An empty document is a
// null node.
func parseYAML(file string, data []byte) (n *node, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, data, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &node{kind: kindNull, file: file, line: 1}, nil
	}
	c := &converter{file: file, done: map[*yaml.Node]*node{}, active: map[*yaml.Node]bool{}, size: map[*node]int{}}
	defer func() {
		if r := recover(); r != nil {
			if ce, ok := r.(convertError); ok {
				n, err = nil, ce.err
				return
			}
			panic(r)
		}
	}()
	return c.convert(doc.Content[0]), nil
}

// yamlError turns a parser error into a YAMLError with the line and column
// of the problem. The YAML library reports lines inconsistently (sometimes
// the start of the enclosing block, sometimes none), so the position is found
// by searching for the shortest prefix of the document that fails with the
// same problem: the parser stops right where it meets it.
func yamlError(file string, data []byte, err error) error {
	msg := problemOf(err)
	ye := &YAMLError{File: file, Message: msg}
	fails := func(k int) bool {
		var n yaml.Node
		e := yaml.Unmarshal(data[:k], &n)
		return e != nil && problemOf(e) == msg
	}
	if !fails(len(data)) {
		return ye
	}
	lo, hi := 0, len(data) // fails(hi) holds; find the smallest such hi
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	pos := hi - 1
	if pos < 0 {
		pos = 0
	}
	ye.Line = 1 + bytes.Count(data[:pos], []byte("\n"))
	lineStart := bytes.LastIndexByte(data[:pos], '\n') + 1
	ye.Column = 1 + utf8.RuneCount(data[lineStart:pos])
	return ye
}

// problemOf strips the library's "yaml: line N:" prefix.
func problemOf(err error) string {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return m[2]
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

type convertError struct{ err error }

type converter struct {
	file   string
	done   map[*yaml.Node]*node
	active map[*yaml.Node]bool
	size   map[*node]int
	total  int
}

func (c *converter) fail(y *yaml.Node, format string, args ...any) {
	panic(convertError{&YAMLError{File: c.file, Line: y.Line, Column: y.Column, Message: fmt.Sprintf(format, args...)}})
}

func (c *converter) convert(y *yaml.Node) *node {
	if y.Kind == yaml.AliasNode {
		if y.Alias == nil {
			c.fail(y, "unknown anchor %q referenced", y.Value)
		}
		return c.convert(y.Alias)
	}
	if n, ok := c.done[y]; ok {
		// shared alias target: count its expanded size again
		c.count(y, c.size[n])
		return n
	}
	if c.active[y] {
		c.fail(y, "anchor %q value contains itself", y.Anchor)
	}
	c.active[y] = true
	defer delete(c.active, y)

	var n *node
	before := c.total
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			n = &node{kind: kindNull}
		} else {
			n = c.convert(y.Content[0])
		}
	case yaml.ScalarNode:
		n = c.scalar(y)
	case yaml.SequenceNode:
		n = &node{kind: kindSeq, seq: make([]*node, 0, len(y.Content))}
		for _, item := range y.Content {
			n.seq = append(n.seq, c.convert(item))
		}
	case yaml.MappingNode:
		n = c.mapping(y)
	default:
		c.fail(y, "unexpected YAML node")
	}
	if n.file == "" {
		n.file, n.line, n.col = c.file, y.Line, y.Column
	}
	c.count(y, 1)
	c.size[n] = c.total - before
	c.done[y] = n
	return n
}

func (c *converter) count(y *yaml.Node, k int) {
	c.total += k
	if c.total > maxExpandedNodes {
		c.fail(y, "document too large after expanding aliases")
	}
}

func (c *converter) mapping(y *yaml.Node) *node {
	n := &node{kind: kindMap, vals: map[string]*node{}, knod: map[string]*node{}, file: c.file, line: y.Line, col: y.Column}
	for i := 0; i+1 < len(y.Content); i += 2 {
		ky, vy := y.Content[i], y.Content[i+1]
		if ky.Kind == yaml.ScalarNode && ky.Value == "<<" && ky.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && (ky.Tag == "!!merge" || ky.Tag == "" || ky.Tag == "tag:yaml.org,2002:merge") {
			c.merge(n, vy)
			continue
		}
		kn := c.convert(ky)
		key, ok := keyString(kn)
		if !ok {
			c.fail(ky, "unsupported mapping key (maps and lists cannot be keys)")
		}
		n.set(key, kn, c.convert(vy))
	}
	return n
}

// merge applies a `<<` value: a map (or alias of one) merges over the keys so
// far; a list of maps merges with earlier maps winning.
func (c *converter) merge(n *node, vy *yaml.Node) {
	v := c.convert(vy)
	switch v.kind {
	case kindMap:
		for _, k := range v.keys {
			n.set(k, v.knod[k], v.vals[k])
		}
	case kindSeq:
		tmp := &node{kind: kindMap}
		for i := len(v.seq) - 1; i >= 0; i-- {
			m := v.seq[i]
			if m.kind != kindMap {
				c.fail(vy, "merge key `<<` needs a map or a list of maps")
			}
			for _, k := range m.keys {
				tmp.set(k, m.knod[k], m.vals[k])
			}
		}
		for _, k := range tmp.keys {
			n.set(k, tmp.knod[k], tmp.vals[k])
		}
	default:
		// Psych stores a non-mergeable value under the literal "<<" key.
		n.set("<<", &node{kind: kindString, str: "<<"}, v)
	}
}

func keyString(k *node) (string, bool) {
	switch k.kind {
	case kindMap, kindSeq:
		return "", false
	case kindSymbol:
		// Ruby keeps :sym keys distinct from "sym"; Kamal compares with
		// to_s in most places, so the plain name is used.
		return k.str, true
	case kindNull:
		return "", true
	}
	return k.text(), true
}

var (
	intLegacyDec = regexp.MustCompile(`^[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)$`)
	intBin       = regexp.MustCompile(`^[-+]?0b[0-1_,]+$`)
	intOct       = regexp.MustCompile(`^[-+]?0[0-7_,]+$`)
	intHex       = regexp.MustCompile(`^[-+]?0x[0-9a-fA-F_,]+$`)
	intSexa      = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}$`)
	floatSexa    = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}\.[0-9_]*$`)
	floatRE      = regexp.MustCompile(`^[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?$`)
	symQuotedRE  = regexp.MustCompile(`^:(["'])(.*)(["'])$`)
)

func (c *converter) scalar(y *yaml.Node) *node {
	n := &node{kind: kindString, str: y.Value, file: c.file, line: y.Line, col: y.Column}
	quoted := y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if y.Style&yaml.TaggedStyle != 0 {
		switch y.ShortTag() {
		case "!!str", "!!binary":
			return n
		case "!!null":
			n.kind = kindNull
			return n
		case "!!bool", "!!int", "!!float":
			r := resolvePlain(y.Value, n)
			return r
		default:
			if quoted {
				return n
			}
			return resolvePlain(y.Value, n)
		}
	}
	if quoted {
		return n
	}
	return resolvePlain(y.Value, n)
}

// resolvePlain resolves an unquoted scalar the way Psych's ScalarScanner does.
func resolvePlain(s string, n *node) *node {
	switch s {
	case "", "~", "null", "Null", "NULL":
		n.kind = kindNull
		return n
	}
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		n.kind, n.b = kindBool, true
		return n
	case "no", "false", "off":
		n.kind, n.b = kindBool, false
		return n
	}
	if len(s) > 1 && s[0] == ':' {
		n.kind = kindSymbol
		if m := symQuotedRE.FindStringSubmatch(s); m != nil && m[1] == m[3] {
			n.str = m[2]
		} else {
			n.str = s[1:]
		}
		return n
	}
	switch s {
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		n.kind, n.f = kindFloat, math.Inf(1)
		return n
	case "-.inf", "-.Inf", "-.INF":
		n.kind, n.f = kindFloat, math.Inf(-1)
		return n
	case ".nan", ".NaN", ".NAN":
		n.kind, n.f = kindFloat, math.NaN()
		return n
	}
	c := s[0]
	if !(c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
		return n
	}
	if v, ok := parseRubyInt(s); ok {
		n.kind, n.i = kindInt, v
		return n
	}
	if intSexa.MatchString(s) {
		if v, ok := sexagesimal(s); ok {
			n.kind, n.i = kindInt, int64(v)
			return n
		}
	}
	if floatSexa.MatchString(s) {
		if v, ok := sexagesimal(s); ok {
			n.kind, n.f = kindFloat, v
			return n
		}
	}
	if floatRE.MatchString(s) && s != "." && s != "-." && s != "+." {
		clean := strings.NewReplacer("_", "", ",", "").Replace(s)
		if strings.HasSuffix(clean, ".") {
			clean += "0"
		}
		if v, err := strconv.ParseFloat(clean, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			n.kind, n.f = kindFloat, v
			return n
		}
	}
	return n
}

func parseRubyInt(s string) (int64, bool) {
	clean := func(t string) string { return strings.NewReplacer("_", "", ",", "").Replace(t) }
	var base int
	var digits string
	sign := ""
	body := s
	if body[0] == '-' || body[0] == '+' {
		sign, body = body[:1], body[1:]
	}
	switch {
	case intLegacyDec.MatchString(s):
		base, digits = 10, clean(body)
	case intBin.MatchString(s):
		base, digits = 2, clean(body[2:])
	case intHex.MatchString(s):
		base, digits = 16, clean(body[2:])
	case intOct.MatchString(s):
		base, digits = 8, clean(body[1:])
	default:
		return 0, false
	}
	if digits == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(sign+digits, base, 64)
	if err != nil {
		// Ruby has bignums; anything beyond int64 stays a string here.
		return 0, false
	}
	return v, true
}

func sexagesimal(s string) (float64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	s = strings.ReplaceAll(s, "_", "")
	parts := strings.Split(s, ":")
	var v float64
	for _, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, false
		}
		v = v*60 + f
	}
	if neg {
		v = -v
	}
	return v, true
}

// deepMerge returns base with over merged in: maps merge recursively, every
// other value (lists, scalars) in over replaces the one in base. Neither
// input is modified.
func deepMerge(base, over *node) *node {
	if base == nil || base.kind != kindMap || over == nil || over.kind != kindMap {
		return over
	}
	out := &node{kind: kindMap, file: base.file, line: base.line, col: base.col}
	for _, k := range base.keys {
		out.set(k, base.knod[k], base.vals[k])
	}
	for _, k := range over.keys {
		if b, ok := out.vals[k]; ok && b != nil && b.kind == kindMap && over.vals[k] != nil && over.vals[k].kind == kindMap {
			out.set(k, over.knod[k], deepMerge(b, over.vals[k]))
		} else {
			out.set(k, over.knod[k], over.vals[k])
		}
	}
	return out
}
