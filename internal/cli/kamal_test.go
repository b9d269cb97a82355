package cli

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/deploy"
)

// Errors printed by Main go through the run's redactor, so a secret quoted
// in an error message never reaches the terminal.
func TestRedactorHidesRunSecrets(t *testing.T) {
	a := &App{}
	if got := a.redactor()("no run state yet"); got != "no run state yet" {
		t.Errorf("without a run: %q", got)
	}

	file := filepath.Join(t.TempDir(), "deploy.yml")
	if err := os.WriteFile(file, []byte(cliBaseYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{ConfigFile: file, Version: "1", LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	k, err := deploy.New(cfg, deploy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	k.Redact("s3cret-value")
	a.kamal.k = k
	if got := a.redactor()("login failed: s3cret-value rejected"); got != "login failed: [REDACTED] rejected" {
		t.Errorf("redacted = %q", got)
	}
}

// The first Ctrl-C cancels the run's context; later ones do not stop
// kamal (a rollback or the lock release must finish) and reach the run.
func TestSignalContextCancelsOnceThenTellsTheRun(t *testing.T) {
	a := &App{}
	ctx, stop := a.signalContext(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the first SIGINT did not cancel the context")
	}
	// Still alive after a second one (the handler keeps it).
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
}
