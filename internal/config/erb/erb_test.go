package erb

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// testEnv is an isolated environment for one render.
type testEnv struct {
	vars  map[string]string
	set   map[string]string
	shell func(string) (string, error)
	dir   string
}

func (e *testEnv) options() Options {
	if e.vars == nil {
		e.vars = map[string]string{}
	}
	e.set = map[string]string{}
	shell := e.shell
	if shell == nil {
		shell = func(cmd string) (string, error) {
			return "", errors.New("unexpected shell command " + cmd)
		}
	}
	return Options{
		File: "config/deploy.yml",
		Dir:  e.dir,
		LookupEnv: func(k string) (string, bool) {
			v, ok := e.vars[k]
			return v, ok
		},
		Environ: func() []string {
			var list []string
			for k, v := range e.vars {
				list = append(list, k+"="+v)
			}
			sort.Strings(list)
			return list
		},
		SetEnv: func(k, v string) { e.set[k] = v },
		Shell:  shell,
		Now: func() time.Time {
			return time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.UTC)
		},
	}
}

type renderCase struct {
	name string
	src  string
	env  map[string]string
	want string // expected output, when err is ""
	err  string // expected exact error message
}

func runCases(t *testing.T, cases []renderCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &testEnv{vars: tc.env, dir: "/srv/app/config"}
			out, err := Render([]byte(tc.src), e.options())
			if tc.err != "" {
				if err == nil {
					t.Fatalf("Render(%q) = %q, want error %q", tc.src, out, tc.err)
				}
				if err.Error() != tc.err {
					t.Fatalf("Render(%q) error:\n got  %q\n want %q", tc.src, err.Error(), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render(%q): %v", tc.src, err)
			}
			if string(out) != tc.want {
				t.Fatalf("Render(%q):\n got  %q\n want %q", tc.src, out, tc.want)
			}
		})
	}
}

func TestTemplateTags(t *testing.T) {
	runCases(t, []renderCase{
		{name: "plain text", src: "service: app\n", want: "service: app\n"},
		{name: "output", src: "a: <%= 1 %>\n", want: "a: 1\n"},
		{name: "comment", src: "a<%# anything, even %w[ %>b", want: "ab"},
		{name: "literal open tag", src: "a <%% b %> c", want: "a <% b %> c"},
		{name: "double percent close in text", src: "a %%> b", want: "a %%> b"},
		{name: "double percent close in code", src: `<%= "x %%> y" %>`, want: "x %> y"},
		{name: "code keeps newline", src: "<% x = 1 %>\nfoo", want: "\nfoo"},
		{name: "dash close eats newline", src: "<% x = 1 -%>\nfoo", want: "foo"},
		{name: "dash close without newline", src: "<% x = 1 -%>foo", want: "foo"},
		{name: "output dash close", src: "<%= 1 -%>\n2", want: "12"},
		{name: "dash open eats indentation", src: "a\n  <%- x = 1 -%>\nb", want: "a\nb"},
		{name: "dash open mid-line keeps text", src: "a  <%- x = 1 %>b", want: "a  b"},
		{name: "dash close in text", src: "x -%>\ny", want: "x %>y"},
		{name: "if block with trimming", src: "a\n  <%- if true -%>\n  b\n  <%- end -%>\nc\n", want: "a\n  b\nc\n"},
		{name: "if block without trimming", src: "<% if true %>\nyes\n<% end %>\n", want: "\nyes\n\n"},
		{name: "empty output", src: "a<%= %>b", want: "ab"},
		{name: "output of statements", src: "<%= x = 2; x + 1 %>", want: "3"},
		{name: "output with modifier false", src: "[<%= 1 if false %>]", want: "[]"},
		{name: "code comment ends at tag", src: "<% x = 1 # set x %><%= x %>", want: "1"},
		{name: "multi-line code", src: "<%\n  a = 1\n  b = 2\n%><%= a + b %>", want: "3"},
		{name: "leading dot continues line", src: "<%= %w[a b]\n  .map(&:upcase)\n  .join %>", want: "AB"},
		{name: "semicolons", src: `<% a = "x"; b = "y" %><%= a + b %>`, want: "xy"},
		{name: "unclosed tag", src: "a\n<%= foo", err: "config/deploy.yml:2: unsupported Ruby in ERB: <%= foo"},
		{name: "unclosed if", src: "x\n<% if true %>\nyes\n", err: "config/deploy.yml:2: unsupported Ruby in ERB: if true"},
		{name: "unclosed do block", src: "<% [1].each do |x| %>\n", err: "config/deploy.yml:1: unsupported Ruby in ERB: [1].each do |x|"},
		{name: "stray end", src: "<% end %>", err: "config/deploy.yml:1: unsupported Ruby in ERB: end"},
	})
}

