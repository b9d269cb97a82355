package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// dockerAuths returns the docker config.json in dir ("" when missing).
func dockerAuths(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRegistryLoginLogout logs in and out against the registry with
// htpasswd auth, here and on the hosts, with -L and -R.
func TestRegistryLoginLogout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("wrong password", func(t *testing.T) {
		wrong := "not-the-password-" + randomSuffix(t)
		r := newAppRepo(t, ctx, "  arch: amd64\n", wrong)
		out, err := r.kamal(t, ctx, "registry", "login", "-v")
		if err == nil {
			t.Fatalf("login with a wrong password succeeded:\n%s", out)
		}
		// The registry's reason reaches the user, the password never does.
		if !strings.Contains(strings.ToLower(out), "unauthorized") {
			t.Errorf("output lacks the registry's reason:\n%s", out)
		}
		if strings.Contains(out, wrong) {
			t.Errorf("the password shows in the output:\n%s", out)
		}
	})

	r := newAppRepo(t, ctx, "  arch: amd64\n", env.RegistryPassword)
	hostConfig := func(i int) string { return dockerAuths(t, filepath.Join(env.Hosts[i].Home, ".docker")) }
	t.Cleanup(func() {
		// Leave the hosts logged in, as other scenarios found them.
		if out, err := r.kamal(t, context.Background(), "registry", "login", "-L"); err != nil {
			t.Errorf("logging the hosts back in: %v\n%s", err, out)
		}
	})

	out := r.mustKamal(t, ctx, "registry", "login", "-v")
	if strings.Contains(out, env.RegistryPassword) {
		t.Errorf("the password shows in the output:\n%s", out)
	}
	// As Kamal prints it: the user name word redacted too.
	if want := "docker login " + env.Registry + " -u [REDACTED] --password-stdin"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "-u "+env.RegistryUser) || strings.Contains(out, `-u "`+env.RegistryUser+`"`) {
		t.Errorf("the registry user name shows in the login line:\n%s", out)
	}
	if !strings.Contains(dockerAuths(t, r.dockerConfig), env.Registry) {
		t.Errorf("not logged in locally: %s", dockerAuths(t, r.dockerConfig))
	}
	for i, h := range env.Hosts {
		if !strings.Contains(hostConfig(i), env.Registry) {
			t.Errorf("%s: not logged in: %s", h.Name, hostConfig(i))
		}
	}

	r.mustKamal(t, ctx, "registry", "logout", "-L")
	if !strings.Contains(dockerAuths(t, r.dockerConfig), env.Registry) {
		t.Errorf("-L logged out locally")
	}
	for i, h := range env.Hosts {
		if strings.Contains(hostConfig(i), env.Registry) {
			t.Errorf("%s: still logged in after logout: %s", h.Name, hostConfig(i))
		}
	}

	r.mustKamal(t, ctx, "registry", "logout", "-R")
	if strings.Contains(dockerAuths(t, r.dockerConfig), env.Registry) {
		t.Errorf("still logged in locally after logout -R")
	}

	// setup is login for a remote registry; -R keeps the hosts out.
	r.mustKamal(t, ctx, "registry", "setup", "-R")
	if !strings.Contains(dockerAuths(t, r.dockerConfig), env.Registry) {
		t.Errorf("registry setup did not log in locally")
	}
	if strings.Contains(hostConfig(0), env.Registry) {
		t.Errorf("registry setup -R logged in on %s", env.Hosts[0].Name)
	}
}

// TestLocalRegistryPullThroughPortForward pulls from a registry that only
// listens on the deploying machine's loopback: kamal forwards the port
// from each host's localhost over SSH (ssh -R), as Kamal does for
// `registry: { server: localhost:<port> }`. The local registry here is a
// second registry process serving the harness registry's storage.
func TestLocalRegistryPullThroughPortForward(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := newAppRepo(t, ctx, "  arch: amd64\n", env.RegistryPassword)
	if _, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: r.Image, Tag: "v1", Service: r.Service}); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	startLoopbackRegistry(t, ctx, port, filepath.Join(env.Dir, "registry", "data"))

	// Point the configuration at the local registry.
	cfgPath := filepath.Join(r.Dir, "config/deploy.yml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	reg := fmt.Sprintf("registry:\n  server: %s\n  username: %s\n  password:\n    - KAMAL_REGISTRY_PASSWORD\n", env.Registry, env.RegistryUser)
	local := fmt.Sprintf("registry:\n  server: localhost:%d\n", port)
	if !strings.Contains(string(cfg), reg) {
		t.Fatalf("unexpected config:\n%s", cfg)
	}
	r.write(t, "config/deploy.yml", strings.Replace(string(cfg), reg, local, 1))

	out := r.mustKamal(t, ctx, "build", "pull", "--version", "v1")
	if strings.Contains(out, "docker login") {
		t.Errorf("a local registry needs no login:\n%s", out)
	}
	ref := fmt.Sprintf("localhost:%d/%s:v1", port, r.Image)
	for _, h := range env.Hosts {
		if got := inspectImage(t, ctx, h, `{{ index .Config.Labels "service" }}`, ref); got != r.Service {
			t.Errorf("%s: %s service label %q", h.Name, ref, got)
		}
		if _, err := h.Docker(ctx, "image", "rm", "--force", ref); err != nil {
			t.Fatal(err)
		}
		// The forward is gone once kamal is done: the host cannot pull again.
		if _, err := h.Docker(ctx, "pull", ref); err == nil {
			t.Errorf("%s: pulled %s after kamal ended: the port forward outlived it", h.Name, ref)
		}
	}
}

// freePort returns a TCP port free on the loopback.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startLoopbackRegistry serves the registry storage in dataDir on
// 127.0.0.1:port without auth, until the test ends.
func startLoopbackRegistry(t *testing.T, ctx context.Context, port int, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%d\n",
		dataDir, port)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", filepath.Join(dir, "config.yml"))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/v2/", port)
	waitHTTP(t, ctx, url, 200)
}
