package erb

import "testing"

// TestStringMethods: the String methods configs use, with the results
// Ruby (and ActiveSupport, for truncate) document.
func TestStringMethods(t *testing.T) {
	runCases(t, []renderCase{
		{name: "center ljust rjust", src: `<%= "hello".center(20, "123") %>|<%= "hello".ljust(8, ".") %>|<%= "7".rjust(3, "0") %>|<%= "hello".center(4) %>|<%= "ab".center(6) %>|`,
			want: "1231231hello12312312|hello...|007|hello|  ab  |"},
		{name: "index rindex", src: `<%= "hello".index("l") %> <%= "hello".index("l", 3) %> <%= "hello".rindex("l") %> <%= "hello".index(/l+/) %> <%= "hello".index("z").inspect %> <%= "héllo".index("l") %>`,
			want: "2 3 3 2 nil 2"},
		{name: "scan", src: `<%= "a1b22c333".scan(/\d+/) %> <%= "k1=v1,k2=v2".scan(/(\w+)=(\w+)/) %> <% "ab".scan(/./) { |c| %><%= c.upcase %><% } %> <%= "a.b.c".scan(".").size %>`,
			want: `["1", "22", "333"] [["k1", "v1"], ["k2", "v2"]] AB 2`},
		{name: "squeeze", src: `<%= "aaabbbccc".squeeze %>|<%= "now   is  the".squeeze(" ") %>|<%= "putters shoot balls".squeeze("m-z") %>`, want: "abc|now is the|puters shot balls"},
		{name: "each_char and chars", src: `<%= "abc".each_char.to_a %> <% "ab".each_char { |c| %><%= c %>-<% } %>`, want: `["a", "b", "c"] a-b-`},
		{name: "partition", src: `<%= "host:port".partition(":") %> <%= "a.b.c".rpartition(".") %> <%= "abc".partition("x") %>`, want: `["host", ":", "port"] ["a.b", ".", "c"] ["abc", "", ""]`},
		{name: "hex oct ord", src: `<%= "ff".hex %> <%= "0x1A".hex %> <%= "777".oct %> <%= "0x1f".oct %> <%= "a".ord %> <%= "zz".hex %>`, want: "255 26 511 31 97 0"},
		{name: "truncate", src: `<% s = "Once upon a time in a world far far away" %><%= s.truncate(27) %>|<%= s.truncate(27, separator: " ") %>|<%= "And they found that many people were sleeping better.".truncate(25, omission: "... (continued)") %>|<%= "short".truncate(10) %>`,
			want: "Once upon a time in a wo...|Once upon a time in a...|And they f... (continued)|short"},
		{name: "match", src: `<%= "v1.2.3".match(/v(\d+)/)[1] %> <%= "abc".match("b.").to_s %> <%= "abc".match(/z/).inspect %> <%= "abc".match?("b.") %>`, want: "1 bc nil true"},
	})
}

// TestArrayMethods: Array and Enumerable methods as Ruby documents them.
func TestArrayMethods(t *testing.T) {
	runCases(t, []renderCase{
		{name: "zip", src: `<%= [1, 2, 3].zip([4, 5, 6], [7, 8]) %> <%= %w[a b].zip(1..2).to_h %>`, want: `[[1, 4, 7], [2, 5, 8], [3, 6, nil]] {"a" => 1, "b" => 2}`},
		{name: "reduce inject", src: `<%= (1..5).reduce(:+) %> <%= [1, 2, 3].inject { |s, x| s * x } %> <%= [1, 2].reduce(10) { |s, x| s + x } %> <%= %w[a b].inject("x", :+) %> <%= [].reduce(:+).inspect %>`, want: "15 6 13 xab nil"},
		{name: "each_slice each_cons", src: `<%= (1..7).each_slice(3).to_a %> <%= [1, 2, 3, 4].each_cons(2).to_a %> <%= [1, 2, 3].each_slice(2).map(&:sum) %>`, want: "[[1, 2, 3], [4, 5, 6], [7]] [[1, 2], [2, 3], [3, 4]] [3, 3]"},
		{name: "group_by tally partition", src: `<%= %w[apple avocado banana].group_by { |w| w[0] } %> <%= %w[a b a c a].tally %> <%= [1, 2, 3, 4].partition(&:even?) %>`,
			want: `{"a" => ["apple", "avocado"], "b" => ["banana"]} {"a" => 3, "b" => 1, "c" => 1} [[2, 4], [1, 3]]`},
		{name: "to_h each_with_object", src: `<%= [["a", 1], ["b", 2]].to_h %> <%= %w[a b].to_h { |x| [x, x.upcase] } %> <%= %w[a bb].each_with_object({}) { |x, h| h[x] = x.size } %>`,
			want: `{"a" => 1, "b" => 2} {"a" => "A", "b" => "B"} {"a" => 1, "bb" => 2}`},
		{name: "with_index", src: `<%= %w[a b c].each_with_index.map { |x, i| "#{i}:#{x}" } %> <%= %w[a b].map.with_index(1) { |x, i| "#{i}.#{x}" } %> <%= %w[a b c].select.with_index { |x, i| i.even? } %> <% %w[x y].each.with_index(1) do |h, i| %><%= i %><%= h %><% end %>`,
			want: `["0:a", "1:b", "2:c"] ["1.a", "2.b"] ["a", "c"] 1x2y`},
		{name: "sort_by min_by max_by", src: `<%= [3, 1, 2].sort_by { |x| -x } %> <%= %w[aa b ccc].max_by(&:size) %> <%= %w[aa b ccc].min_by(&:size) %> <%= [3, 1, 2].sort { |a, b| b <=> a } %> <%= [1, 2, 2, 3].uniq { |x| x.odd? } %>`,
			want: `[3, 2, 1] ccc b [3, 2, 1] [1, 2]`},
		{name: "misc", src: `<%= %w[a b c d].values_at(0, 2, 5) %> <%= [1, 2, 3].rotate %> <%= [1, 2] * "," %> <%= [1, 2] & [2, 3] %> <%= [1, 2] | [2, 3] %> <%= [[1, [2, [3]]]].flatten(1) %> <%= [1, 2, 3].take_while { |x| x < 3 } %> <%= [5, 3, 9].min(2) %> <%= [1, 2, 3].drop(1) %> <%= [nil, 1].all? %> <%= [1, 2, 3].find_index { |x| x > 1 } %> <%= [1, 2].minmax %>`,
			want: `["a", "c", nil] [2, 3, 1] 1,2 [2] [1, 2, 3] [1, [2, [3]]] [1, 2] [3, 5] [2, 3] false 1 [1, 2]`},
		{name: "mutation", src: `<% a = [1, 2, 3] %><%= a.pop %> <%= a.shift %> <% a.unshift(0); a.insert(1, 5) %><%= a %> <%= a.delete(5) %> <%= a %>`, want: "3 1 [0, 5, 2] 5 [0, 2]"},
	})
}

