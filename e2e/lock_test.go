package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockCommands takes, reports and releases the deploy lock on the
// primary host, and checks that a held lock stops a locked command.
func TestLockCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	service := "lock" + randomSuffix(t)
	dir := opsProject(t, service)
	lockDir := filepath.Join(env.Hosts[0].Home, ".kamal", "lock-"+service)
	t.Cleanup(func() { os.RemoveAll(lockDir) })
	run := func(args ...string) (string, error) {
		return kamal(t, ctx, dir, append([]string{"--version", "e2e-7"}, args...)...)
	}

	// As in Kamal: status and release create nothing; acquire creates
	// .kamal on every host.
	const mkdir = "Running /usr/bin/env mkdir -p .kamal on "
	out, err := run("lock", "status")
	if err != nil || !strings.Contains(out, "There is no deploy lock") || strings.Contains(out, mkdir) {
		t.Fatalf("status before: %v\n%s", err, out)
	}
	out, err = run("lock", "acquire", "-m", "Maintenance in progress")
	if err != nil || !strings.Contains(out, "Acquired the deploy lock") {
		t.Fatalf("acquire: %v\n%s", err, out)
	}
	for _, h := range env.Hosts {
		if !strings.Contains(out, mkdir+h.IP+"\n") {
			t.Errorf("acquire did not create .kamal on %s:\n%s", h.Name, out)
		}
	}
	if _, err := os.Stat(filepath.Join(lockDir, "details")); err != nil {
		t.Fatalf("no lock details on the primary host: %v", err)
	}
	for _, h := range env.Hosts[1:] {
		if _, err := os.Stat(filepath.Join(h.Home, ".kamal", "lock-"+service)); err == nil {
			t.Errorf("lock directory on %s (not primary)", h.Name)
		}
	}
	out, err = run("lock", "status")
	if err != nil || !strings.Contains(out, "Locked by: ") || !strings.Contains(out, "Version: e2e-7\nMessage: Maintenance in progress") {
		t.Errorf("status: %v\n%s", err, out)
	}

	// A second acquire fails and shows the holder.
	out, err = run("lock", "acquire", "-m", "other")
	if err == nil || !strings.Contains(out, "Deploy lock already in place!") || !strings.Contains(out, "Message: Maintenance in progress") ||
		!strings.Contains(out, "Deploy lock found. Run 'kamal lock help' for more information") {
		t.Errorf("second acquire: %v\n%s", err, out)
	}
	// A locked command fails; with --lock-wait it refuses to wait for a manual lock.
	out, err = run("server", "bootstrap")
	if err == nil || !strings.Contains(out, "Deploy lock found") {
		t.Errorf("bootstrap under a held lock: %v\n%s", err, out)
	}
	out, err = run("--lock-wait", "server", "bootstrap")
	if err == nil || !strings.Contains(out, "Deploy lock held manually, not waiting") {
		t.Errorf("bootstrap --lock-wait under a manual lock: %v\n%s", err, out)
	}

	out, err = run("lock", "release")
	if err != nil || !strings.Contains(out, "Released the deploy lock") || strings.Contains(out, mkdir) {
		t.Fatalf("release: %v\n%s", err, out)
	}
	if _, err := os.Stat(lockDir); err == nil {
		t.Error("lock directory still there after release")
	}
	out, err = run("lock", "release")
	if err != nil || !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("second release: %v\n%s", err, out)
	}
}
