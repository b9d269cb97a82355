package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// hookProject writes a config whose hooks_path and secrets live in a temp
// dir and returns the dir.
func hookProject(t *testing.T, extra string) (string, *fakeHosts, *Kamal, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	hooks := filepath.Join(dir, "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.WriteFile(secrets, []byte("DB_PASSWORD=hunter2-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, multiYAML+"hooks_path: "+hooks+"\nsecrets_path: "+secrets+"\n"+extra)
	f := &fakeHosts{}
	var out bytes.Buffer
	k, err := New(cfg, Options{
		Executor: f, Stdout: &out, Roles: []string{"web"}, Command: "deploy", Level: remote.LevelDefault,
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatal(err)
	}
	return hooks, f, k, &out
}

func writeHook(t *testing.T, dir, name, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), mode); err != nil {
		t.Fatal(err)
	}
}

func readEnvDump(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestHookEnvironment(t *testing.T) {
	hooks, _, k, out := hookProject(t, "")
	dump := filepath.Join(t.TempDir(), "env")
	writeHook(t, hooks, "pre-deploy", "env > "+dump+"\necho hook-ran\n", 0o755)
	writeHook(t, hooks, "post-deploy", "env > "+dump+".post\n", 0o755)
	writeHook(t, hooks, "pre-app-boot", "env > "+dump+".boot\n", 0o755)
	ctx := context.Background()
	if err := k.runHook(ctx, "pre-deploy"); err != nil {
		t.Fatal(err)
	}
	env := readEnvDump(t, dump)
	want := map[string]string{
		"KAMAL_PERFORMER":       k.performer(),
		"KAMAL_VERSION":         "999",
		"KAMAL_SERVICE_VERSION": "app@999",
		"KAMAL_SERVICE":         "app",
		"KAMAL_HOSTS":           "1.1.1.1,1.1.1.2",
		"KAMAL_ROLES":           "web",
		"KAMAL_LOCK":            "false",
		"KAMAL_COMMAND":         "deploy",
		"DB_PASSWORD":           "hunter2-secret", // pre-deploy gets the secrets
	}
	for key, v := range want {
		if env[key] != v {
			t.Errorf("%s = %q, want %q", key, env[key], v)
		}
	}
	for _, absent := range []string{"KAMAL_DESTINATION", "KAMAL_SUBCOMMAND"} {
		if _, ok := env[absent]; ok {
			t.Errorf("%s set without a value", absent)
		}
	}
	if env["KAMAL_RECORDED_AT"] == "" {
		t.Error("KAMAL_RECORDED_AT missing")
	}
	if !strings.Contains(out.String(), "Running the pre-deploy hook...") ||
		!strings.Contains(out.String(), "Running /usr/bin/env "+filepath.Join(hooks, "pre-deploy")) {
		t.Errorf("output:\n%s", out)
	}
	if strings.Contains(out.String(), "hook-ran") {
		t.Errorf("hook output shown at default verbosity:\n%s", out)
	}

	if err := k.runHook(ctx, "post-deploy", commands.Tag{Key: "runtime", Value: "42"}); err != nil {
		t.Fatal(err)
	}
	if env := readEnvDump(t, dump+".post"); env["KAMAL_RUNTIME"] != "42" || env["DB_PASSWORD"] != "hunter2-secret" {
		t.Errorf("post-deploy env: runtime %q, secret %q", env["KAMAL_RUNTIME"], env["DB_PASSWORD"])
	}
	if err := k.runHook(ctx, "pre-app-boot", commands.Tag{Key: "hosts", Value: "1.1.1.2"}); err != nil {
		t.Fatal(err)
	}
	env = readEnvDump(t, dump+".boot")
	if env["KAMAL_HOSTS"] != "1.1.1.2" {
		t.Errorf("KAMAL_HOSTS = %q, want the boot group", env["KAMAL_HOSTS"])
	}
	if _, ok := env["DB_PASSWORD"]; ok {
		t.Error("pre-app-boot got the secrets")
	}
}

func TestHookFailure(t *testing.T) {
	hooks, _, k, _ := hookProject(t, "")
	writeHook(t, hooks, "pre-build", "echo 'not today' >&2\nexit 3\n", 0o755)
	err := k.runHook(context.Background(), "pre-build")
	var he *HookError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "Hook `pre-build` failed:\n") || !strings.Contains(msg, "not today") || !strings.Contains(msg, "exit status: 3") {
		t.Errorf("message:\n%s", msg)
	}
}

func TestHookNotExecutable(t *testing.T) {
	hooks, _, k, _ := hookProject(t, "")
	writeHook(t, hooks, "pre-build", "exit 0\n", 0o644)
	err := k.runHook(context.Background(), "pre-build")
	if err == nil || !strings.Contains(err.Error(), "not executable") || !strings.Contains(err.Error(), "chmod +x") {
		t.Fatalf("err = %v", err)
	}
}

