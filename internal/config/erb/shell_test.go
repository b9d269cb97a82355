package erb

import (
	"bytes"
	"errors"
	"testing"
)

// TestBacktickDefaultShell runs real commands: as in Ruby, a command that
// exits non-zero does not raise; its output is the value, its standard
// error reaches the terminal and $? holds its status.
func TestBacktickDefaultShell(t *testing.T) {
	cases := []struct {
		name, src, want, stderr, err string
	}{
		{name: "output", src: "<%= `echo hi`.strip %> <%= %x(printf abc) %> <%= `printf 'a\\nb\\n'`.chomp %>", want: "hi abc a\nb"},
		{name: "success status", src: "<% `true` %><%= $?.success? %> <%= $?.exitstatus %> <%= $?.to_i %>", want: "true 0 0"},
		{name: "non-zero exit goes on", src: "x\n<%= `echo partial; echo oops >&2; exit 3` %>|<%= $?.exitstatus %>|<%= $?.success? %>|<%= $?.to_i %>",
			want: "x\npartial\n|3|false|768", stderr: "oops\n"},
		{name: "git describe outside a repository", src: "version: <%= `cd / && git describe --tags 2>/dev/null`.strip.presence || \"dev\" %>", want: "version: dev"},
		{name: "exit builtin", src: "[<%= `exit 2` %>] <%= $?.exitstatus %>", want: "[] 2"},
		{name: "no command yet", src: "<%= $?.inspect %>", want: "nil"},
		{name: "missing program in shell syntax", src: "[<%= `no-such-program-kamal 2>/dev/null` %>] <%= $?.exitstatus %>", want: "[] 127"},
		{name: "missing program run directly", src: "\n<%= `no-such-program-kamal --version` %>", err: "config/deploy.yml:2: No such file or directory - no-such-program-kamal"},
		{name: "status inspect", src: "<% `exit 1` %><%= $?.inspect.sub(/pid \\d+/, 'pid N') %> <%= $?.to_s.sub(/\\d+/, 'N') %>",
			want: "#<Process::Status: pid N exit 1> pid N exit 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			out, err := Render([]byte(tc.src), Options{File: "config/deploy.yml", Stderr: &stderr})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %q, %v; want error %q", out, err, tc.err)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Fatalf("got %q, %v; want %q", out, err, tc.want)
			}
			if stderr.String() != tc.stderr {
				t.Fatalf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}

// exitError is a custom Shell's way to say the command ran and failed.
type exitError struct{ code int }

func (e exitError) Error() string { return "exit" }
func (e exitError) ExitCode() int { return e.code }

func TestBacktickCustomShell(t *testing.T) {
	t.Run("interpolation", func(t *testing.T) {
		var ran []string
		e := &testEnv{shell: func(cmd string) (string, error) {
			ran = append(ran, cmd)
			return "out:" + cmd + "\n", nil
		}, vars: map[string]string{"REF": "main"}}
		out, err := Render([]byte("<%= `git rev-parse #{ENV['REF']}`.strip %>"), e.options())
		if err != nil || string(out) != "out:git rev-parse main" || len(ran) != 1 {
			t.Fatalf("got %q, %v, ran %v", out, err, ran)
		}
	})
	t.Run("short circuit skips the command", func(t *testing.T) {
		e := &testEnv{vars: map[string]string{"PASSWORD": "pw"}}
		out, err := Render([]byte("<%= ENV[\"PASSWORD\"] || `aws ecr get-login-password`.strip %>"), e.options())
		if err != nil || string(out) != "pw" {
			t.Fatalf("got %q, %v", out, err)
		}
	})
	t.Run("exit status", func(t *testing.T) {
		e := &testEnv{shell: func(cmd string) (string, error) { return "half\n", exitError{128} }}
		out, err := Render([]byte("<%= `git describe`.strip %> <%= $?.success? %> <%= $?.exitstatus %>"), e.options())
		if err != nil || string(out) != "half false 128" {
			t.Fatalf("got %q, %v", out, err)
		}
	})
	t.Run("command that cannot run", func(t *testing.T) {
		e := &testEnv{shell: func(cmd string) (string, error) { return "", errors.New("boom") }}
		_, err := Render([]byte("<%= `x` %>"), e.options())
		if err == nil || err.Error() != "config/deploy.yml:1: command `x` failed: boom" {
			t.Fatalf("got %v", err)
		}
	})
}
