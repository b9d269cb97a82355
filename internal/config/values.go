package config

import (
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// Helpers reading validated nodes into Go values. A missing key is a nil
// node; each helper gives the default for it.

func strOr(n *rubyyaml.Node, def string) string {
	if n.IsNull() {
		return def
	}
	return n.Text()
}

func intOr(n *rubyyaml.Node, def int) int {
	if n == nil || n.Kind != rubyyaml.Int {
		return def
	}
	return int(n.Int)
}

func intPtr(n *rubyyaml.Node) *int {
	if n == nil || n.Kind != rubyyaml.Int {
		return nil
	}
	i := int(n.Int)
	return &i
}

func boolOf(n *rubyyaml.Node) bool { return n != nil && n.Kind == rubyyaml.Bool && n.Bool }

func boolPtr(n *rubyyaml.Node) *bool {
	if n == nil || n.Kind != rubyyaml.Bool {
		return nil
	}
	b := n.Bool
	return &b
}

func stringList(n *rubyyaml.Node) []string {
	if n == nil || n.Kind != rubyyaml.Seq {
		return nil
	}
	out := make([]string, 0, len(n.Items))
	for _, item := range n.Items {
		out = append(out, item.Text())
	}
	return out
}

func stringMap(n *rubyyaml.Node) (map[string]string, []string) {
	return mapOf(n, (*rubyyaml.Node).Text)
}

func anyMap(n *rubyyaml.Node) (map[string]any, []string) {
	return mapOf(n, (*rubyyaml.Node).ToAny)
}

// mapOf converts a mapping's values with conv and returns its keys in file
// order (Go maps lose it); anything but a mapping gives an empty map.
func mapOf[T any](n *rubyyaml.Node, conv func(*rubyyaml.Node) T) (map[string]T, []string) {
	m := map[string]T{}
	if n == nil || n.Kind != rubyyaml.Map {
		return m, nil
	}
	order := make([]string, 0, len(n.Keys))
	for _, k := range n.Keys {
		m[k] = conv(n.Vals[k])
		order = append(order, k)
	}
	return m, order
}

// rawMap is a section as plain Go values (the Raw fields).
func rawMap(n *rubyyaml.Node) map[string]any {
	if m, ok := n.ToAny().(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

// mergeMaps deep-merges over into base when both are hashes; otherwise the
// one that is a hash (over first) wins.
func mergeMaps(base, over *rubyyaml.Node) *rubyyaml.Node {
	switch {
	case base == nil || base.Kind != rubyyaml.Map:
		return over
	case over == nil || over.Kind != rubyyaml.Map:
		return base
	}
	return rubyyaml.DeepMerge(base, over)
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalAny(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalAny(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// ToSentence joins like Ruby's Array#to_sentence: "a", "a and b", "a, b, and c".
func ToSentence(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", and " + items[len(items)-1]
}
