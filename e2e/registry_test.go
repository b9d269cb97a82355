package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
