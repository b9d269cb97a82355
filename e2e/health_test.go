package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// TestHealthReadiness: a role without kamal-proxy is ready as soon as
// Docker's own health check (the app-health image's exec-form
// HEALTHCHECK) reports it healthy, without waiting readiness_delay; a
// version whose health check fails never gets ready, fails the deploy and
// leaves the old worker running and the lock released.
func TestHealthReadiness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	worker := env.Hosts[2]
	p := newAppProject(t, appSpec{Service: "health", Web: hostIPs(0)})
	cleanupApp(t, p)
	// Only a workers role, without the proxy. readiness_delay is far
	// longer than the test may take, so only "healthy" can make it ready.
	p.write(t, "config/deploy.yml", fmt.Sprintf(`service: %s
image: e2e/%s
primary_role: workers
servers:
  workers:
    hosts:
      - %s
    cmd: /app --worker
    proxy: false
readiness_delay: 60
deploy_timeout: 10
`, p.service, p.service, worker.IP)+env.RegistryYAML(), 0o644)
	p.image(t, ctx, "app-health", "v1")
	if _, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app-health", Repository: "e2e/" + p.service, Tag: "v2",
		Service: p.service, Env: map[string]string{"UNHEALTHY": "1"}}); err != nil {
		t.Fatal(err)
	}

	// --verbose shows what each readiness poll saw.
	out := p.kamal(t, ctx, "deploy", "-P", "--version", "v1", "--verbose")
	seen := readinessStatuses(out)
	if len(seen) == 0 || seen[len(seen)-1] != "healthy" {
		t.Errorf("readiness polls saw %q, want the last one healthy:\n%s", seen, out)
	}
	for _, s := range seen {
		if s != "starting" && s != "healthy" {
			t.Errorf("readiness poll saw %q (want only starting, then healthy):\n%s", s, out)
		}
	}
	if got := runningNames(t, ctx, worker, p.service); got != "health-workers-v1" {
		t.Fatalf("workers after deploying v1 = %q, want health-workers-v1", got)
	}
	if got := healthInspect(t, ctx, worker, "health-workers-v1", "{{json .Config.Healthcheck.Test}} {{.State.Health.Status}}"); got != `["CMD","/app","healthcheck"] healthy` {
		t.Errorf("health of health-workers-v1 = %q, want the image's exec-form check, healthy", got)
	}

	// v2 answers /up with 500, so Docker's check turns it unhealthy.
	out, err := kamal(t, ctx, p.dir, "deploy", "-P", "--version", "v2", "--verbose")
	if err == nil {
		t.Fatalf("deploy of a version Docker reports unhealthy succeeded:\n%s", out)
	}
	for _, want := range []string{
		"Failed to boot workers on " + worker.IP,
		"container not ready after 10 seconds (unhealthy)",
		"Releasing the deploy lock...",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("failed deploy output lacks %q:\n%s", want, out)
		}
	}
	// The polls of v2's boot (the rollback then polls v1).
	boot, _, _ := strings.Cut(out, "rolling back")
	if seen := readinessStatuses(boot); len(seen) == 0 || seen[len(seen)-1] != "unhealthy" {
		t.Errorf("readiness polls of v2 saw %q, want the last one unhealthy", seen)
	}
	if got := runningNames(t, ctx, worker, p.service); got != "health-workers-v1" {
		t.Errorf("workers after the failed deploy = %q, want health-workers-v1 only", got)
	}
	if got := healthInspect(t, ctx, worker, "health-workers-v1", "{{.State.Health.Status}}"); got != "healthy" {
		t.Errorf("old worker is %q after the failed deploy, want healthy", got)
	}
	if out := p.kamal(t, ctx, "lock", "status"); !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("lock left behind: %s", out)
	}
}

// readinessRE matches a readiness poll: the command's id, then (in
// --verbose output) the line it printed under the same id.
var readinessRE = regexp.MustCompile(`INFO \[([0-9a-f]+)\] Running .*\{\{if \.State\.Health\}\}\{\{\.State\.Health\.Status\}\}`)

// readinessStatuses are the statuses kamal's readiness polls read, in order.
func readinessStatuses(out string) []string {
	var seen []string
	for _, m := range readinessRE.FindAllStringSubmatch(out, -1) {
		status := regexp.MustCompile(`DEBUG \[` + m[1] + `\] \t(\S+)\n`).FindStringSubmatch(out)
		if status == nil {
			seen = append(seen, "(no output)")
			continue
		}
		seen = append(seen, status[1])
	}
	return seen
}

// healthInspect formats docker inspect of container on h.
func healthInspect(t *testing.T, ctx context.Context, h *testhosts.Host, container, format string) string {
	t.Helper()
	out, err := h.Docker(ctx, "inspect", "--format", format, container)
	if err != nil {
		t.Fatalf("docker inspect %s on %s: %v", container, h.Name, err)
	}
	return strings.TrimSpace(out)
}
