package erb

import (
	"errors"
	"testing"
)

// TestErrorKinds checks the Ruby class each error carries, which kamal
// prints as `ERROR (<Class>)`, and Ruby 3.4's wording of the message.
func TestErrorKinds(t *testing.T) {
	cases := []struct{ src, class, msg string }{
		{`<%= ENV["NOPE"].upcase %>`, "NoMethodError", "undefined method 'upcase' for nil"},
		{`<%= nope %>`, "NameError", "undefined local variable or method 'nope' for main"},
		{`<%= ENV.fetch("NOPE") %>`, "KeyError", `key not found: "NOPE"`},
		{`<%= {a: 1}.fetch(:b) %>`, "KeyError", "key not found: :b"},
		{`<%= Integer("x1") %>`, "ArgumentError", `invalid value for Integer(): "x1"`},
		{`<%= 1 / 0 %>`, "ZeroDivisionError", "divided by 0"},
		{`<%= "a" + 1 %>`, "TypeError", "no implicit conversion of Integer into String"},
		{`<%= 1 + nil %>`, "TypeError", "nil can't be coerced into Integer"},
		{`<% raise "stop" %>`, "RuntimeError", "stop"},
		{`<% raise ArgumentError, "bad" %>`, "ArgumentError", "bad"},
		{`<% raise KeyError %>`, "KeyError", "KeyError"},
		{`<% raise String, "x" %>`, "TypeError", "exception class/object expected"},
		{`<%= File.read("no-such-file") %>`, "Errno::ENOENT", "No such file or directory @ rb_sysopen - no-such-file"},
		{`<%= URI.parse(nil) %>`, "URI::InvalidURIError", "bad URI (is not URI?): nil"},
		{`<%= JSON.parse("{") %>`, "JSON::ParserError", "unexpected end of input"},
		{`<%= Rails.env %>`, "RuntimeError", "unsupported Ruby in ERB: Rails.env"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Render([]byte(tc.src), (&testEnv{}).options())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			if e.Kind() != tc.class || e.Message != tc.msg || e.Line != 1 || e.File != "config/deploy.yml" {
				t.Fatalf("got %s: %q at %s:%d, want %s: %q", e.Kind(), e.Message, e.File, e.Line, tc.class, tc.msg)
			}
		})
	}
}
