package commands

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kamalgo/kamal/internal/shell"
)

func TestAuditor(t *testing.T) {
	cfg := loadConfig(t, baseYAML, "")
	staging := loadConfig(t, baseYAML, "staging")
	tests := []struct {
		name string
		cmd  Cmd
		want string
	}{
		// Difference: Kamal writes the same line with echo "…" (see
		// TestAuditLineBytes for the bytes both leave in the file).
		{"record", NewAuditor(cfg, "dev@example.com", at).Record("Booted app version 999", Tag{"role", "web"}),
			`/usr/bin/env mkdir -p .kamal && printf '%s\n' "[2026-11-26T04:05:57Z] [dev@example.com] [web] Booted app version 999" >> .kamal/app-audit.log`},
		{"record with destination", NewAuditor(staging, "dev@example.com", at).Record("Pruned images"),
			`/usr/bin/env mkdir -p .kamal && printf '%s\n' "[2026-11-26T04:05:57Z] [dev@example.com] [staging] Pruned images" >> .kamal/app-staging-audit.log`},
		{"escaping", NewAuditor(cfg, "dev", at).Record("Executed cmd 'echo $HOME \"x\" `id`' on 1.1.1.1"),
			"/usr/bin/env mkdir -p .kamal && printf '%s\\n' \"[2026-11-26T04:05:57Z] [dev] Executed cmd 'echo \\$HOME \\\"x\\\" \\`id\\`' on 1.1.1.1\" >> .kamal/app-audit.log"},
		{"reveal", NewAuditor(cfg, "dev", at).Reveal(), "/usr/bin/env tail -n 50 .kamal/app-audit.log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shell.Command(tt.cmd...); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestAuditLineSkipsEmptyTags(t *testing.T) {
	a := NewAuditor(loadConfig(t, baseYAML, ""), "", at)
	if got, want := a.Line("msg", Tag{"role", ""}), "[2026-11-26T04:05:57Z] msg"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAuditLineBytes runs Record under dash and bash and checks the file
// holds one line with the bytes Kamal's `echo "…"` leaves under bash:
// backslash escapes of Ruby's String#dump stay as text, so a message
// cannot forge a second line (dash's echo would read \n as a newline and
// stop at \c).
func TestAuditLineBytes(t *testing.T) {
	cfg := loadConfig(t, baseYAML, "")
	tests := []struct{ message, want string }{
		{"Booted app version 999", "Booted app version 999"},
		{"a\n[2000-01-01T00:00:00Z] [admin] forged", `a\n[2000-01-01T00:00:00Z] [admin] forged`},
		{`x\ny\cz`, `x\ny\cz`},
		{"tab\tand \x01 and \x1b[31m", `tab\tand \x01 and \e[31m`},
		{`"q" $HOME ${HOME} $(pwned) ` + "`pwned` 'single'", `"q" $HOME ${HOME} $(pwned) ` + "`pwned` 'single'"},
		{"#{x} #$y #@z #plain", `\#{x} \#$y \#@z #plain`},
		{"héllo wörld", "héllo wörld"},
	}
	for name, sh := range testShells(t) {
		for _, tt := range tests {
			dir := t.TempDir()
			cmd := exec.Command(sh, "-c", shell.Command(NewAuditor(cfg, "dev", at).Record(tt.message)...))
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
			got, err := os.ReadFile(filepath.Join(dir, AuditLogFile(cfg)))
			if err != nil {
				t.Fatal(err)
			}
			if want := "[2026-11-26T04:05:57Z] [dev] " + tt.want + "\n"; string(got) != want {
				t.Errorf("%s, message %q:\n got %q\nwant %q", name, tt.message, got, want)
			}
		}
	}
}