func TestHookMissingOrSkipped(t *testing.T) {
	hooks, _, k, out := hookProject(t, "")
	if err := k.runHook(context.Background(), "pre-build"); err != nil {
		t.Fatalf("missing hook: %v", err)
	}
	writeHook(t, hooks, "pre-build", "exit 1\n", 0o755)
	k.opts.SkipHooks = true
	if err := k.runHook(context.Background(), "pre-build"); err != nil {
		t.Fatalf("skipped hook: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("output for missing/skipped hooks:\n%s", out)
	}
}

func TestHookOutputSettings(t *testing.T) {
	for _, tt := range []struct {
		setting    string
		level      remote.Level
		showOutput bool
		showRun    bool
	}{
		{"", remote.LevelDefault, false, true},
		{"verbose", remote.LevelDefault, true, true},
		{"quiet", remote.LevelDefault, false, false},
		{"quiet", remote.LevelVerbose, true, true}, // -v overrides
		{"verbose", remote.LevelQuiet, false, false},
	} {
		t.Run(tt.setting+"/"+map[remote.Level]string{0: "q", 1: "default", 2: "v"}[tt.level], func(t *testing.T) {
			extra := ""
			if tt.setting != "" {
				extra = "hooks_output:\n  pre-build: " + tt.setting + "\n"
			}
			hooks, _, k, out := hookProject(t, extra)
			k.Out = remote.NewOutput(out, tt.level, k.Out.Redactor())
			writeHook(t, hooks, "pre-build", "echo the-hook-output\n", 0o755)
			if err := k.runHook(context.Background(), "pre-build"); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(out.String(), "the-hook-output"); got != tt.showOutput {
				t.Errorf("output shown = %v, want %v:\n%s", got, tt.showOutput, out)
			}
			if got := strings.Contains(out.String(), "Running /usr/bin/env"); got != tt.showRun {
				t.Errorf("command shown = %v, want %v:\n%s", got, tt.showRun, out)
			}
		})
	}
}

func TestPreConnectRunsOnceBeforeFirstConnection(t *testing.T) {
	hooks, f, k, _ := hookProject(t, "")
	marker := filepath.Join(t.TempDir(), "count")
	writeHook(t, hooks, "pre-connect", "echo x >> "+marker+"\n", 0o755)
	ctx := context.Background()
	if len(f.log()) != 0 {
		t.Fatal("commands before On")
	}
	for range 3 {
		if err := k.On(ctx, k.Hosts(), func(ctx context.Context, h string) error {
			if _, err := os.Stat(marker); err != nil {
				t.Errorf("command on %s before the pre-connect hook", h)
			}
			_, err := k.ExecRaw(ctx, h, "true", remote.ExecOptions{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(marker)
	if n := strings.Count(string(data), "x"); n != 1 {
		t.Errorf("pre-connect ran %d times, want 1", n)
	}
}

func TestSecretsRedactedInHookFailure(t *testing.T) {
	hooks, _, k, out := hookProject(t, "")
	writeHook(t, hooks, "pre-deploy", "echo \"password is $DB_PASSWORD\"\nexit 1\n", 0o755)
	err := k.runHook(context.Background(), "pre-deploy")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "hunter2-secret") || strings.Contains(out.String(), "hunter2-secret") {
		t.Errorf("secret leaked:\n%v\n%s", err, out)
	}
	if !strings.Contains(err.Error(), "password is [REDACTED]") {
		t.Errorf("err = %v", err)
	}
}

// cancelOn is an io.Writer that cancels when it sees marker.
type cancelOn struct {
	marker string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

func TestHookCancelled(t *testing.T) {
	hooks, _, k, _ := hookProject(t, "hooks_output:\n  pre-build: verbose\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k.Out = remote.NewOutput(cancelOn{marker: "hook-started", cancel: cancel}, remote.LevelDefault, k.Out.Redactor())
	writeHook(t, hooks, "pre-build", "sleep 600 &\necho hook-started\nwait\n", 0o755)
	err := k.runHook(ctx, "pre-build")
	var he *HookError
	if !errors.As(err, &he) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a HookError for context.Canceled", err)
	}
}

// app exec runs pre-connect before it switches to the latest image, so the
// hook sees the run's version, as in Kamal.
func TestAppExecPreConnectGetsTheRunVersion(t *testing.T) {
	hooks, _, k, _ := hookProject(t, "")
	dump := filepath.Join(t.TempDir(), "env")
	writeHook(t, hooks, "pre-connect", "env > "+dump+"\n", 0o755)
	if err := k.Apps.ExecCommand(context.Background(), "true", AppExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := readEnvDump(t, dump)["KAMAL_VERSION"]; v != "999" {
		t.Errorf("pre-connect KAMAL_VERSION = %q, want the run's version 999", v)
	}
}