// TestHashMethods: Hash methods, with ActiveSupport's that Kamal loads.
func TestHashMethods(t *testing.T) {
	runCases(t, []renderCase{
		{name: "transform", src: `<%= {a: 1, b: 2}.transform_values { |v| v * 10 } %> <%= {a: 1}.transform_keys(&:to_s) %>`, want: `{a: 10, b: 20} {"a" => 1}`},
		{name: "slice except compact", src: `<% h = {a: 1, b: 2, c: 3} %><%= h.slice(:a, :c) %> <%= h.except(:b) %> <%= {a: 1, b: nil}.compact %> <%= {a: 1}.key(1).inspect %> <%= {a: 1}.invert %> <%= h.values_at(:a, :z) %>`,
			want: `{a: 1, c: 3} {a: 1, c: 3} {a: 1} :a {1 => :a} [1, nil]`},
		{name: "enumerable on pairs", src: `<% h = {a: 1, b: 2} %><%= h.sort_by { |k, v| -v } %> <%= h.min_by { |k, v| v } %> <%= h.sum { |k, v| v } %> <%= h.count { |k, v| v > 1 } %> <%= h.find { |k, v| v > 1 } %> <%= h.reduce(0) { |s, (k, v)| s + v } %>`,
			want: `[[:b, 2], [:a, 1]] [:a, 1] 3 1 [:b, 2] 3`},
		{name: "destructuring", src: `<% h = {a: 1, b: 2} %><%= h.each_with_object({}) { |(k, v), out| out[v] = k } %> <%= h.each_with_index.map { |(k, v), i| "#{i}#{k}#{v}" } %> <%= h.to_h { |k, v| [k.to_s, v] } %> <%= h.group_by { |k, v| v.odd? } %>`,
			want: `{1 => :a, 2 => :b} ["0a1", "1b2"] {"a" => 1, "b" => 2} {true => [[:a, 1]], false => [[:b, 2]]}`},
		{name: "merges", src: `<%= {a: {b: 1, c: 2}}.deep_merge(a: {c: 3}) %> <%= {"a" => 1}.symbolize_keys %> <%= {a: 1}.merge({a: 2}) { |k, o, n| o + n } %> <%= {a: 1}.reverse_merge(a: 2, b: 3) %> <%= {a: {b: 1}}.deep_stringify_keys %>`,
			want: `{a: {b: 1, c: 3}} {a: 1} {a: 3} {a: 1, b: 3} {"a" => {"b" => 1}}`},
		{name: "mutation", src: `<% h = {a: 1, b: 2} %><%= h.delete(:a) %> <%= h %> <% h.store(:c, 3); h.merge!(d: 4) %><%= h %>`, want: "1 {b: 2} {b: 2, c: 3, d: 4}"},
	})
}

// TestENVCollections: ENV.to_h and kin see the variables ENV[] sees.
func TestENVCollections(t *testing.T) {
	env := map[string]string{"APP_HOST": "h1", "APP_PORT": "80", "OTHER": "x"}
	runCases(t, []renderCase{
		{name: "to_h", src: `<%= ENV.to_h %>`, env: env, want: `{"APP_HOST" => "h1", "APP_PORT" => "80", "OTHER" => "x"}`},
		{name: "values_at", src: `<%= ENV.values_at("APP_HOST", "NOPE") %>`, env: env, want: `["h1", nil]`},
		{name: "select", src: `<%= ENV.select { |k, _| k.start_with?("APP_") }.keys %> <%= ENV.to_h.slice("OTHER") %> <%= ENV.keys.size %>`, env: env, want: `["APP_HOST", "APP_PORT"] {"OTHER" => "x"} 3`},
		{name: "set while rendering", src: `<% ENV["NEW"] = "n" %><%= ENV.to_h["NEW"] %>`, env: env, want: "n"},
	})
}
