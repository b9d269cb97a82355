package erb

import "testing"

// TestFormat: Kernel#format, sprintf and String#% as Ruby documents them.
func TestFormat(t *testing.T) {
	runCases(t, []renderCase{
		{name: "strings and integers", src: `<%= format("%s-%03d", "web", 7) %> <%= sprintf("%5s|%-5s|", "a", "b") %> <%= "%d%%" % 50 %>`, want: "web-007     a|b    | 50%"},
		{name: "String#% with an array", src: `<%= "%s:%s" % ["host", 22] %>`, want: "host:22"},
		{name: "floats", src: `<%= "%.2f" % 3.14159 %> <%= "%05.1f" % 2.25 %> <%= "%+.1f" % 1 %> <%= "%e" % 12345.678 %> <%= "%g" % 0.0001 %> <%= "%g" % 123456789.0 %> <%= "%.3g" % 2.0 %>`,
			want: "3.14 002.2 +1.0 1.234568e+04 0.0001 1.23457e+08 2"},
		{name: "bases", src: `<%= "%x %X %o %b %#x %#o %08b" % [255, 255, 8, 5, 255, 8, 5] %>`, want: "ff FF 10 101 0xff 010 00000101"},
		{name: "integer conversions", src: `<%= "%d" % 3.99 %> <%= "%d" % -3.99 %> <%= "%d" % "0x1f" %> <%= "%+d % d" % [5, 5] %> <%= "%.3d" % 7 %>`, want: "3 -3 31 +5  5 007"},
		{name: "named", src: `<%= format("%<host>s:%<port>05d", host: "db", port: 42) %> <%= "%{a}-%{b}" % {a: 1, b: "x"} %>`, want: "db:00042 1-x"},
		{name: "positional and star", src: `<%= format("%2$s %1$s", "a", "b") %> <%= format("%*d|%-*d|", 4, 1, 3, 2) %> <%= format("%.*f", 1, 2.55) %>`, want: "b a    1|2  | 2.5"},
		{name: "inspect and char", src: `<%= format("%p %c %c", [nil, "a"], 65, "xyz") %> <%= format("%.2s", "abc") %>`, want: `[nil, "a"] A x ab`},
		{name: "too few arguments", src: `<%= format("%s %s", 1) %>`, err: "config/deploy.yml:1: too few arguments"},
		{name: "bad integer", src: `<%= format("%d", "abc") %>`, err: `config/deploy.yml:1: invalid value for Integer(): "abc"`},
		{name: "nil to float", src: `<%= format("%f", nil) %>`, err: "config/deploy.yml:1: can't convert nil into Float"},
		{name: "missing key", src: `<%= format("%{x}", y: 1) %>`, err: "config/deploy.yml:1: key<x> not found"},
	})
}
