// Package rubyyaml reads and writes YAML the way Ruby's Psych does, which is
// what Kamal's configs are written against: YAML 1.1 scalars (yes/no/on/off
// booleans, underscored and comma-separated integers, base-60 numbers,
// :symbols), `<<` merge keys (also lists of maps) and "last duplicate key
// wins" when reading; Psych's quoting and folding when writing (Dump).
//
// A document becomes a tree of *Node. Every node remembers the file, line and
// column it came from, so that validation errors can point at it.
package rubyyaml

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Kind is the Ruby class a node stands for.
type Kind int

// The kinds of node.
const (
	Null   Kind = iota // nil
	String             // String
	Symbol             // Symbol (:name)
	Int                // Integer
	Float              // Float
	Bool               // true / false
	Map                // Hash, keys in insertion order
	Seq                // Array
	Date               // Date (an unquoted 2024-01-31)
	Time               // Time (an unquoted 2024-01-31 10:00:00 +01:00)
)

// Node is one YAML value.
type Node struct {
	Kind  Kind
	Str   string // String and Symbol value; the source text of other scalars
	Int   int64  // Int value, clamped to int64 when Big is set
	Big   *big.Int
	Float float64
	Bool  bool
	Time  time.Time // Date (midnight UTC) and Time value; Ruby's utc? is Location() == time.UTC

	// Binary marks a String read from !!binary (Ruby's ASCII-8BIT):
	// Dump writes it back as base64 unless it is plain ASCII.
	Binary bool

	Keys     []string         // Map keys in order (Ruby's to_s of each key)
	Vals     map[string]*Node // Map values by key
	KeyNodes map[string]*Node // Map key nodes (their kind and position)
	Items    []*Node          // Seq items

	// Tag is written before a Map by Dump (Ruby objects, e.g.
	// "!ruby/object:Net::SSH::Proxy::Jump"); the parser does not set it.
	Tag string

	File string
	Line int
	Col  int
}

// NewString returns a String node.
func NewString(s string) *Node { return &Node{Kind: String, Str: s} }

// NewSymbol returns a Symbol node (:s).
func NewSymbol(s string) *Node { return &Node{Kind: Symbol, Str: s} }

// NewInt returns an Int node.
func NewInt(i int64) *Node { return &Node{Kind: Int, Int: i} }

// NewBool returns a Bool node.
func NewBool(b bool) *Node { return &Node{Kind: Bool, Bool: b} }

// NewNull returns a Null node.
func NewNull() *Node { return &Node{Kind: Null} }

// NewMap returns an empty Map node.
func NewMap() *Node { return &Node{Kind: Map} }

// NewSeq returns a Seq node holding items.
func NewSeq(items ...*Node) *Node {
	if items == nil {
		items = []*Node{}
	}
	return &Node{Kind: Seq, Items: items}
}

// NewStrings returns a Seq of String nodes.
func NewStrings(items []string) *Node {
	n := NewSeq()
	for _, s := range items {
		n.Items = append(n.Items, NewString(s))
	}
	return n
}

// Get returns the value of key in a Map, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	return n.Vals[key]
}

// Has reports whether a Map has key.
func (n *Node) Has(key string) bool {
	if n == nil || n.Kind != Map {
		return false
	}
	_, ok := n.Vals[key]
	return ok
}

// Set stores val under key, keeping the position of an existing key (Ruby
// Hash#[]=). keyNode is the key as written (its kind and position).
func (n *Node) Set(key string, keyNode, val *Node) {
	if n.Vals == nil {
		n.Vals = map[string]*Node{}
		n.KeyNodes = map[string]*Node{}
	}
	if _, ok := n.Vals[key]; !ok {
		n.Keys = append(n.Keys, key)
	}
	n.Vals[key] = val
	n.KeyNodes[key] = keyNode
}

// Add stores val under key (whose Ruby to_s names it in Keys).
func (n *Node) Add(key, val *Node) { n.Set(key.Text(), key, val) }

