package commands

import (
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
		// kamal-protocol.md §2.12 (generated).
		{"record", NewAuditor(cfg, "dev@example.com", at).Record("Booted app version 999", Tag{"role", "web"}),
			`/usr/bin/env mkdir -p .kamal && echo "[2026-11-26T04:05:57Z] [dev@example.com] [web] Booted app version 999" >> .kamal/app-audit.log`},
		{"record with destination", NewAuditor(staging, "dev@example.com", at).Record("Pruned images"),
			`/usr/bin/env mkdir -p .kamal && echo "[2026-11-26T04:05:57Z] [dev@example.com] [staging] Pruned images" >> .kamal/app-staging-audit.log`},
		{"escaping", NewAuditor(cfg, "dev", at).Record("Executed cmd 'echo $HOME \"x\" `id`' on 1.1.1.1"),
			"/usr/bin/env mkdir -p .kamal && echo \"[2026-11-26T04:05:57Z] [dev] Executed cmd 'echo \\$HOME \\\"x\\\" \\`id\\`' on 1.1.1.1\" >> .kamal/app-audit.log"},
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
