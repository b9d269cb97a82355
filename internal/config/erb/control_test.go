package erb

import (
	"bytes"
	"errors"
	"testing"
)

// TestControlFlow: case/when, loops, ranges, methods, constants and
// lambdas, with the results Ruby gives.
func TestControlFlow(t *testing.T) {
	runCases(t, []renderCase{
		{name: "case when", src: "<% case ENV['STAGE'] %><% when 'production', 'prod' %>p<% when /^stag/ %>s<% when nil %>none<% else %>other<% end %>",
			env: map[string]string{"STAGE": "staging"}, want: "s"},
		{name: "case when list", src: "<% case ENV['STAGE'] -%>\n<% when 'production', 'prod' -%>\np\n<% else -%>\no\n<% end -%>\n", env: map[string]string{"STAGE": "prod"}, want: "p\n"},
		{name: "case value", src: `<%= case 7 when 1..5 then "low" when 6.. then "high" end %> <%= case "x" when String then "str" when Integer then "int" end %>`, want: "high str"},
		{name: "case without subject", src: `<% n = 3 %><%= case when n < 2 then "a" when n < 5 then "b" else "c" end %>`, want: "b"},
		{name: "case splat and lambda", src: `<% ROLES = %w[web job] %><%= case "job" when *ROLES then "known" else "no" end %> <%= case 4 when ->(x) { x.even? } then "even" end %>`, want: "known even"},
		{name: "case no match", src: `[<%= case 1 when 2 then "x" end %>]`, want: "[]"},
		{name: "while", src: `<% i = 0 %><% while i < 3 %><%= i %><% i += 1 %><% end %>`, want: "012"},
		{name: "until and modifiers", src: `<% i = 0; i += 1 until i == 4 %><%= i %> <% j = 1; j *= 2 while j < 100 %><%= j %>`, want: "4 128"},
		{name: "while do break next", src: `<% i = 0; out = [] %><% while true do i += 1; next if i.odd?; break if i > 6; out << i end %><%= out %>`, want: "[2, 4, 6]"},
		{name: "loop and break value", src: `<% i = 0 %><%= loop do i += 1; break i * 10 if i == 3 end %>`, want: "30"},
		{name: "break in each", src: `<%= [1, 2, 3, 4].each { |x| break x if x > 2 } %> <%= [1, 2].map { |x| next 0 if x == 1; x } %>`, want: "3 [0, 2]"},
		{name: "for in", src: `<% for h in %w[a b] do %><%= h %><% end %> <% for k, v in {x: 1} %><%= k %>=<%= v %><% end %> <%= h %>`, want: "ab x=1 b"},
		{name: "ranges", src: `<%= (1..3).to_a %> <%= (1...3).to_a %> <%= ("a".."e").to_a.join %> <%= (1..10).step(3).to_a %> <%= (1..4).sum %> <%= (1..4).map { |i| i * i } %>`,
			want: `[1, 2, 3] [1, 2] abcde [1, 4, 7, 10] 10 [1, 4, 9, 16]`},
		{name: "range printing", src: `<%= (1..3) %> <%= (1...3).inspect %> <%= ("a".."c").inspect %> <%= (1..) %>`, want: `1..3 1...3 "a".."c" 1..`},
		{name: "range queries", src: `<%= (1..10).include?(5) %> <%= (1...10).cover?(10) %> <%= (1.0..2.0).include?(1.5) %> <%= ("a".."z").cover?("m") %> <%= (1..10).size %> <%= (1..3).first(2) %> <%= (1..3).last %> <%= (1...3).max %> <%= (1..).first(2) %>`,
			want: "true false true true 10 [1, 2] 3 2 [1, 2]"},
		{name: "range each", src: `<% (1..3).each do |i| %>[<%= i %>]<% end %><% (1..3).each_with_index { |v, i| %><%= v * i %><% } %>`, want: "[1][2][3]026"},
		{name: "string slices", src: `<% s = "abcdef" %><%= s[1..3] %> <%= s[1...3] %> <%= s[2..] %> <%= s[-3..] %> <%= s[1..-2] %> [<%= s[6..] %>] <%= s[7..].inspect %> <%= s[..1] %>`,
			want: "bcd bc cdef def bcde [] nil ab"},
		{name: "array slices", src: `<% a = %w[a b c d] %><%= a[1..2] %> <%= a[1..] %> <%= a[-2..] %> <%= a[1, 2] %> <%= a[5..].inspect %> <%= a[4..] %>`, want: `["b", "c"] ["b", "c", "d"] ["c", "d"] ["b", "c"] nil []`},
		{name: "string succ", src: `<%= "az".succ %> <%= "zz".succ %> <%= "a9".succ %> <%= "Zz".succ %> <%= "1.9".succ %> <%= ("web-1".."web-3").to_a %>`, want: `ba aaa b0 AAa 2.0 ["web-1", "web-2", "web-3"]`},
		{name: "def", src: "<% def host(n, domain = \"example.com\") -%>\n<%   \"web-#{n}.#{domain}\" -%>\n<% end -%>\n<%= host(1) %> <%= host 2, \"x.io\" %>", want: "web-1.example.com web-2.x.io"},
		{name: "def with return and keywords", src: `<% def pick(list, first: true) return list.first if first; list.last end %><%= pick([1, 2]) %> <%= pick([1, 2], first: false) %>`, want: "1 2"},
		{name: "def endless and recursion", src: `<% def fact(n) = n <= 1 ? 1 : n * fact(n - 1) %><%= fact(10) %>`, want: "3628800"},
		{name: "def with block and yield", src: `<% def each_host; yield "a"; yield "b"; end %><% each_host do |h| %><%= h %>;<% end %> <% def twice(&blk) = [blk.call(1), blk.call(2)] %><%= twice { |x| x * 10 } %>`, want: "a;b; [10, 20]"},
		{name: "def returns a symbol", src: `<%= def f; end %> <%= (def g = 1).inspect %>`, want: "f :g"},
		{name: "method has its own locals", src: `<% x = 1 %><% def f = x %><%= f %>`, err: "config/deploy.yml:1: undefined local variable or method 'x' for main"},
		{name: "method argument count", src: "\n<% def f(a, b = 1) = a %><%= f %>", err: "config/deploy.yml:2: wrong number of arguments (given 0, expected 1..2)"},
		{name: "deep recursion", src: `<% def f(n) = f(n + 1) %><%= f(0) %>`, err: "config/deploy.yml:1: stack level too deep"},
		{name: "constants", src: "<% HOSTS = %w[a b] -%>\n<% def hosts = HOSTS.map { |h| \"#{h}.io\" } -%>\n<%= hosts %> <%= HOSTS.size %>", want: `["a.io", "b.io"] 2`},
		{name: "lambdas", src: `<% sq = ->(x) { x * x }; add = lambda { |a, b = 1| a + b }; p1 = proc { |a, b| [a, b] } %><%= sq.(3) %> <%= sq.call(4) %> <%= sq[5] %> <%= add.(1) %> <%= p1.call(1) %> <%= p1.call([2, 3]) %> <%= [1, 2].map(&sq) %> <%= sq.lambda? %> <%= add.arity %>`,
			want: "9 16 25 2 [1, nil] [2, 3] [1, 4] true -2"},
		{name: "lambda closure", src: `<% n = 10; f = -> { n + 1 }; n = 20 %><%= f.call %> <% counter = 0; inc = -> { counter += 1 }; inc.(); inc.() %><%= counter %>`, want: "21 2"},
		{name: "lambda arity error", src: `<% f = ->(x) { x } %><%= f.call(1, 2) %>`, err: "config/deploy.yml:1: wrong number of arguments (given 2, expected 1)"},
		{name: "lambda do return", src: `<% f = ->(x) do return x * 2 if x > 0; 0 end %><%= f.(2) %> <%= f.(-1) %>`, want: "4 0"},
		{name: "splat arguments", src: `<% args = ["%s-%s", "a", "b"] %><%= format(*args) %> <% def sum_all(*xs) = xs.sum %><%= sum_all(1, 2, 3) %> <%= sum_all(*[4, 5]) %>`, want: "a-b 6 9"},
		{name: "defined? values", src: `<% x = 1 %><%= defined?(x) %> <%= defined?(y).inspect %> <%= defined?(HOSTS).inspect %> <%= defined?(ENV) %> <%= defined?(puts) %> <%= defined?(String) %> <%= defined?(x = 2) %> <%= defined?("a".upcase) %>`,
			want: "local-variable nil nil constant method constant assignment method"},
		{name: "__FILE__ and __LINE__", src: "<%= __FILE__ %>\n<%= __LINE__ %>", want: "(erb)\n2"},
		{name: "match globals", src: `<% if "web-42" =~ /(\w+)-(\d+)/ %><%= $1 %> <%= $2.to_i + 1 %> <%= $~[0] %><% end %> <% m = "v1.2".match(/v(?<major>\d+)\.(?<minor>\d+)/) %><%= m[:major] %> <%= m["minor"] %> <%= m.captures %> <%= m.pre_match.inspect %>`,
			want: `web 43 web-42 1 2 ["1", "2"] ""`},
		{name: "case sets match", src: `<% case "db-7" when /(\d+)/ %><%= $1 %><% end %>`, want: "7"},
		{name: "is_a", src: `<%= 1.is_a?(Numeric) %> <%= 1.5.is_a?(Float) %> <%= [].is_a?(Enumerable) %> <%= "x".is_a?(Comparable) %> <%= nil.is_a?(Object) %> <%= 1.instance_of?(Numeric) %> <%= (1..2).class %>`,
			want: "true true true true true false Range"},
		{name: "break outside a loop", src: "\n<% break %>", err: "config/deploy.yml:2: unexpected break"},
		{name: "yield without block", src: `<% def f = yield %><%= f %>`, err: "config/deploy.yml:1: no block given (yield)"},
	})
}

