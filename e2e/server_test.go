package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerExecAndAudit runs commands on every host through `kamal server
// exec`, checks host filters, a failure on one host, and the audit log.
func TestServerExecAndAudit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	service := "srvexec" + randomSuffix(t)
	dir := opsProject(t, service)
	auditLog := ".kamal/" + service + "-audit.log"
	t.Cleanup(func() {
		for _, h := range env.Hosts {
			os.Remove(filepath.Join(h.Home, auditLog))
		}
	})

	out, err := kamal(t, ctx, dir, "server", "exec", "hostname")
	if err != nil {
		t.Fatalf("server exec hostname: %v\n%s", err, out)
	}
	var ips []string
	for _, h := range env.Hosts {
		ips = append(ips, h.IP)
		if want := "App Host: " + h.IP + "\n" + h.Name + "\n"; !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if want := "Running 'hostname' on " + strings.Join(ips, ", ") + "..."; !strings.Contains(out, want) {
		t.Errorf("no %q in:\n%s", want, out)
	}

	// --primary runs on the first host only.
	out, err = kamal(t, ctx, dir, "server", "exec", "--primary", "hostname")
	if err != nil || strings.Count(out, "App Host:") != 1 || !strings.Contains(out, "App Host: "+env.Hosts[0].IP+"\n") {
		t.Errorf("server exec --primary: %v\n%s", err, out)
	}

	// A command failing on one host: the others still report, kamal fails.
	bad := env.Hosts[1]
	out, err = kamal(t, ctx, dir, "server", "exec", `test "$(hostname)" != `+bad.Name+` && echo fine`)
	if err == nil {
		t.Errorf("no error although %s failed:\n%s", bad.Name, out)
	}
	if !strings.Contains(out, "Exception while executing on host "+bad.IP) {
		t.Errorf("failing host not named:\n%s", out)
	}
	for _, h := range env.Hosts {
		if h == bad {
			continue
		}
		if want := "App Host: " + h.IP + "\nfine\n"; !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}

	// Every host recorded the commands run on it.
	for _, h := range env.Hosts {
		data, err := os.ReadFile(filepath.Join(h.Home, auditLog))
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if !strings.Contains(string(data), "Executed cmd 'hostname' on "+h.IP+"\n") {
			t.Errorf("%s audit log:\n%s", h.Name, data)
		}
	}
	out, err = kamal(t, ctx, dir, "audit")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	for _, h := range env.Hosts {
		if !strings.Contains(out, "App Host: "+h.IP+"\n[") || !strings.Contains(out, "Executed cmd 'hostname' on "+h.IP) {
			t.Errorf("audit output lacks %s:\n%s", h.Name, out)
		}
	}

	// Filters that match nothing are refused before connecting.
	out, err = kamal(t, ctx, dir, "server", "exec", "-h", "192.0.2.*", "true")
	if err == nil || !strings.Contains(out, "No --hosts match for 192.0.2.*") {
		t.Errorf("bad host filter: %v\n%s", err, out)
	}
}

// TestServerBootstrap runs `kamal server bootstrap` on hosts that have
// Docker: nothing is installed, .kamal exists, the docker-setup hook runs
// and the lock is released.
func TestServerBootstrap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	service := "bootstrap" + randomSuffix(t)
	dir := opsProject(t, service)
	marker := filepath.Join(dir, "docker-setup-ran")
	hook := "#!/bin/sh\necho \"$KAMAL_COMMAND $KAMAL_SUBCOMMAND $KAMAL_HOSTS\" > " + marker + "\n"
	if err := os.MkdirAll(filepath.Join(dir, ".kamal", "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".kamal", "hooks", "docker-setup"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := kamal(t, ctx, dir, "--version", "e2e-1", "server", "bootstrap")
	if err != nil {
		t.Fatalf("server bootstrap: %v\n%s", err, out)
	}
	if strings.Contains(out, "get.docker.com |") {
		t.Errorf("tried to install Docker:\n%s", out)
	}
	data, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("docker-setup hook did not run: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(data), "server bootstrap "+env.Hosts[0].IP+",") {
		t.Errorf("hook env: %q", data)
	}
	for _, h := range env.Hosts {
		if _, err := os.Stat(filepath.Join(h.Home, ".kamal")); err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(env.Hosts[0].Home, ".kamal", "lock-"+service)); err == nil {
		t.Error("lock left behind")
	}
}

// opsProject writes a minimal project for service deploying to every
// host; the server, lock and audit scenarios never push an image.
func opsProject(t *testing.T, service string) string {
	t.Helper()
	return newProject(t, service, "e2e/"+service)
}
