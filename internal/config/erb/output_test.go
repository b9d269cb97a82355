package erb

import (
	"bytes"
	"testing"
)

// TestPutsAndWarn: output goes to the terminal (Stdout, Stderr), never
// into the rendered text, written as Ruby's puts, print, p and warn do.
func TestPutsAndWarn(t *testing.T) {
	cases := []struct{ name, src, out, stdout, stderr string }{
		{name: "puts", src: "a: 1\n<% puts \"loading\" %>b: 2\n", out: "a: 1\nb: 2\n", stdout: "loading\n"},
		{name: "puts forms", src: `<% puts; puts "x\n"; puts ["a", ["b", nil]], 1; puts [] %>`, stdout: "\nx\na\nb\n\n1\n\n"},
		{name: "print and p", src: `<% print "a", 1, nil %><%= p("s", 2).inspect %>|<%= p %>`, out: `["s", 2]|`, stdout: "a1\"s\"\n2\n"},
		{name: "warn", src: `<% warn "deprecated: use X"; warn; warn "a", "b", uplevel: 0 %>`, stderr: "deprecated: use X\na\nb\n"},
		{name: "streams", src: `<% $stderr.puts "e1"; STDERR.print "e2\n"; $stdout.puts "o"; $stderr.write("w") %><%= $stdout.inspect %>`, out: "#<IO:<STDOUT>>", stdout: "o\n", stderr: "e1\ne2\nw"},
		{name: "puts returns nil", src: `[<%= puts("x").inspect %>]`, out: "[nil]", stdout: "x\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			opts := (&testEnv{}).options()
			opts.Stdout, opts.Stderr = &stdout, &stderr
			out, err := Render([]byte(tc.src), opts)
			if err != nil || string(out) != tc.out || stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Fatalf("got %q, %v, stdout %q, stderr %q; want %q, stdout %q, stderr %q", out, err, stdout.String(), stderr.String(), tc.out, tc.stdout, tc.stderr)
			}
		})
	}
}
