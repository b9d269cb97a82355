package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// TestRunPushedImageOnEveryHost is the first scenario: kamal SSHes to
// every host (`kamal server exec`, host keys verified), runs a freshly
// pushed test image there with a published port, and the app answers from
// the deploying machine.
func TestRunPushedImageOnEveryHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	version := fmt.Sprintf("first-%d", time.Now().UnixNano())
	ref, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: "e2e/first", Tag: version})
	if err != nil {
		t.Fatal(err)
	}
	dir := newProject(t, "first", "e2e/first")

	out, err := kamal(t, ctx, dir, "server", "exec", "hostname")
	if err != nil {
		t.Fatalf("kamal server exec hostname: %v\n%s", err, out)
	}
	for _, h := range env.Hosts {
		if !strings.Contains(out, h.Name) {
			t.Errorf("kamal server exec hostname: no %s in output:\n%s", h.Name, out)
		}
	}

	// The registry password goes over ssh's stdin, never into a command
	// line. (kamal registry login takes this over once it exists.)
	for _, h := range env.Hosts {
		ssh(t, ctx, h, env.RegistryPassword, "docker login -u "+env.RegistryUser+" --password-stdin "+env.Registry)
		removeContainer(t, h, "e2e-first")
	}
	out, err = kamal(t, ctx, dir, "server", "exec", "docker run -d --name e2e-first -p 8080:80 "+ref)
	if err != nil {
		t.Fatalf("kamal server exec docker run: %v\n%s", err, out)
	}
	t.Logf("kamal server exec docker run:\n%s", out)

	for _, h := range env.Hosts {
		body := waitHTTP(t, ctx, "http://"+h.IP+":8080/", 200)
		if !strings.Contains(body, "version="+version+" ") {
			t.Errorf("%s: body = %q, want version %s", h.Name, body, version)
		}
		waitHTTP(t, ctx, "http://"+h.IP+":8080/up", 200)

		// The image carries the service label Kamal checks after pulling.
		label, err := h.Docker(ctx, "image", "inspect", "-f", `{{index .Config.Labels "service"}}`, ref)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(label) != "first" {
			t.Errorf("%s: service label = %q, want first", h.Name, label)
		}
	}
}

// TestMisbehavingImages checks the test images later scenarios rely on.
func TestMisbehavingImages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := env.Hosts[0]
	ssh(t, ctx, h, env.RegistryPassword, "docker login -u "+env.RegistryUser+" --password-stdin "+env.Registry)

	run := func(t *testing.T, program, name string, port int, args ...string) {
		t.Helper()
		ref, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: program, Repository: "e2e/" + program, Tag: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		removeContainer(t, h, name)
		runArgs := append([]string{"run", "-d", "--name", name, "-p", fmt.Sprintf("%d:80", port)}, args...)
		if _, err := h.Docker(ctx, append(runArgs, ref)...); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("unhealthy", func(t *testing.T) {
		run(t, "app-unhealthy", "e2e-unhealthy", 8081)
		waitHTTP(t, ctx, "http://"+h.IP+":8081/", 200)
		waitHTTP(t, ctx, "http://"+h.IP+":8081/up", 500)
	})
	t.Run("slow", func(t *testing.T) {
		run(t, "app-slow", "e2e-slow", 8082, "-e", "BOOT_DELAY=1")
		waitHTTP(t, ctx, "http://"+h.IP+":8082/up", 200)
		logs, err := h.Docker(ctx, "logs", "e2e-slow")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs, "booting for 1s before listening") {
			t.Errorf("app-slow did not announce its boot delay; logs:\n%s", logs)
		}
	})
	t.Run("noterm", func(t *testing.T) {
		// A process that honours SIGTERM exits 0 on `docker stop`; one
		// that ignores it is killed after the timeout (exit 137).
		for _, c := range []struct {
			program, name string
			port          int
			exit          string
		}{{"app", "e2e-term", 8083, "0"}, {"app-noterm", "e2e-noterm", 8084, "137"}} {
			run(t, c.program, c.name, c.port)
			waitHTTP(t, ctx, fmt.Sprintf("http://%s:%d/up", h.IP, c.port), 200)
			if _, err := h.Docker(ctx, "stop", "-t", "1", c.name); err != nil {
				t.Fatal(err)
			}
			code, err := h.Docker(ctx, "inspect", "-f", "{{.State.ExitCode}}", c.name)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(code) != c.exit {
				t.Errorf("%s: exit code after docker stop = %s, want %s", c.program, strings.TrimSpace(code), c.exit)
			}
		}
	})
}
