package rubyyaml

import (
	"bytes"
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// maxExpandedNodes bounds alias expansion ("billion laughs").
const maxExpandedNodes = 1 << 20

// Parse reads one document with Psych's semantics; file names it in errors
// and positions. An empty document is a Null node.
func Parse(file string, data []byte) (n *Node, err error) {
	data = psychInput(data)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(file, data, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &Node{Kind: Null, File: file, Line: 1}, nil
	}
	c := &converter{file: file, done: map[*yaml.Node]*Node{}, active: map[*yaml.Node]bool{}, size: map[*Node]int{}}
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

var yaml12RE = regexp.MustCompile(`(?m)^%YAML([ \t]+)1\.2\b`)

// psychInput adjusts a document for the YAML library so that it reads it as
// Psych (libyaml 0.2.5) does: "%YAML 1.2" is accepted like 1.1 (scalars are
// typed the same), and a byte order mark is not stripped as a stream
// marker but skipped as a character at column 0, so the first line's keys
// sit one column in (with Psych, a mapping after a BOM ends at the next
// line that starts in column 0, and loading stops with the first document).
// Lines and columns stay as Psych counts them (a BOM is one column).
func psychInput(data []byte) []byte {
	bom := bytes.HasPrefix(data, []byte("\xef\xbb\xbf"))
	if !bom && !bytes.Contains(data, []byte("%YAML")) {
		return data
	}
	data = yaml12RE.ReplaceAll(data, []byte("%YAML${1}1.1"))
	if bom {
		data = append([]byte(" "), data[3:]...)
	}
	return data
}

type convertError struct{ err error }

// converter turns the YAML library's tree into Nodes, expanding aliases and
// merge keys.
type converter struct {
	file   string
	done   map[*yaml.Node]*Node
	active map[*yaml.Node]bool
	size   map[*Node]int
	total  int
}

func (c *converter) fail(y *yaml.Node, format string, args ...any) {
	panic(convertError{&SyntaxError{File: c.file, Line: y.Line, Column: y.Column, Message: fmt.Sprintf(format, args...), ours: true}})
}

// failClass fails with an error Ruby raises as class (e.g. ArgumentError).
func (c *converter) failClass(y *yaml.Node, class, format string, args ...any) {
	panic(convertError{&SyntaxError{File: c.file, Line: y.Line, Column: y.Column, Message: fmt.Sprintf(format, args...), Class: class}})
}

func (c *converter) convert(y *yaml.Node) *Node {
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

	var n *Node
	before := c.total
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			n = &Node{Kind: Null}
		} else {
			n = c.convert(y.Content[0])
		}
	case yaml.ScalarNode:
		n = c.scalar(y)
	case yaml.SequenceNode:
		n = &Node{Kind: Seq, Items: make([]*Node, 0, len(y.Content))}
		for _, item := range y.Content {
			n.Items = append(n.Items, c.convert(item))
		}
	case yaml.MappingNode:
		n = c.mapping(y)
	default:
		c.fail(y, "unexpected YAML node")
	}
	if n.File == "" {
		n.File, n.Line, n.Col = c.file, y.Line, y.Column
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

func (c *converter) mapping(y *yaml.Node) *Node {
	n := &Node{Kind: Map, Vals: map[string]*Node{}, KeyNodes: map[string]*Node{}, File: c.file, Line: y.Line, Col: y.Column}
	for i := 0; i+1 < len(y.Content); i += 2 {
		ky, vy := y.Content[i], y.Content[i+1]
		if isMergeKey(ky) {
			c.merge(n, ky, vy)
			continue
		}
		kn := c.convert(ky)
		key, ok := keyString(kn)
		if !ok {
			c.fail(ky, "unsupported mapping key (maps and lists cannot be keys)")
		}
		n.Set(key, kn, c.convert(vy))
	}
	return n
}

// isMergeKey: Psych merges under any key that reads as the string "<<",
// quoted too, unless it is tagged !!str.
func isMergeKey(ky *yaml.Node) bool {
	if ky.Kind != yaml.ScalarNode || ky.Value != "<<" {
		return false
	}
	return ky.Style&yaml.TaggedStyle == 0 || ky.ShortTag() != "!!str"
}

// merge applies a `<<` value as Psych does: a map, or an alias of one,
// merges over the keys so far; a list written in place merges its maps with
// earlier maps winning. Anything else (an alias of a list, a list holding a
// non-map, a scalar) is kept under the key "<<".
func (c *converter) merge(n *Node, ky, vy *yaml.Node) {
	v := c.convert(vy)
	switch {
	case v.Kind == Map:
		for _, k := range v.Keys {
			n.Set(k, v.KeyNodes[k], v.Vals[k])
		}
		return
	case v.Kind == Seq && vy.Kind == yaml.SequenceNode:
		tmp := &Node{Kind: Map}
		mergeable := true
		for i := len(v.Items) - 1; i >= 0 && mergeable; i-- {
			m := v.Items[i]
			if mergeable = m.Kind == Map; mergeable {
				for _, k := range m.Keys {
					tmp.Set(k, m.KeyNodes[k], m.Vals[k])
				}
			}
		}
		if mergeable {
			for _, k := range tmp.Keys {
				n.Set(k, tmp.KeyNodes[k], tmp.Vals[k])
			}
			return
		}
	}
	n.Set("<<", c.convert(ky), v)
}

func keyString(k *Node) (string, bool) {
	switch k.Kind {
	case Map, Seq:
		return "", false
	case Symbol:
		// Ruby keeps :sym keys distinct from "sym"; Kamal compares with
		// to_s in most places, so the plain name is used.
		return k.Str, true
	case Null:
		return "", true
	}
	return k.Text(), true
}