// TestConstantRedefinitionWarns: Ruby warns, naming the pseudo-file
// "(erb)" that Kamal's ERB evaluates under, and goes on.
func TestConstantRedefinitionWarns(t *testing.T) {
	var stderr bytes.Buffer
	opts := (&testEnv{}).options()
	opts.Stderr = &stderr
	out, err := Render([]byte("<% A = 1 %>\n<% A = 2 %><%= A %>"), opts)
	if err != nil || string(out) != "\n2" {
		t.Fatalf("got %q, %v", out, err)
	}
	want := "(erb):2: warning: already initialized constant A\n(erb):1: warning: previous definition of A was here\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}

// TestRunawayStructures: a structure that shares itself exponentially is
// cheap to build but must not hang printing, comparing or flattening it.
func TestRunawayStructures(t *testing.T) {
	build := "<% a = [1]; 40.times { a = [a, a] }; b = [1]; 40.times { b = [b, b] } %>\n"
	for _, tail := range []string{"<%= a %>", "<%= a == b %>", "<%= a.flatten.size %>", "<%= a.join %>", "<%= a.to_json %>", "<%= [a, b].uniq.size %>"} {
		_, err := Render([]byte(build+tail), (&testEnv{}).options())
		var e *Error
		if !errors.As(err, &e) || e.Line != 2 {
			t.Errorf("%s: got %v, want an error at line 2", tail, err)
		}
	}
}

// TestImplicitBlockParams: numbered parameters and Ruby 3.4's it.
func TestImplicitBlockParams(t *testing.T) {
	runCases(t, []renderCase{
		{name: "it", src: `<%= [1, 2].map { it * 2 } %> <%= %w[a b].map { it.upcase } %>`, want: `[2, 4] ["A", "B"]`},
		{name: "numbered", src: `<%= [1, 2].map { _1 + 1 } %> <%= {a: 1}.map { "#{_1}=#{_2}" } %> <%= [[1, 2]].map { _1 } %>`, want: `[2, 3] ["a=1"] [[1, 2]]`},
		{name: "nested", src: `<%= [[1, 2], [3]].map { it.map { it * 10 } } %>`, want: "[[10, 20], [30]]"},
	})
}
