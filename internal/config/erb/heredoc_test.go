package erb

import "testing"

// TestHeredocs: the three heredoc forms, quoting, and several on a line,
// with Ruby's results.
func TestHeredocs(t *testing.T) {
	runCases(t, []renderCase{
		{name: "squiggly", src: "<%\n  script = <<~SH\n    echo #{1 + 1}\n      indented\n\n    done\n  SH\n%><%= script %>", want: "echo 2\n  indented\n\ndone\n"},
		{name: "dash keeps indentation", src: "<% s = <<-EOS\n  a\n    b\n  EOS\n%><%= s.inspect %>", want: `"  a\n    b\n"`},
		{name: "plain", src: "<% s = <<EOS\nx \\t y\nEOS\n%><%= s.inspect %>", want: `"x \t y\n"`},
		{name: "single quoted is raw", src: "<% s = <<~'EOS'\n  #{x} \\n\n  EOS\n%><%= s %>", want: "#{x} \\n\n"},
		{name: "method on the marker", src: "<%= <<~EOS.strip.upcase\n  hello\nEOS\n%>", want: "HELLO"},
		{name: "two on a line", src: "<% a, b = nil %><% x = [<<~A, <<~B]\n  one\nA\n  two\nB\n%><%= x %>", err: "config/deploy.yml:1: unsupported Ruby in ERB: a, b = nil"},
		{name: "two on a line as arguments", src: "<% x = [<<~A, <<~B]\n  one\nA\n  two\nB\n%><%= x %>", want: `["one\n", "two\n"]`},
		{name: "code after the body", src: "<%\n  s = <<~EOS\n    a\n  EOS\n  t = s * 2\n%><%= t %>", want: "a\na\n"},
		{name: "error line after a heredoc", src: "<%\n  s = <<~EOS\n    a\n  EOS\n  boom\n%>", err: "config/deploy.yml:5: undefined local variable or method 'boom' for main"},
		{name: "error inside the body", src: "<%\n  s = <<~EOS\n    a\n    #{boom}\n  EOS\n%>", err: "config/deploy.yml:4: undefined local variable or method 'boom' for main"},
		{name: "shift operator is not a heredoc", src: "<% a = []; a << 1; a <<2 %><%= a %>", want: "[1, 2]"},
		{name: "no terminator", src: "<% s = <<~EOS\n  a\n%>", err: "config/deploy.yml:1: unsupported Ruby in ERB: <<~EOS"},
	})
}
