package commands

import (
	"slices"
	"testing"
)

func TestHookCommand(t *testing.T) {
	cfg := loadConfig(t, baseYAML, "")
	if got, want := NewHooks(cfg).Run("pre-deploy").String(), "/usr/bin/env .kamal/hooks/pre-deploy"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	custom := loadConfig(t, baseYAML+"hooks_path: my hooks\n", "")
	if got, want := NewHooks(custom).Run("pre-build").String(), "/usr/bin/env 'my hooks/pre-build'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHookEnv(t *testing.T) {
	got := HookEnv(Tag{"recorded_at", "t"}, Tag{"destination", ""}, Tag{"service_version", "app@999"}, Tag{"lock", "false"})
	want := []string{"KAMAL_RECORDED_AT=t", "KAMAL_SERVICE_VERSION=app@999", "KAMAL_LOCK=false"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A hooks_path starting with "-" is not an option of env.
func TestHookPathIsNeverAnOption(t *testing.T) {
	cfg := loadConfig(t, baseYAML+"hooks_path: \"-S pwned\"\n", "")
	if got, want := NewHooks(cfg).Run("pre-deploy").String(), "/usr/bin/env './-S pwned/pre-deploy'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
