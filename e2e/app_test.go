package e2e

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAppCommands runs the operational `kamal app` subcommands against an
// app set up by `kamal setup`: web on two hosts behind our kamal-proxy,
// workers on the third.
func TestAppCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "appops", Web: hostIPs(0, 1), Workers: hostIPs(2)})
	cleanupApp(t, p)
	web := env.Hosts[:2]
	for _, v := range []string{"v1", "v2"} {
		p.image(t, ctx, "app", v)
	}
	// Commands that take the deploy lock get --version: the lock records
	// it, and this project is no git repository to compute it from.
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", web...)

	t.Run("version", func(t *testing.T) {
		out := p.kamal(t, ctx, "app", "version")
		for _, h := range env.Hosts {
			if !strings.Contains(out, "App Host: "+h.IP+"\nv1\n") {
				t.Errorf("no v1 block for %s:\n%s", h.Name, out)
			}
		}
	})

	t.Run("containers and images", func(t *testing.T) {
		out := p.kamal(t, ctx, "app", "containers")
		for _, want := range []string{"App Host: " + web[0].IP, "appops-web-v1", "appops-workers-v1"} {
			if !strings.Contains(out, want) {
				t.Errorf("containers lack %q:\n%s", want, out)
			}
		}
		out = p.kamal(t, ctx, "app", "images", "-h", web[1].IP)
		if !strings.Contains(out, "App Host: "+web[1].IP) || !strings.Contains(out, env.Registry+"/e2e/appops") ||
			!strings.Contains(out, "latest") || !strings.Contains(out, "v1") {
			t.Errorf("images:\n%s", out)
		}
	})

	t.Run("maintenance and live", func(t *testing.T) {
		p.kamal(t, ctx, "app", "maintenance", "--version", "v1", "--message", "Back in 5 minutes", "--drain-timeout", "1")
		for _, h := range web {
			status, body, err := p.get(ctx, h, "/")
			if err != nil || status != 503 || !strings.Contains(body, "Back in 5 minutes") {
				t.Errorf("%s in maintenance: %d %q %v, want 503 with the message", h.Name, status, body, err)
			}
		}
		p.kamal(t, ctx, "app", "live", "--version", "v1")
		p.expectVersion(t, ctx, "v1", web...)
		// The lock is released by both.
		if out := p.kamal(t, ctx, "lock", "status"); !strings.Contains(out, "There is no deploy lock") {
			t.Errorf("lock status: %s", out)
		}
	})

	t.Run("exec new container", func(t *testing.T) {
		out := p.kamal(t, ctx, "app", "exec", "/app", "echo", "hello", "from", "exec")
		if !strings.Contains(out, "Launching command with version latest from new container...") {
			t.Errorf("exec output:\n%s", out)
		}
		for _, h := range env.Hosts {
			if !strings.Contains(out, "App Host: "+h.IP+"\nhello from exec\n") {
				t.Errorf("no block for %s:\n%s", h.Name, out)
			}
		}
		// The new container gets the role's clear env and secrets, and -e.
		out = p.kamal(t, ctx, "app", "exec", "-r", "web", "-p", "-e", "EXTRA=x y", "/app", "env")
		for _, want := range []string{"GREETING=hello", `APP_SECRET=s3cr3t "quoted"`, "EXTRA=x y"} {
			if !strings.Contains(out, want) {
				t.Errorf("exec env lacks %q:\n%s", want, out)
			}
		}
		// --rm: no exec container is left behind.
		for _, h := range env.Hosts {
			if names := strings.Join(containerNames(t, ctx, h), " "); strings.Contains(names, "-exec-") {
				t.Errorf("%s keeps exec containers: %s", h.Name, names)
			}
		}
		out = p.kamal(t, ctx, "audit", "-p")
		if !strings.Contains(out, "Executed cmd '/app echo hello from exec' on app version latest") {
			t.Errorf("audit:\n%s", out)
		}
	})

	t.Run("exec reuse and raw", func(t *testing.T) {
		out := p.kamal(t, ctx, "app", "exec", "--reuse", "-r", "web", "/app", "echo", "reused")
		if !strings.Contains(out, "Launching command with version v1 from existing container...") {
			t.Errorf("reuse output:\n%s", out)
		}
		for _, h := range web {
			if !strings.Contains(out, "App Host: "+h.IP+"\nreused\n") {
				t.Errorf("no reuse block for %s:\n%s", h.Name, out)
			}
		}
		// The running container answered: its hostname is the one kamal set.
		out = p.kamal(t, ctx, "app", "exec", "--reuse", "--raw", "-h", web[1].IP, "-r", "web", "/app", "env")
		if !strings.Contains(out, "KAMAL_CONTAINER_NAME=appops-web-v1\n") || strings.Contains(out, "App Host:") || strings.Contains(out, "INFO") {
			t.Errorf("raw reuse output:\n%s", out)
		}
		out = p.kamal(t, ctx, "app", "exec", "--raw", "-p", "-r", "web", "/app", "echo", "exact")
		if out != "exact\n" {
			t.Errorf("raw output = %q, want %q", out, "exact\n")
		}
		out, err := kamal(t, ctx, p.dir, "app", "exec", "--detach", "--reuse", "/app", "env")
		if err == nil || !strings.Contains(out, "Detach is not compatible with reuse") {
			t.Errorf("--detach --reuse: %v\n%s", err, out)
		}
	})

	t.Run("exec detach", func(t *testing.T) {
		// --detach starts the container in the background without --rm:
		// kamal prints its id and the container stays for docker logs.
		// Without --version the image tagged latest runs, as in Kamal.
		p.kamal(t, ctx, "app", "exec", "--detach", "-r", "web", "-h", web[0].IP, "/app", "echo", "in", "background")
		h := web[0]
		out, err := h.Docker(ctx, "ps", "-a", "--filter", "name=^appops-web-exec-latest-", "--format", "{{.ID}} {{.Names}}")
		if err != nil {
			t.Fatal(err)
		}
		fields := strings.Fields(out)
		if len(fields) != 2 {
			t.Fatalf("detached exec containers on %s = %q, want one", h.Name, out)
		}
		defer h.Docker(context.Background(), "rm", "-f", fields[0]) //nolint:errcheck // best-effort cleanup
		// The container may still be running: wait for it, then read its output.
		if _, err := h.Docker(ctx, "wait", fields[0]); err != nil {
			t.Fatal(err)
		}
		logs, err := h.Docker(ctx, "logs", fields[0])
		if err != nil || strings.TrimSpace(logs) != "in background" {
			t.Errorf("detached exec logs = %q (%v), want %q", logs, err, "in background")
		}
		for _, other := range web[1:] {
			if names := strings.Join(containerNames(t, ctx, other), " "); strings.Contains(names, "-exec-") {
				t.Errorf("--hosts %s also ran on %s: %s", h.IP, other.Name, names)
			}
		}
	})

	t.Run("exec interactive", func(t *testing.T) {
		out := p.kamal(t, ctx, "app", "exec", "-i", "-r", "web", "/app", "echo", "over", "a", "tty")
		if !strings.Contains(out, "via SSH from new container on "+web[0].IP) || !strings.Contains(out, "over a tty") {
			t.Errorf("interactive exec:\n%s", out)
		}
	})

	t.Run("logs", func(t *testing.T) {
		out := p.kamal(t, ctx, "app", "logs", "-r", "web", "-n", "1")
		for _, h := range web {
			block := hostBlock(out, h.IP)
			lines := strings.Split(strings.TrimSpace(block), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "app version v1 listening on :80") {
				t.Errorf("%s: -n 1 gave %q", h.Name, block)
			}
		}
		out = p.kamal(t, ctx, "app", "logs", "-r", "workers", "--grep", "LISTENING", "--grep-options", "-i", "-T")
		if block := strings.TrimSpace(hostBlock(out, env.Hosts[2].IP)); block != "app version v1 listening on :80" {
			t.Errorf("workers grep without timestamps = %q\n%s", block, out)
		}
		out = p.kamal(t, ctx, "app", "logs", "-r", "web", "--grep", "no such line")
		if strings.Count(out, "Nothing found") != 2 {
			t.Errorf("no match:\n%s", out)
		}
	})

	t.Run("logs follow", func(t *testing.T) {
		followLogs(t, ctx, p)
	})

	t.Run("stale containers", func(t *testing.T) {
		p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
		p.expectVersion(t, ctx, "v2", web...)
		// An old container started by hand is stale.
		if _, err := web[0].Docker(ctx, "start", "appops-web-v1"); err != nil {
			t.Fatal(err)
		}
		out := p.kamal(t, ctx, "app", "stale_containers")
		if !strings.Contains(out, "App Host: "+web[0].IP+"\nDetected stale container for role web with version v1") {
			t.Errorf("stale_containers:\n%s", out)
		}
		if strings.Contains(out, "App Host: "+web[1].IP) {
			t.Errorf("stale container reported on %s:\n%s", web[1].Name, out)
		}
		out = p.kamal(t, ctx, "app", "stale_containers", "--stop", "--version", "v2")
		if !strings.Contains(out, "Stopping stale container for role web with version v1") {
			t.Errorf("stale_containers --stop:\n%s", out)
		}
		if got := runningNames(t, ctx, web[0], "appops"); got != "appops-web-v2" {
			t.Errorf("running after --stop: %q", got)
		}
		p.expectVersion(t, ctx, "v2", web...)
		if out := p.kamal(t, ctx, "app", "version", "-r", "web"); !strings.Contains(out, "App Host: "+web[0].IP+"\nv2\n") {
			t.Errorf("version after deploy:\n%s", out)
		}
	})

	t.Run("stop and start", func(t *testing.T) {
		p.kamal(t, ctx, "app", "stop", "-r", "web", "--version", "v2")
		for _, h := range web {
			if got := runningNames(t, ctx, h, "appops"); got != "" {
				t.Errorf("%s still runs %q after stop", h.Name, got)
			}
			if status, _, err := p.get(ctx, h, "/"); err != nil || status != 404 {
				t.Errorf("%s after stop: %d %v, want 404", h.Name, status, err)
			}
		}
		p.kamal(t, ctx, "app", "start", "-r", "web", "--version", "v2")
		p.expectVersion(t, ctx, "v2", web...)
	})

	t.Run("remove", func(t *testing.T) {
		p.kamal(t, ctx, "app", "remove", "--version", "v2")
		for _, h := range env.Hosts {
			if names := containerNames(t, ctx, h, "label=service=appops"); len(names) > 0 {
				t.Errorf("%s keeps app containers: %v", h.Name, names)
			}
			if _, err := os.Stat(filepath.Join(h.Home, ".kamal/apps/appops")); !os.IsNotExist(err) {
				t.Errorf("%s keeps .kamal/apps/appops (%v)", h.Name, err)
			}
		}
		if status, _, err := p.get(ctx, web[0], "/"); err != nil || status != 404 {
			t.Errorf("after remove: %d %v, want 404", status, err)
		}
	})
}

// hostBlock returns the text of host's "App Host:" block in out.
func hostBlock(out, host string) string {
	_, rest, ok := strings.Cut(out, "App Host: "+host+"\n")
	if !ok {
		return ""
	}
	block, _, _ := strings.Cut(rest, "\n\n")
	return block
}

// followLogs starts `kamal app logs -f`, waits for a log line to stream
// in, interrupts it as a user's Ctrl-C would and expects a clean exit.
func followLogs(t *testing.T, ctx context.Context, p *appProject) {
	t.Helper()
	cmd := kamalCommand(t, ctx, p.dir, "app", "logs", "-f", "-n", "1", "-T")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var seen []string
	found := false
	for !found {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("logs -f ended before streaming: %v\n%s", <-done, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			found = strings.Contains(l, "listening on :80")
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			t.Fatalf("no log line streamed:\n%s", strings.Join(seen, "\n"))
		}
	}
	if !strings.Contains(strings.Join(seen, "\n"), "Following logs on "+env.Hosts[0].IP) {
		t.Errorf("no 'Following logs' line:\n%s", strings.Join(seen, "\n"))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines {
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs -f after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Error("logs -f did not end after Ctrl-C")
	}
}
