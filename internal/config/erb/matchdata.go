package erb

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// match is Ruby's MatchData: a regexp match in a string.
type match struct {
	s     string
	loc   []int // byte offsets of the match and its groups, -1 when a group did not take part
	names []string
}

// group is the text of group g, or nil when it did not take part.
func (m *match) group(g int) Value {
	if g < 0 || 2*g+1 >= len(m.loc) || m.loc[2*g] < 0 {
		return nil
	}
	return m.s[m.loc[2*g]:m.loc[2*g+1]]
}

func (m *match) groups() int { return len(m.loc)/2 - 1 }

// matchRegexp matches re in s and sets $~ as Ruby's =~, match and
// case/when do.
func (ev *evaluator) matchRegexp(re *Regexp, s string) *match {
	loc := re.re.FindStringSubmatchIndex(s)
	if loc == nil {
		ev.lastMatch = nil
		return nil
	}
	m := &match{s: s, loc: loc, names: re.re.SubexpNames()}
	ev.lastMatch = m
	return m
}

func (m *match) inspect() string {
	var b strings.Builder
	b.WriteString("#<MatchData ")
	b.WriteString(inspect(m.group(0)))
	for g := 1; g <= m.groups(); g++ {
		b.WriteByte(' ')
		if m.names[g] != "" {
			b.WriteString(m.names[g])
		} else {
			b.WriteString(strconv.Itoa(g))
		}
		b.WriteByte(':')
		b.WriteString(inspect(m.group(g)))
	}
	b.WriteByte('>')
	return b.String()
}

func matchMethod(m *match, name string, args []Value, n node) (Value, error) {
	switch len(args) {
	case 0:
		switch name {
		case "to_s":
			return m.group(0), nil
		case "inspect":
			return m.inspect(), nil
		case "to_a":
			out := &Array{}
			for g := 0; g <= m.groups(); g++ {
				out.elems = append(out.elems, m.group(g))
			}
			return out, nil
		case "captures":
			out := &Array{}
			for g := 1; g <= m.groups(); g++ {
				out.elems = append(out.elems, m.group(g))
			}
			return out, nil
		case "named_captures":
			h := newHash()
			for g := 1; g <= m.groups(); g++ {
				if m.names[g] != "" {
					h.set(m.names[g], m.group(g))
				}
			}
			return h, nil
		case "names":
			out := &Array{}
			for _, nm := range m.names[1:] {
				if nm != "" {
					out.elems = append(out.elems, nm)
				}
			}
			return out, nil
		case "pre_match":
			return m.s[:m.loc[0]], nil
		case "post_match":
			return m.s[m.loc[1]:], nil
		case "size", "length":
			return int64(m.groups() + 1), nil
		case "string":
			return m.s, nil
		}
	case 1:
		switch name {
		case "[]":
			switch k := args[0].(type) {
			case int64:
				if k < 0 {
					k += int64(m.groups() + 1)
				}
				return m.group(int(k)), nil
			case string, Symbol:
				key := toS(k)
				for g := len(m.names) - 1; g > 0; g-- {
					if m.names[g] == key {
						return m.group(g), nil
					}
				}
				return nil, raiseAt(n, "IndexError", "undefined group name reference: %s", key)
			}
		case "begin", "end":
			g, ok := args[0].(int64)
			if !ok || g < 0 || int(g) > m.groups() {
				return nil, unsupported(n)
			}
			if m.loc[2*g] < 0 {
				return nil, nil
			}
			off := m.loc[2*g]
			if name == "end" {
				off = m.loc[2*g+1]
			}
			return int64(utf8.RuneCountInString(m.s[:off])), nil
		}
	}
	return nil, unsupported(n)
}

// classAncestors lists, for each class a value can have, the classes and
// modules is_a? and case/when match it against.
var classAncestors = map[string][]string{
	"Integer":                       {"Integer", "Numeric", "Comparable"},
	"Float":                         {"Float", "Numeric", "Comparable"},
	"String":                        {"String", "Comparable"},
	"ActiveSupport::StringInquirer": {"ActiveSupport::StringInquirer", "String", "Comparable"},
	"Symbol":                        {"Symbol", "Comparable"},
	"Array":                         {"Array", "Enumerable"},
	"Hash":                          {"Hash", "Enumerable"},
	"Range":                         {"Range", "Enumerable"},
	"NilClass":                      {"NilClass"},
	"TrueClass":                     {"TrueClass"},
	"FalseClass":                    {"FalseClass"},
	"Regexp":                        {"Regexp"},
	"Proc":                          {"Proc"},
	"MatchData":                     {"MatchData"},
	"Time":                          {"Time", "Comparable"},
	"Date":                          {"Date", "Comparable"},
	"URI::Generic":                  {"URI::Generic"},
	"Process::Status":               {"Process::Status"},
	"OpenStruct":                    {"OpenStruct"},
}

// isClass reports whether name is a class or module is_a? knows.
func isClass(name string) bool {
	switch name {
	case "Object", "BasicObject", "Kernel", "Numeric", "Comparable", "Enumerable":
		return true
	}
	_, ok := classAncestors[name]
	return ok
}

// isA is Object#is_a?.
func isA(v Value, class string) bool {
	switch class {
	case "Object", "BasicObject", "Kernel":
		return true
	}
	for _, c := range classAncestors[className(v)] {
		if c == class {
			return true
		}
	}
	return false
}