// IsNull reports whether n is missing or nil.
func (n *Node) IsNull() bool { return n == nil || n.Kind == Null }

// Present mirrors ActiveSupport's present?: not nil, not false, not an empty
// or whitespace-only string, not an empty Hash or Array.
func (n *Node) Present() bool {
	if n == nil {
		return false
	}
	switch n.Kind {
	case Null:
		return false
	case Bool:
		return n.Bool
	case String, Symbol:
		return strings.TrimSpace(n.Str) != ""
	case Map:
		return len(n.Keys) > 0
	case Seq:
		return len(n.Items) > 0
	}
	return true
}

// Text is Ruby's to_s of a scalar ("" for nil).
func (n *Node) Text() string {
	if n == nil {
		return ""
	}
	switch n.Kind {
	case String, Symbol:
		return n.Str
	case Int:
		if n.Big != nil {
			return n.Big.String()
		}
		return strconv.FormatInt(n.Int, 10)
	case Float:
		return FormatFloat(n.Float)
	case Bool:
		return strconv.FormatBool(n.Bool)
	case Date:
		return n.Time.Format("2006-01-02")
	case Time:
		// Ruby's Time#to_s
		if n.Time.Location() == time.UTC {
			return n.Time.Format("2006-01-02 15:04:05 UTC")
		}
		return n.Time.Format("2006-01-02 15:04:05 -0700")
	case Null:
		return ""
	}
	return n.Str
}

// FormatFloat is Ruby's Float#to_s: "1.0", "1.0e+16", "Infinity", "NaN".
func FormatFloat(f float64) string {
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

// ToAny converts n to plain Go values (map[string]any, []any, string, int64,
// float64, bool, nil). Symbols, dates, times and integers beyond int64
// become strings (Ruby's to_s).
func (n *Node) ToAny() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Null:
		return nil
	case String, Symbol:
		return n.Str
	case Int:
		if n.Big != nil {
			return n.Big.String()
		}
		return n.Int
	case Date, Time:
		return n.Text()
	case Float:
		return n.Float
	case Bool:
		return n.Bool
	case Map:
		m := make(map[string]any, len(n.Keys))
		for _, k := range n.Keys {
			m[k] = n.Vals[k].ToAny()
		}
		return m
	case Seq:
		s := make([]any, len(n.Items))
		for i, v := range n.Items {
			s[i] = v.ToAny()
		}
		return s
	}
	return nil
}

// Copy returns a deep copy of n (aliases in the source are copied apart).
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Keys, c.Vals, c.KeyNodes, c.Items = nil, nil, nil, nil
	for _, k := range n.Keys {
		c.Set(k, n.KeyNodes[k].Copy(), n.Vals[k].Copy())
	}
	if n.Items != nil {
		c.Items = make([]*Node, len(n.Items))
		for i, it := range n.Items {
			c.Items[i] = it.Copy()
		}
	}
	return &c
}

// DeepMerge returns base with over merged in, as ActiveSupport's deep_merge:
// maps merge recursively, every other value (lists, scalars) in over replaces
// the one in base. Neither input is modified.
func DeepMerge(base, over *Node) *Node {
	if base == nil || base.Kind != Map || over == nil || over.Kind != Map {
		return over
	}
	out := &Node{Kind: Map, File: base.File, Line: base.Line, Col: base.Col}
	for _, k := range base.Keys {
		out.Set(k, base.KeyNodes[k], base.Vals[k])
	}
	for _, k := range over.Keys {
		if b, ok := out.Vals[k]; ok && b != nil && b.Kind == Map && over.Vals[k] != nil && over.Vals[k].Kind == Map {
			out.Set(k, over.KeyNodes[k], DeepMerge(b, over.Vals[k]))
		} else {
			out.Set(k, over.KeyNodes[k], over.Vals[k])
		}
	}
	return out
}
