package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/testhosts"
)

// ssh runs command on h as root with the environment's key and verified
// host keys; stdin feeds secrets without putting them in argv.
func ssh(t *testing.T, ctx context.Context, h *testhosts.Host, stdin, command string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "ssh", append(env.SSHArgs(), "root@"+h.IP, command)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh %s %q: %v\n%s", h.Name, command, err, stderr.String())
	}
	return stdout.String()
}

// kamal runs the built kamal binary in dir with a HOME whose
// ~/.ssh/known_hosts trusts the test hosts, and the deployer's Docker.
func kamal(t *testing.T, ctx context.Context, dir string, args ...string) (string, error) {
	t.Helper()
	out, err := kamalCommand(t, ctx, dir, args...).CombinedOutput()
	return string(out), err
}

// kamalCommand prepares kamal like kamal() does, for a caller that needs
// the running process.
func kamalCommand(t *testing.T, ctx context.Context, dir string, args ...string) *exec.Cmd {
	t.Helper()
	home := t.TempDir()
	if err := env.WriteKnownHosts(home); err != nil {
		t.Fatal(err)
	}
	cmd := env.KamalCommand(ctx, kamalBin, dir, home, args...)
	// Every run gets a fresh HOME, removed when the test ends, so a keeper
	// of kept connections would never be reused and could still be
	// touching that HOME (its known_hosts) while it is removed. The
	// kept-connection scenarios run kamal their own way.
	cmd.Env = append(cmd.Env, remote.PersistEnv+"=0")
	return cmd
}

// newProject writes a Kamal project for service (image in the test
// registry) deploying to every host, and returns its directory. The
// registry password sits in .kamal/secrets (0600), as users keep it.
func newProject(t *testing.T, service, image string) string {
	t.Helper()
	dir := t.TempDir()
	var servers strings.Builder
	for _, h := range env.Hosts {
		fmt.Fprintf(&servers, "  - %s\n", h.IP)
	}
	deployYML := fmt.Sprintf("service: %s\nimage: %s\nservers:\n%s", service, image, servers.String()) + env.RegistryYAML()
	write := func(rel, content string, mode os.FileMode) {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("config/deploy.yml", deployYML, 0o644)
	write(".kamal/secrets", env.SecretsFile(), 0o600)
	return dir
}

// waitHTTP polls url until it answers with status want (a container that
// was just started needs a moment to listen) and returns the body.
func waitHTTP(t *testing.T, ctx context.Context, url string, want int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last string
	for {
		status, body, err := testhosts.Get(ctx, url, "")
		if err == nil {
			if status == want {
				return body
			}
			last = fmt.Sprintf("status %d: %s", status, body)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s never answered %d; last: %s", url, want, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeContainer removes a container when the test ends, whatever happened.
func removeContainer(t *testing.T, h *testhosts.Host, name string) {
	t.Cleanup(func() {
		if _, err := h.Docker(context.Background(), "rm", "-f", name); err != nil {
			t.Logf("removing %s on %s: %v", name, h.Name, err)
		}
	})
}

// dropSSHWhenCreated drops h's SSH connections as soon as the container
// exists there (while it boots) and reports how that went.
func dropSSHWhenCreated(ctx context.Context, h *testhosts.Host, container string) <-chan error {
	dropped := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if out, _ := h.Docker(ctx, "ps", "--all", "--quiet", "--filter", "name=^"+container+"$"); strings.TrimSpace(out) != "" {
				n, err := h.DropSSHConnections()
				if err == nil && n == 0 {
					continue // between two connections: try again
				}
				dropped <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		dropped <- ctx.Err()
	}()
	return dropped
}