func TestValues(t *testing.T) {
	runCases(t, []renderCase{
		{name: "nil renders empty", src: "[<%= nil %>]", want: "[]"},
		{name: "nil to_s", src: "[<%= nil.to_s %>]", want: "[]"},
		{name: "nil inspect", src: "<%= nil.inspect %>", want: "nil"},
		{name: "integer", src: "<%= 42 %> <%= -7 %> <%= 1_000 %>", want: "42 -7 1000"},
		{name: "true false", src: "<%= true %> <%= false %>", want: "true false"},
		{name: "array to_s", src: `<%= ["a", "b"] %>`, want: `["a", "b"]`},
		{name: "array mixed", src: `<%= [1, nil, true, :s, "q\"x"] %>`, want: `[1, nil, true, :s, "q\"x"]`},
		{name: "empty array", src: `<%= [] %>`, want: `[]`},
		{name: "hash inspect", src: `<%= {"a" => 1} %>`, want: `{"a" => 1}`},
		{name: "hash symbol keys", src: `<%= {a: 1, :"b-c" => [2]} %>`, want: `{a: 1, "b-c": [2]}`},
		{name: "recursive array", src: `<% a = [1]; a << a %><%= a %>`, want: `[1, [...]]`},
		{name: "string label keys", src: `<%= {"a-b": 1, "c": 2} %>`, want: `{"a-b": 1, c: 2}`},
		{name: "empty hash", src: `<%= {} %>`, want: `{}`},
		{name: "symbol", src: `<%= :web %> <%= :web.inspect %> <%= :"a b".inspect %>`, want: `web :web :"a b"`},
		{name: "string inspect", src: `<%= "a\"b\n\t#{1}\\".inspect %>`, want: `"a\"b\n\t1\\"`},
		{name: "single quotes", src: `<%= 'a\'b\n#{x}' %>`, want: `a'b\n#{x}`},
		{name: "double quote escapes", src: `<%= "tab\there\sx\u00e9\x41" %>`, want: "tab\there xéA"},
		{name: "interpolation", src: `<% n = 2 %><%= "a#{n}b#{"c#{n + 1}"}" %>`, want: "a2bc3"},
		{name: "interpolation of nil", src: `<%= "[#{nil}]" %>`, want: "[]"},
		{name: "interpolation of array", src: `<%= "#{[1, "a"]}" %>`, want: `[1, "a"]`},
		{name: "adjacent literals", src: `<%= 'it''s' "#{1}" %>`, want: "its1"},
		{name: "percent w", src: `<%= %w[web-1 web-2] %>`, want: `["web-1", "web-2"]`},
		{name: "percent W interpolates", src: `<% n = 2 %><%= %W[a#{n} b] %>`, want: `["a2", "b"]`},
		{name: "percent i", src: `<%= %i[a b] %>`, want: `[:a, :b]`},
		{name: "percent q", src: `<%= %q(it's (nested)) %> <%= %Q{#{1}} %> <%= %(x) %>`, want: `it's (nested) 1 x`},
		{name: "truthiness", src: `<%= nil ? 1 : 2 %><%= false ? 1 : 2 %><%= 0 ? 1 : 2 %><%= "" ? 1 : 2 %><%= [] ? 1 : 2 %>`, want: "22111"},
		{name: "to_json string", src: `<%= "x".to_json %> <%= "a\"b\n<&>".to_json %>`, want: `"x" "a\"b\n<&>"`},
		{name: "to_json values", src: `<%= {"a" => [1, nil, true], b: "c"}.to_json %> <%= nil.to_json %>`, want: `{"a":[1,null,true],"b":"c"} null`},
		{name: "fetch default keeps integer", src: `<%= ENV.fetch("NOPE", 86400) + 1 %>`, want: "86401"},
		{name: "time", src: `<%= Time.now.to_i %> <%= Time.now.strftime("%Y%m%d-%H%M%S %-m/%e %j %a %b %L") %> <%= Time.now.utc %>`,
			want: "1772600767 20260304-050607 3/ 4 063 Wed Mar 008 2026-03-04 05:06:07 UTC"},
		{name: "time iso8601", src: `<%= Time.now.utc.iso8601 %> <%= Time.now.year %>`, want: "2026-03-04T05:06:07Z 2026"},
		{name: "ruby engine", src: `<%= RUBY_ENGINE %>`, want: "ruby"},
	})
}

func TestOperators(t *testing.T) {
	runCases(t, []renderCase{
		{name: "or", src: `<%= nil || "d" %> <%= false || nil || 3 %> <%= "a" || x %>`, want: "d 3 a"},
		{name: "and", src: `<%= "a" && "b" %> <%= false && x %> <%= nil && 1 %>`, want: "b false "},
		{name: "not", src: `<%= !nil %> <%= !"x" %> <%= not true %> <%= !!1 %>`, want: "true false false true"},
		{name: "and or keywords", src: `<%= (nil or "y") %> <%= (1 and nil).inspect %>`, want: "y nil"},
		{name: "equality", src: `<%= 1 == 1 %> <%= "a" != "b" %> <%= "1" == 1 %> <%= :a == :a %> <%= [1, "a"] == [1, "a"] %> <%= nil == false %>`, want: "true true false true true false"},
		{name: "comparison", src: `<%= 1 < 2 %> <%= 2 >= 3 %> <%= "a" < "b" %>`, want: "true false true"},
		{name: "arithmetic", src: `<%= 1 + 2 * 3 %> <%= (1 + 2) * 3 %> <%= 7 / 2 %> <%= -7 / 2 %> <%= -7 % 3 %> <%= 10 - 2 - 3 %>`, want: "7 9 3 -4 2 5"},
		{name: "string plus and times", src: `<%= "a" + "b" %> <%= "ab" * 3 %>`, want: "ab ababab"},
		{name: "array plus minus", src: `<%= [1, 2] + [3] %> <%= [1, 2, 3] - [2] %>`, want: "[1, 2, 3] [1, 3]"},
		{name: "ternary nested", src: `<% a = "x" %><%= a == "y" ? 1 : a == "x" ? 2 : 3 %>`, want: "2"},
		{name: "ternary with predicate", src: `<% s = "" %><%= s.empty? ? "empty" : s %>`, want: "empty"},
		{name: "or assign", src: `<% x = nil; x ||= "d"; y = "k"; y ||= "z" %><%= x %><%= y %>`, want: "dk"},
		{name: "plus assign", src: `<% x = 1; x += 2 %><%= x %>`, want: "3"},
		{name: "safe navigation", src: `[<%= ENV["NOPE"]&.strip %>] <%= ENV["HOST"]&.strip %>`, env: map[string]string{"HOST": " h "}, want: "[] h"},
		{name: "modifier if", src: `<% x = 1 if true %><% y = 2 if false %><%= x %>-<%= y.inspect %>`, want: "1-nil"},
		{name: "modifier unless", src: `<% x = "a" unless false %><%= x %>`, want: "a"},
		{name: "if elsif else", src: `<% v = 2 %><% if v == 1 %>one<% elsif v == 2 %>two<% else %>other<% end %>`, want: "two"},
		{name: "if else value", src: `<%= if false then "a" else "b" end %>`, want: "b"},
		{name: "unless else", src: `<% unless true %>a<% else %>b<% end %>`, want: "b"},
		{name: "nested if", src: "<% if true %><% if false %>a<% else %>b<% end %>c<% end %>", want: "bc"},
		{name: "hash index", src: `<% h = {"a" => {b: 1}} %><%= h["a"][:b] %> <%= h.dig("a", :b) %> <%= h["x"].inspect %>`, want: "1 1 nil"},
		{name: "hash assign", src: `<% h = {}; h["k"] = "v" %><%= h %>`, want: `{"k" => "v"}`},
		{name: "array index", src: `<% a = %w[x y z] %><%= a[0] %><%= a[-1] %><%= a[5].inspect %>`, want: "xznil"},
		{name: "division by zero", src: "<%= 1 / 0 %>", err: "config/deploy.yml:1: divided by 0"},
		{name: "string plus integer", src: `<%= "a" + 1 %>`, err: "config/deploy.yml:1: no implicit conversion of Integer into String"},
		{name: "integer plus nil", src: `<%= 1 + nil %>`, err: "config/deploy.yml:1: nil can't be coerced into Integer"},
	})
}

