package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The non-root accounts every simulated host has (see TestMain):
// deployUser is in the docker group, outsiderUser is not.
const (
	deployUser   = "deploy"
	outsiderUser = "outsider"
)

// asUser makes the project log in as user instead of root.
func (p *appProject) asUser(t *testing.T, user string) {
	t.Helper()
	path := filepath.Join(p.dir, "config", "deploy.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(string(b), "\nssh:\n", "\nssh:\n  user: "+user+"\n", 1)
	if yml == string(b) {
		t.Fatal("deploy.yml has no ssh section")
	}
	p.write(t, "config/deploy.yml", yml, 0o644)
}

// removeUserKamal removes what a deploy as user left in the user's home.
func removeUserKamal(t *testing.T, user string) {
	clean := func() {
		for _, h := range env.Hosts {
			_ = os.RemoveAll(filepath.Join(h.UserHome(user), ".kamal"))
		}
	}
	clean()
	t.Cleanup(clean)
}

// TestDeployAsDockerGroupUser deploys as a non-root user who may use
// Docker through the docker group: everything works as for root, and the
// state lands in that user's home.
func TestDeployAsDockerGroupUser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	removeUserKamal(t, deployUser)
	p := newAppProject(t, appSpec{Service: "nonroot", Web: hostIPs(0), Workers: hostIPs(1)})
	p.asUser(t, deployUser)
	cleanupApp(t, p)
	for _, v := range []string{"v1", "v2"} {
		p.image(t, ctx, "app", v)
	}

	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", env.Hosts[0])
	sessions := []int{env.Hosts[0].SSHSessions(), env.Hosts[1].SSHSessions()}
	out := p.kamal(t, ctx, "deploy", "-P", "-v", "--version", "v2")
	p.expectVersion(t, ctx, "v2", env.Hosts[0])
	if os.Getenv("KAMAL_DOCKER_CLI") == "" {
		// Through the Docker API a deploy needs few SSH sessions: the
		// login, the lock (primary), the boot, the audit lines and prune
		// (see docs/benchmarks.md).
		for i, h := range env.Hosts[:2] {
			if n := h.SSHSessions() - sessions[i]; n > 6 {
				t.Errorf("%d SSH sessions on %s for a deploy, want at most 6:\n%s", n, h.Name, out)
			}
		}
		if strings.Contains(out, "Docker API not reachable") {
			t.Errorf("fell back to the docker CLI:\n%s", out)
		}
	}
	if got := runningNames(t, ctx, env.Hosts[1], "nonroot"); got != "nonroot-workers-v2" {
		t.Errorf("workers on vm2 = %q, want nonroot-workers-v2", got)
	}
	out = p.kamal(t, ctx, "app", "version")
	if strings.Count(out, "v2") != 2 {
		t.Errorf("app version:\n%s", out)
	}

	home := env.Hosts[0].UserHome(deployUser)
	envFile := filepath.Join(home, ".kamal/apps/nonroot/env/roles/web.env")
	if st, err := os.Stat(envFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("env file in the user's home: %v %v", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(home, ".kamal/nonroot-audit.log")); err != nil || !strings.Contains(string(b), "Booted app version v2") {
		t.Errorf("audit log in the user's home: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(env.Hosts[0].Home, ".kamal/apps/nonroot")); !os.IsNotExist(err) {
		t.Errorf("state written to root's home (%v)", err)
	}
}

// TestDeployWithoutStreamLocalForwarding deploys to a host whose sshd
// forbids forwarding its Docker socket: kamal says once (with -v) that it
// uses the docker CLI there, and the deploy works as usual.
func TestDeployWithoutStreamLocalForwarding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	h := env.Hosts[2]
	if err := h.ConfigureSSHD(ctx, "AllowStreamLocalForwarding no"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.ConfigureSSHD(context.Background()); err != nil {
			t.Error(err)
		}
	})
	p := newAppProject(t, appSpec{Service: "nofwd", Web: hostIPs(2)})
	cleanupApp(t, p)
	for _, v := range []string{"v1", "v2"} {
		p.image(t, ctx, "app", v)
	}
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	out := p.kamal(t, ctx, "deploy", "-P", "-v", "--version", "v2")
	p.expectVersion(t, ctx, "v2", h)
	want := 1
	if os.Getenv("KAMAL_DOCKER_CLI") != "" {
		want = 0 // the CLI is used everywhere: nothing to say
	}
	if n := strings.Count(out, "Docker API not reachable on "+h.IP+", using the docker CLI"); n != want {
		t.Errorf("the fallback is said %d times, want %d:\n%s", n, want, out)
	}
}

// TestDockerUnusable runs as a user who may use neither the Docker socket
// nor the docker CLI: the error names the host and both failures.
func TestDockerUnusable(t *testing.T) {
	if os.Getenv("KAMAL_DOCKER_CLI") != "" {
		t.Skip("the API is not tried with the CLI forced")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := newAppProject(t, appSpec{Service: "outsider", Web: hostIPs(0)})
	p.asUser(t, outsiderUser)
	out, err := kamal(t, ctx, p.dir, "app", "containers")
	h := env.Hosts[0]
	if err == nil {
		t.Fatalf("app containers as a user outside the docker group succeeded:\n%s", out)
	}
	for _, want := range []string{"cannot use Docker on " + h.IP + ": the Docker API: sshd on " + h.IP + " refused", "; the docker CLI: ", "permission denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
