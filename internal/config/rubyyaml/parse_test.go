package rubyyaml

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *Node {
	t.Helper()
	n, err := Parse("f.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestYAMLPsychSemantics(t *testing.T) {
	src := `
x-base: &base
  a: 1
  b: 2
x-other: &other
  b: 20
  c: 30
merged:
  <<: *base
  b: 3
list_merge:
  <<: [*base, *other]
before_merge:
  a: 0
  <<: *base
quoted: "yes"
single: '40_000_000'
plain: yes
dup: first
dup: second
alias_list: &l [1, 2]
again: *l
literal: |
  line1
  line2
`
	n := mustParse(t, src)
	got := n.ToAny().(map[string]any)
	want := map[string]any{
		"merged":       map[string]any{"a": int64(1), "b": int64(3)},
		"list_merge":   map[string]any{"a": int64(1), "b": int64(2), "c": int64(30)},
		"before_merge": map[string]any{"a": int64(1), "b": int64(2)},
		"quoted":       "yes",
		"single":       "40_000_000",
		"plain":        true,
		"dup":          "second",
		"again":        []any{int64(1), int64(2)},
		"literal":      "line1\nline2\n",
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	// key order: duplicate keeps its first position, merged keys in order
	if strings.Join(n.Keys, ",") != "x-base,x-other,merged,list_merge,before_merge,quoted,single,plain,dup,alias_list,again,literal" {
		t.Errorf("key order %v", n.Keys)
	}
	if strings.Join(n.Get("merged").Keys, ",") != "a,b" {
		t.Errorf("merged order %v", n.Get("merged").Keys)
	}
	if n.Get("merged").Line != 9 {
		t.Errorf("line of merged = %d", n.Get("merged").Line)
	}
}

func TestSyntaxErrors(t *testing.T) {
	// Psych's messages and positions (issue 20 item 2): libyaml's problem
	// and context, at the line and column where the context starts.
	tests := []struct{ src, want string }{
		{"a: b\n\tc: d\n", "f.yml:1: (<unknown>): found a tab character that violates indentation while scanning a plain scalar at line 1 column 4"},
		{"a: *nope\n", "f.yml:1: Unknown alias: nope"},
		{"a:\n  b: 1\n c: 2\n", "f.yml:1: (<unknown>): did not find expected key while parsing a block mapping at line 1 column 1"},
		{"a: b: c\n", "f.yml:1: (<unknown>): mapping values are not allowed in this context at line 1 column 5"},
		{"servers:\n  web:\n    - a\n   - b\n", "f.yml:2: (<unknown>): did not find expected key while parsing a block mapping at line 2 column 3"},
		{"a: @b\n", "f.yml:1: (<unknown>): found character that cannot start any token while scanning for the next token at line 1 column 4"},
		{"a: &x [*x]\n", `f.yml:1:4: invalid YAML: anchor "x" value contains itself`},
		// the examples
		{"service: app\nimage: x\nregistry:\n  server: y\nbuilder: {arch: amd64\nfoo: 1\n", "f.yml:5: (<unknown>): did not find expected ',' or '}' while parsing a flow mapping at line 5 column 10"},
		{"service: app\nimage: x\nregistry\n", "f.yml:3: (<unknown>): could not find expected ':' while scanning a simple key at line 3 column 1"},
		{"a: 1\nb\n", "f.yml:2: (<unknown>): could not find expected ':' while scanning a simple key at line 2 column 1"},
		{"servers: [a, b\nc: 1\n", "f.yml:1: (<unknown>): did not find expected ',' or ']' while parsing a flow sequence at line 1 column 10"},
		{"a: \"open\nb: 1\n", "f.yml:1: (<unknown>): found unexpected end of stream while scanning a quoted scalar at line 1 column 4"},
		{"a:\n  - x\n  y: 1\n", "f.yml:2: (<unknown>): did not find expected '-' indicator while parsing a block collection at line 2 column 3"},
	}
	for _, tt := range tests {
		_, err := Parse("f.yml", []byte(tt.src))
		var ye *SyntaxError
		if !errors.As(err, &ye) {
			t.Errorf("%q: got %v", tt.src, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.src, err, tt.want)
		}
	}
}

func TestYAMLAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Parse("f.yml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("got %v", err)
	}
}

func TestDeepMerge(t *testing.T) {
	base := mustParse(t, "a: {b: 1, c: [1, 2], d: {e: 1}}\nf: 1\n")
	over := mustParse(t, "a: {c: [3], d: {g: 2}}\nh: 2\n")
	got := DeepMerge(base, over).ToAny()
	want := map[string]any{
		"a": map[string]any{"b": int64(1), "c": []any{int64(3)}, "d": map[string]any{"e": int64(1), "g": int64(2)}},
		"f": int64(1), "h": int64(2),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
	// inputs unchanged
	if !reflect.DeepEqual(base.ToAny(), map[string]any{"a": map[string]any{"b": int64(1), "c": []any{int64(1), int64(2)}, "d": map[string]any{"e": int64(1)}}, "f": int64(1)}) {
		t.Errorf("base modified: %#v", base.ToAny())
	}
}