func TestMethods(t *testing.T) {
	runCases(t, []renderCase{
		{name: "strip", src: `[<%= "  x \n\t".strip %>]`, want: "[x]"},
		{name: "lstrip rstrip", src: `[<%= " x ".lstrip %>|<%= " x ".rstrip %>]`, want: "[x | x]"},
		{name: "chomp", src: `[<%= "x\n".chomp %>|<%= "x\r\n".chomp %>|<%= "x".chomp %>|<%= "x.yml".chomp(".yml") %>]`, want: "[x|x|x|x]"},
		{name: "to_s", src: `<%= 1.to_s + "a".to_s + :b.to_s + true.to_s %>`, want: "1abtrue"},
		{name: "to_i", src: `<%= "42abc".to_i %> <%= "abc".to_i %> <%= " -3".to_i %> <%= "1_000".to_i %> <%= nil.to_i %> <%= 5.to_i %>`, want: "42 0 -3 1000 0 5"},
		{name: "upcase downcase capitalize", src: `<%= "aBc".upcase %> <%= "aBc".downcase %> <%= "hELLO".capitalize %>`, want: "ABC abc Hello"},
		{name: "tr", src: `<%= "a-b-c".tr("-", "_") %> <%= "hello".tr("el", "ip") %> <%= "hello".tr("a-y", "b-z") %> <%= "hello".tr("^l", "*") %> <%= "hello".tr("lo", "") %>`, want: "a_b_c hippo ifmmp **ll* he"},
		{name: "gsub string", src: `<%= "a-b-c".gsub("-", "") %> <%= "a-b-c".sub("-", "+") %>`, want: "abc a+b-c"},
		{name: "gsub regexp", src: `<%= "Feature/ABC_1".gsub(/[^a-z0-9]+/i, "-").downcase %>`, want: "feature-abc-1"},
		{name: "gsub groups", src: `<%= "john smith".gsub(/(\w+) (\w+)/, '\2 \1') %> <%= "ab".gsub(/b/, '<\0>') %>`, want: "smith john a<b>"},
		{name: "gsub hash and block", src: `<%= "cat".gsub(/[ct]/, "c" => "b", "t" => "r") %> <%= "ab".gsub(/[ab]/) { |m| m.upcase } %>`, want: "bar AB"},
		{name: "split", src: `<%= "a b  c".split %> <%= "a,b,,".split(",") %> <%= "a,b,c".split(",", 2) %> <%= "".split(",") %> <%= "a1b22c".split(/\d+/) %>`, want: `["a", "b", "c"] ["a", "b"] ["a", "b,c"] [] ["a", "b", "c"]`},
		{name: "join", src: `<%= %w[a b].join(",") %> <%= [1, [2, nil]].join("-") %> <%= [1, 2].join %>`, want: "a,b 1-2- 12"},
		{name: "first last", src: `<%= %w[a b c].first %> <%= %w[a b c].last %> <%= %w[a b c].first(2) %> <%= %w[a b c].last(2) %> <%= [].first.inspect %>`, want: `a c ["a", "b"] ["b", "c"] nil`},
		{name: "string first last", src: `<%= "abc".first %> <%= "abc".last %> <%= "héllo".first(2) %> <%= "abc".last(5) %> [<%= "".first %>] [<%= "abc".first(0) %>]`, want: "a c hé abc [] []"},
		{name: "string first negative", src: `<%= "abc".first(-1) %>`, err: "config/deploy.yml:1: negative limit"},
		{name: "include", src: `<%= "abc".include?("b") %> <%= %w[a b].include?("c") %> <%= {"a" => 1}.include?("a") %>`, want: "true false true"},
		{name: "start end with", src: `<%= "web-1".start_with?("web") %> <%= "web-1".start_with?("x", "w") %> <%= "a.yml".end_with?(".yml") %> <%= "a".end_with?("b") %>`, want: "true true true false"},
		{name: "length", src: `<%= "héllo".length %> <%= %w[a b].length %> <%= {a: 1}.size %> <%= :abc.length %>`, want: "5 2 1 3"},
		{name: "empty nil", src: `<%= "".empty? %> <%= [].empty? %> <%= {}.empty? %> <%= nil.nil? %> <%= "".nil? %>`, want: "true true true true false"},
		{name: "present blank", src: `<%= "  ".blank? %> <%= "x".present? %> <%= nil.present? %> <%= [].blank? %> <%= false.blank? %> <%= 0.blank? %> <%= {a: 1}.present? %>`, want: "true true false true true false true"},
		{name: "presence", src: `<%= "  ".presence || "d" %> <%= "x".presence %> <%= nil.presence.inspect %>`, want: "d x nil"},
		{name: "to_sym", src: `<%= "a".to_sym.inspect %>`, want: ":a"},
		{name: "each", src: `<% %w[a b].each do |h| %>[<%= h %>]<% end %>`, want: "[a][b]"},
		{name: "each braces", src: `<% %w[a b].each { |h| %><%= h %>;<% } %>`, want: "a;b;"},
		{name: "each_with_index", src: `<% %w[a b].each_with_index do |h, i| %><%= i %>:<%= h %> <% end %>`, want: "0:a 1:b "},
		{name: "map", src: `<%= %w[a b].map { |h| h.upcase }.join(",") %> <%= %w[a b].map(&:upcase) %>`, want: `A,B ["A", "B"]`},
		{name: "map do with text", src: "<% [1, 2].map do |n| %>n=<%= n * 10 %>\n<% end %>", want: "n=10\nn=20\n"},
		{name: "hash each", src: `<% {"a" => 1, "b" => 2}.each do |k, v| %><%= k %>=<%= v %>;<% end %>`, want: "a=1;b=2;"},
		{name: "select reject compact uniq", src: `<%= [1, nil, 2, 2].compact.uniq %> <%= %w[a bb c].select { |s| s.length == 1 } %> <%= %w[a bb].reject { |s| s == "a" } %>`, want: `[1, 2] ["a", "c"] ["bb"]`},
		{name: "block local scope", src: `<% [1].each do |i| y = i end %><%= y %>`, err: "config/deploy.yml:1: undefined local variable or method 'y' for main"},
		{name: "block assigns declared outer", src: `<% y = 1 if false %><% [2].each { |i| y = i } %><%= y %>`, want: "2"},
		{name: "block param shadows", src: `<% h = 1 %><% [2].each do |h| %><%= h %><% h = 3 %><% end %><%= h %>`, want: "21"},
		{name: "block sees outer", src: `<% t = 0; [1, 2].each { |i| t += i } %><%= t %>`, want: "3"},
		{name: "times", src: `<% 3.times do |i| %><%= i %><% end %>`, want: "012"},
		{name: "hash methods", src: `<% h = {"a" => 1} %><%= h.keys %> <%= h.values %> <%= h.key?("a") %> <%= h.fetch("b", 2) %> <%= h.merge("b" => 2) %>`, want: `["a"] [1] true 2 {"a" => 1, "b" => 2}`},
		{name: "integer predicates", src: `<%= 0.zero? %> <%= -3.abs %> <%= 4.even? %>`, want: "true 3 true"},
		{name: "string index", src: `<%= "abc"[0] %><%= "abc"[-1] %><%= "abcdef"[1, 3] %>`, want: "acbcd"},
		{name: "match", src: `<%= "web-12" =~ /\d+/ %> <%= "abc".match?(/b/) %> <%= ("x" =~ /y/).inspect %>`, want: "4 true nil"},
		{name: "squish delete_suffix", src: `<%= "  a \n b ".squish %>|<%= "app.yml".delete_suffix(".yml") %>`, want: "a b|app"},
		{name: "nil method", src: `<%= ENV["NOPE"].strip %>`, err: "config/deploy.yml:1: undefined method 'strip' for nil"},
		{name: "unknown string method", src: "x\n<%= \"x\".frobnicate(1) %>", err: `config/deploy.yml:2: unsupported Ruby in ERB: "x".frobnicate(1)`},
	})
}

func TestMoreMethods(t *testing.T) {
	runCases(t, []renderCase{
		{name: "json parse", src: `<% d = JSON.parse('{"a": [1, "x", null, true], "b": {"c": "d"}}') %><%= d["a"] %> <%= d["b"]["c"] %> <%= d.keys %>`, want: `[1, "x", nil, true] d ["a", "b"]`},
		{name: "json parse float", src: `<%= JSON.parse("[1.5, 2e3, -0.25]") %>`, want: "[1.5, 2000.0, -0.25]"},
		{name: "json generate", src: `<%= JSON.generate({"a" => :b}) %>`, want: `{"a":"b"}`},
		{name: "sort sum min max", src: `<%= [3, 1, 2].sort %> <%= [1, 2, 3].sum %> <%= %w[b a c].min %> <%= [4, 9, 2].max %> <%= [1, 2].sum { |x| x * 10 } %>`, want: "[1, 2, 3] 6 a 9 30"},
		{name: "sort mixed", src: `<%= [1, "a"].sort %>`, err: `config/deploy.yml:1: unsupported Ruby in ERB: [1, "a"].sort`},
		{name: "Integer and String", src: `<%= Integer("42") + 1 %> <%= String(nil).inspect %> <%= Integer(" 7 ") %>`, want: `43 "" 7`},
		{name: "Integer prefixes", src: `<%= Integer("010") %> <%= Integer("0x1f") %> <%= Integer("1_000") %> <%= Integer("-5") %>`, want: "8 31 1000 -5"},
		{name: "Array()", src: `<%= Array(nil) %> <%= Array("a") %> <%= Array([1]) %>`, want: `[] ["a"] [1]`},
		{name: "Integer invalid", src: `<%= Integer("4x") %>`, err: `config/deploy.yml:1: invalid value for Integer(): "4x"`},
		{name: "hash fetch missing", src: `<%= {"a" => 1}.fetch("b") %>`, err: `config/deploy.yml:1: key not found: "b"`},
		{name: "hash fetch block", src: `<%= {"a" => 1}.fetch("b") { |k| k * 2 } %>`, want: "bb"},
		{name: "hash select map", src: `<%= {"a" => 1, "b" => 2}.select { |k, v| v > 1 } %> <%= {"a" => 1}.map { |k, v| "#{k}=#{v}" } %> <%= {a: 1}.to_a %>`, want: `{"b" => 2} ["a=1"] [[:a, 1]]`},
		{name: "array misc", src: `<%= [[1, [2]], 3].flatten %> <%= %w[a b].index("b") %> <%= [1, 2, 1].count(1) %> <%= %w[a b].any? %> <%= [nil].any? %> <%= [1, 2].find { |x| x > 1 } %> <%= [1, 2].all? { |x| x > 0 } %>`, want: "[1, 2, 3] 1 2 true false 2 true"},
		{name: "array push", src: `<% a = [1]; a << 2; a.push(3, 4) %><%= a %> <%= a.size %>`, want: "[1, 2, 3, 4] 4"},
		{name: "array filter_map flat_map", src: `<%= [1, 2, 3].filter_map { |x| x * 2 if x.odd? } %> <%= [[1], [2]].flat_map { |x| x } %>`, want: "[2, 6] [1, 2]"},
		{name: "each returns receiver", src: `<%= [1].each { |x| x } %>`, want: "[1]"},
		{name: "string misc", src: `<%= "Hello".swapcase %> <%= "abc".reverse %> <%= "a\nb\n".lines %> <%= "ab".chars %> <%= "hello".count("l") %> <%= "hello".delete("l") %> <%= "ab".chop %>`, want: `hELLO cba ["a\n", "b\n"] ["a", "b"] 2 heo a`},
		{name: "string comparisons", src: `<%= "a" * 0 %>|<%= "b" > "a" %> <%= "ABC".casecmp?("abc") %> <%= "x" <= "x" %>`, want: "|true true true"},
		{name: "string index forms", src: `<%= "hello"["ell"] %> <%= "hello"["z"].inspect %> <%= "hello"[/l+/] %> <%= "hi"[5].inspect %>`, want: "ell nil ll nil"},
		{name: "sub with backslashes", src: `<%= "a.b".sub(".", "\\") %> <%= "ab".sub(/(?<x>b)/, '[\k<x>]') %> <%= "ab".sub(/a/, '\&\&') %>`, want: `a\b a[b] aab`},
		{name: "split regexp with captures", src: `<%= "a-b_c".split(/([-_])/) %> <%= "a b".split(/ /, 2) %>`, want: `["a", "-", "b", "_", "c"] ["a", "b"]`},
		{name: "start_with regexp", src: `<%= "web-1".start_with?(/w.b/) %>`, want: "true"},
		{name: "to_json escapes", src: `<%= "\u0001\t".to_json %> <%= :s.to_json %> <%= [1, "a"].to_json %> <%= 5.to_json %>`, want: `"\u0001\t" "s" [1,"a"] 5`},
		{name: "inspect escapes", src: `<%= "\e\u0001\#{x}".inspect %>`, want: `"\e\u0001\#{x}"`},
		{name: "symbol methods", src: `<%= :ab.to_sym.inspect %> <%= :ab.upcase.inspect %> <%= :a == :a %>`, want: ":ab :AB true"},
		{name: "integer methods", src: `<%= 5.odd? %> <%= 0.positive? %> <%= -1.negative? %> <%= 4.succ %> <%= 7 % -3 %>`, want: "true false true 5 -2"},
		{name: "integer overflow", src: `<%= 9223372036854775807 + 1 %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: 9223372036854775807 + 1"},
		{name: "time parts", src: `<% t = Time.now %><%= t.month %>/<%= t.day %> <%= t.hour %>:<%= t.min %>:<%= t.sec %> <%= t.strftime("%I%p %A %B %y %Z %z %s %%") %>`, want: "3/4 5:6:7 05AM Wednesday March 26 UTC +0000 1772600767 %"},
		{name: "strftime unknown directive", src: `<%= Time.now.strftime("%Q") %>`, want: "%Q"},
		{name: "regexp printed", src: `<%= /a/ %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: /a/"},
		{name: "is_a", src: `<%= "x".is_a?(String) %> <%= [1].is_a?(Hash) %> <%= nil.is_a?(NilClass) %>`, want: "true false true"},
		{name: "class methods", src: `<%= String.new %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: String.new"},
		{name: "then", src: `<%= "a".then { |x| x + "b" } %>`, want: "ab"},
		{name: "nil conversions", src: `<%= nil.to_a %> <%= nil.to_h %> <%= nil.to_json %> <%= !nil %>`, want: "[] {} null true"},
		{name: "nil unknown", src: `<%= nil.upcase %>`, err: "config/deploy.yml:1: undefined method 'upcase' for nil"},
		{name: "socket", src: `<% require "socket" %><%= Socket.gethostname.empty? %>`, want: "false"},
	})
}

func TestErrors(t *testing.T) {
	runCases(t, []renderCase{
		{name: "raise", src: "a\n<% raise \"boom\" %>", err: "config/deploy.yml:2: boom"},
		{name: "raise with class", src: `<% raise ArgumentError, "bad" %>`, err: "config/deploy.yml:1: bad"},
		{name: "raise interpolated", src: `<% x = "X" %><% raise "missing #{x}" if true %>`, err: "config/deploy.yml:1: missing X"},
		{name: "fetch missing", src: "\n\n<%= ENV.fetch(\"X\") %>", err: `config/deploy.yml:3: key not found: "X"`},
		{name: "undefined local", src: "<%= foo %>", err: "config/deploy.yml:1: undefined local variable or method 'foo' for main"},
		{name: "undefined local in interpolation", src: `<%= "a#{bar}" %>`, err: "config/deploy.yml:1: undefined local variable or method 'bar' for main"},
		{name: "instance variable", src: "<%= @x %>", err: "config/deploy.yml:1: unsupported Ruby in ERB: @x"},
		{name: "global variable", src: "<%= $PROGRAM_NAME %>", err: "config/deploy.yml:1: unsupported Ruby in ERB: $PROGRAM_NAME"},
		{name: "endless loop", src: "<% while true %><% end %>", err: "config/deploy.yml:1: template does too much work (more than 1000000 steps)"},
		{name: "multiple assignment", src: "<% a, b = 1, 2 %>", err: "config/deploy.yml:1: unsupported Ruby in ERB: a, b = 1, 2"},
		{name: "unknown constant", src: "<%= Rails.env %>", err: "config/deploy.yml:1: unsupported Ruby in ERB: Rails.env"},
		{name: "require other", src: `<% require "rails" %>`, err: `config/deploy.yml:1: unsupported Ruby in ERB: require "rails"`},
		{name: "require accepted", src: `<% require "json"; require "uri"; require 'dotenv'; require "yaml"; require "erb"; require "time"; require "socket" %>ok`, want: "ok"},
		{name: "error line inside multi-line tag", src: "<%\n  a = 1\n  b = c\n%>", err: "config/deploy.yml:3: undefined local variable or method 'c' for main"},
		{name: "error line in block", src: "<% [1].each do |i| %>\n\n<%= i.frobnicate %>\n<% end %>", err: "config/deploy.yml:3: unsupported Ruby in ERB: i.frobnicate"},
		{name: "unterminated string", src: "<%= \"abc %>", err: `config/deploy.yml:1: unsupported Ruby in ERB: "abc`},
		{name: "regexp outside RE2", src: `<%= "a".gsub(/(?<=a)b/, "") %>`, err: `config/deploy.yml:1: unsupported Ruby in ERB: /(?<=a)b/`},
		{name: "attribute assignment", src: `<% x = "a"; x.foo = 1 %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: x.foo = 1"},
		{name: "bad uri", src: `<%= URI.parse(ENV["APP_URL"]).host %>`, err: "config/deploy.yml:1: bad URI (is not URI?): nil"},
	})
}

func TestENV(t *testing.T) {
	env := map[string]string{"HOST": "h1", "EMPTY": ""}
	runCases(t, []renderCase{
		{name: "index", src: `<%= ENV["HOST"] %>[<%= ENV["NOPE"] %>]`, env: env, want: "h1[]"},
		{name: "fetch", src: `<%= ENV.fetch("HOST") %> <%= ENV.fetch("NOPE", "d") %> <%= ENV.fetch("EMPTY", "d") %>`, env: env, want: "h1 d "},
		{name: "fetch block gets key", src: `<%= ENV.fetch("NOPE") { |k| "#{k}!" } %> <%= ENV.fetch("HOST") { raise "x" } %>`, env: env, want: "NOPE! h1"},
		{name: "key?", src: `<%= ENV.key?("HOST") %> <%= ENV.key?("NOPE") %> <%= ENV.has_key?("EMPTY") %>`, env: env, want: "true false true"},
		{name: "assign", src: `<% ENV["NEW"] = "v" %><%= ENV["NEW"] %>`, env: env, want: "v"},
		{name: "or default", src: `<%= ENV["NOPE"] || "d" %>`, env: env, want: "d"},
		{name: "non-string key", src: `<%= ENV[1] %>`, env: env, err: "config/deploy.yml:1: no implicit conversion of Integer into String"},
	})
	// ENV[]= reaches SetEnv.
	e := &testEnv{}
	opts := e.options()
	if _, err := Render([]byte(`<% ENV["K"] = "v" %>`), opts); err != nil {
		t.Fatal(err)
	}
	if e.set["K"] != "v" {
		t.Fatalf("SetEnv not called: %v", e.set)
	}
}

func TestFileAndDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	// Ruby's __dir__ in Kamal's ERB is ".", so this file sits in the project root.
	writeFile(t, filepath.Join(dir, ".redis-password"), "s3cret\n")
	writeFile(t, filepath.Join(cfg, ".redis-password"), "not this one\n")
	writeFile(t, filepath.Join(dir, ".ruby-version"), "3.3.6\n")
	t.Chdir(dir)
	e := &testEnv{dir: cfg, vars: map[string]string{"HOME": "/home/deploy"}}
	cases := []struct{ src, want string }{
		{`<%= File.read('.ruby-version').strip %>`, "3.3.6"},
		{`<%= File.read(File.expand_path('.redis-password', __dir__)) %>`, "s3cret\n"},
		{`<%= File.expand_path('~/.ssh/kamal_deploy') %>`, "/home/deploy/.ssh/kamal_deploy"},
		{`<%= File.expand_path('~') %>`, "/home/deploy"},
		{`<%= File.expand_path('../x', __dir__) %>`, filepath.Join(filepath.Dir(dir), "x")},
		{`<%= File.expand_path('x', __dir__) %>`, filepath.Join(dir, "x")},
		{`<%= File.expand_path('a/b') %>`, filepath.Join(dir, "a/b")},
		{`<%= File.expand_path('/etc/../tmp') %>`, "/tmp"},
		{`<%= File.exist?('.ruby-version') %> <%= File.exist?('nope') %>`, "true false"},
		{`<%= File.join("a", "b/", "/c") %> <%= File.join(__dir__, "x") %>`, "a/b/c ./x"},
		{`<%= File.basename("/a/b.yml", ".yml") %> <%= File.dirname("/a/b.yml") %>`, "b /a"},
		{`<%= Dir.pwd %>`, dir},
		{`<%= __dir__ %>`, "."},
		{`<%= RUBY_ENGINE_VERSION %>`, "3.3.6"},
	}
	for _, tc := range cases {
		out, err := Render([]byte(tc.src), e.options())
		if err != nil {
			t.Errorf("Render(%q): %v", tc.src, err)
			continue
		}
		if string(out) != tc.want {
			t.Errorf("Render(%q) = %q, want %q", tc.src, out, tc.want)
		}
	}
	rel := &testEnv{dir: "config"}
	if out, err := Render([]byte(`<%= __dir__ %>`), rel.options()); err != nil || string(out) != "." {
		t.Errorf("__dir__ with a relative Dir = %q, %v; want %q", out, err, ".")
	}
	_, err := Render([]byte("\n<%= File.read('missing.txt') %>"), e.options())
	if err == nil || err.Error() != "config/deploy.yml:2: No such file or directory @ rb_sysopen - missing.txt" {
		t.Errorf("File.read of a missing file: %v", err)
	}
}

func TestRubyEngineVersion(t *testing.T) {
	t.Run("from config dir, ruby- prefix", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".ruby-version"), "ruby-3.4.1\n")
		e := &testEnv{dir: dir}
		out, err := Render([]byte(`<%= "#{RUBY_ENGINE}-#{RUBY_ENGINE_VERSION}" %>`), e.options())
		if err != nil || string(out) != "ruby-3.4.1" {
			t.Fatalf("got %q, %v", out, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		t.Setenv("PATH", "") // no ruby to ask
		e := &testEnv{dir: filepath.Join(t.TempDir(), "config")}
		_, err := Render([]byte("\n<%= RUBY_ENGINE_VERSION.strip %>"), e.options())
		want := "config/deploy.yml:2: RUBY_ENGINE_VERSION is not known: set RBENV_VERSION or add a .ruby-version file (no .ruby-version found and ruby is not installed)"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
	})
	t.Run("not evaluated when RBENV_VERSION is set", func(t *testing.T) {
		t.Setenv("PATH", "")
		e := &testEnv{dir: t.TempDir(), vars: map[string]string{"RBENV_VERSION": "3.2.2"}}
		src := `<%= ENV["RBENV_VERSION"] || ENV["rvm_ruby_string"] || "#{RUBY_ENGINE}-#{RUBY_ENGINE_VERSION}" %>`
		out, err := Render([]byte(src), e.options())
		if err != nil || string(out) != "3.2.2" {
			t.Fatalf("got %q, %v", out, err)
		}
	})
}

func TestURI(t *testing.T) {
	env := map[string]string{"APP_URL": "https://user:pa%20ss@app.example.com/base?q=1", "PLAIN": "http://[::1]:8080"}
	runCases(t, []renderCase{
		{name: "parts", src: `<% u = URI.parse(ENV["APP_URL"]) %><%= u.host %> <%= u.scheme %> <%= u.port %> <%= u.path %> <%= u.user %> <%= u.password %> <%= u.query %>`,
			env: env, want: "app.example.com https 443 /base user pa%20ss q=1"},
		{name: "scheme compare", src: `<%= URI.parse(ENV["APP_URL"]).scheme == "https" %>`, env: env, want: "true"},
		{name: "ipv6 and port", src: `<% u = URI.parse(ENV["PLAIN"]) %><%= u.host %> <%= u.hostname %> <%= u.port %> [<%= u.path %>] <%= u.user.inspect %>`, env: env, want: "[::1] ::1 8080 [] nil"},
		{name: "to_s", src: `<%= URI.parse("http://a/b") %>`, want: "http://a/b"},
		{name: "invalid, value not shown", src: `<%= URI.parse(ENV["BAD"]).host %>`, env: map[string]string{"BAD": "http://u:s3cret@h h/"},
			err: `config/deploy.yml:1: bad URI (is not URI?) in URI.parse(ENV["BAD"])`},
	})
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDotenv(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".env"), "A=from_env_file\nB=b1\n")
	writeFile(t, filepath.Join(dir, ".env.local"), "B=b2\nC=\"c ${A}\"\n")
	t.Chdir(dir)

	e := &testEnv{vars: map[string]string{"A": "preset"}}
	out, err := Render([]byte(`<% require "dotenv"; Dotenv.load(".env") %><%= ENV["A"] %> <%= ENV["B"] %>`), e.options())
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "preset b1" {
		t.Fatalf("load: got %q", out)
	}
	if _, ok := e.set["A"]; ok || e.set["B"] != "b1" {
		t.Fatalf("load must set only unset variables, set %v", e.set)
	}

	e = &testEnv{vars: map[string]string{"A": "preset"}}
	out, err = Render([]byte(`<% Dotenv.overload(".env.local", ".env") %><%= ENV["A"] %> <%= ENV["B"] %>`), e.options())
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "from_env_file b2" {
		t.Fatalf("overload: got %q", out)
	}

	e = &testEnv{}
	out, err = Render([]byte(`<%= Dotenv.parse(".env") %> <%= Dotenv.load %> [<%= Dotenv.load("missing") %>]`), e.options())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"A" => "from_env_file", "B" => "b1"} {"A" => "from_env_file", "B" => "b1"} [{}]`; string(out) != want {
		t.Fatalf("parse: got %q want %q", out, want)
	}

	e = &testEnv{}
	out, err = Render([]byte(`<% require "dotenv/load" %><%= ENV["B"] %>`), e.options())
	if err != nil || string(out) != "b1" {
		t.Fatalf("dotenv/load: %q %v", out, err)
	}

	_, err = Render([]byte(`<% Dotenv.load!("missing") %>`), (&testEnv{}).options())
	if err == nil || err.Error() != "config/deploy.yml:1: No such file or directory @ rb_sysopen - missing" {
		t.Fatalf("load!: %v", err)
	}
}

// TestIssueSnippets renders each construct listed in issue 10.
func TestIssueSnippets(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, ".ruby-version"), "3.3.6\n")
	writeFile(t, filepath.Join(dir, ".redis-password"), "redispw")
	writeFile(t, filepath.Join(dir, ".env"), "FROM_DOTENV=yes\n")
	t.Chdir(dir)
	shell := func(cmd string) (string, error) {
		switch cmd {
		case "git rev-parse --short HEAD":
			return "abc1234\n", nil
		case "aws ecr get-login-password":
			return "ecr-token\n", nil
		}
		return "", errors.New("unexpected command " + cmd)
	}
	type snippet struct {
		name string
		src  string
		env  map[string]string
		want string
		err  string
	}
	cases := []snippet{
		{"starter template ruby version", `<%= ENV["RBENV_VERSION"] || ENV["rvm_ruby_string"] || "#{RUBY_ENGINE}-#{RUBY_ENGINE_VERSION}" %>`, nil, "ruby-3.3.6", ""},
		{"starter template with RBENV_VERSION", `<%= ENV["RBENV_VERSION"] || ENV["rvm_ruby_string"] || "#{RUBY_ENGINE}-#{RUBY_ENGINE_VERSION}" %>`, map[string]string{"RBENV_VERSION": "3.1.0"}, "3.1.0", ""},
		{"require dotenv and load", `<% require "dotenv"; Dotenv.load(".env") %><%= ENV["FROM_DOTENV"] %>`, nil, "yes", ""},
		{"require json", `<% require "json" %>ok`, nil, "ok", ""},
		{"read ruby-version", `<%= File.read('.ruby-version').strip %>`, nil, "3.3.6", ""},
		{"read from project root via __dir__", `<%= File.read(File.expand_path('.redis-password', __dir__)) %>`, nil, "redispw", ""},
		{"expand home", `<%= File.expand_path('~/.ssh/kamal_deploy') %>`, map[string]string{"HOME": "/home/me"}, "/home/me/.ssh/kamal_deploy", ""},
		{"fetch with raise block, set", `<%= ENV.fetch("SERVER_IP") { raise "Set SERVER_IP before deploying" } %>`, map[string]string{"SERVER_IP": "10.0.0.1"}, "10.0.0.1", ""},
		{"fetch with raise block, unset", "servers:\n  - <%= ENV.fetch(\"SERVER_IP\") { raise \"Set SERVER_IP before deploying\" } %>", nil, "", "config/deploy.yml:2: Set SERVER_IP before deploying"},
		{"fetch integer default", `<%= ENV.fetch("SOLID_QUEUE_SHUTDOWN_TIMEOUT", 86400) %>`, nil, "86400", ""},
		{"fetch integer default, set", `<%= ENV.fetch("SOLID_QUEUE_SHUTDOWN_TIMEOUT", 86400) %>`, map[string]string{"SOLID_QUEUE_SHUTDOWN_TIMEOUT": "30"}, "30", ""},
		{"review app slug, no PR", `<% pr = ENV["REVIEW_APP_PR_NUMBER"].to_s %>   <% pr = nil if pr.empty? %>   <% slug = pr ? "pr-#{pr}" : "sandbox" %><%= slug %>`, nil, "      sandbox", ""},
		{"review app slug, PR", `<% pr = ENV["REVIEW_APP_PR_NUMBER"].to_s %><% pr = nil if pr.empty? %><% slug = pr ? "pr-#{pr}" : "sandbox" %><%= slug %>`, map[string]string{"REVIEW_APP_PR_NUMBER": "42"}, "pr-42", ""},
		{"role and title", `<% slug = "pr-42" %><% role = "app_#{slug.tr("-", "_")}" %>        <% title = ENV.fetch("PR_TITLE", "").to_json %><%= role %> <%= title %>`, map[string]string{"PR_TITLE": `Fix "quotes" & stuff`}, `        app_pr_42 "Fix \"quotes\" & stuff"`, ""},
		{"empty title to_json", `<% title = ENV.fetch("PR_TITLE", "").to_json %><%= title %>`, nil, `""`, ""},
		{"uri", `<% app_uri = URI.parse(ENV["APP_URL"]) %>  <%= app_uri.host %>  <%= app_uri.scheme == "https" %>`, map[string]string{"APP_URL": "https://review.example.com"}, "  review.example.com  true", ""},
		{"git sha", "<%= `git rev-parse --short HEAD`.strip %>", nil, "abc1234", ""},
		{"password or ecr", "<%= ENV[\"PASSWORD\"] || `aws ecr get-login-password`.strip %>", nil, "ecr-token", ""},
		{"if CI", "<% if ENV[\"CI\"] -%>\n  ci: true\n<% else %>\n  ci: false\n<% end -%>\n", map[string]string{"CI": "1"}, "  ci: true\n", ""},
		{"if not CI", "<% if ENV[\"CI\"] -%>\n  ci: true\n<% else %>\n  ci: false\n<% end -%>\n", nil, "\n  ci: false\n", ""},
		{"each host", "hosts:\n<% %w[web-1 web-2].each do |host| %>  - <%= host %>\n<% end %>", nil, "hosts:\n  - web-1\n  - web-2\n", ""},
		{"each host inline", `<% %w[web-1 web-2].each do |host| %>  - <%= host %>  <% end %>`, nil, "  - web-1    - web-2  ", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &testEnv{vars: tc.env, dir: cfg, shell: shell}
			out, err := Render([]byte(tc.src), e.options())
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %q, %v; want error %q", out, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Fatalf("got %q, want %q", out, tc.want)
			}
		})
	}
}

func TestRenderDefaultsFile(t *testing.T) {
	_, err := Render([]byte("<%= nope %>"), Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "(erb):1: ") {
		t.Fatalf("got %v", err)
	}
}
