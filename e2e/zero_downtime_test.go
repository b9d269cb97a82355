package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// TestZeroDowntimeDeploy: 4 clients request both web hosts through their
// proxies while `kamal deploy` replaces v1 with v2; no request fails.
func TestZeroDowntimeDeploy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "zero", Web: hostIPs(0, 1)})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.image(t, ctx, "app", "v2")
	web := env.Hosts[:2]
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", web...)

	// Bounded: at most 4 x 20000 requests, and the loop ends with the deploy.
	load := testhosts.StartLoad(ctx, testhosts.LoadOptions{Hosts: web, Host: p.host, Clients: 4, MaxPerClient: 20000, Key: bodyVersion})
	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	// Let the clients see the new version for a moment, then stop them.
	if err := load.StopAfter(ctx, "v2", 20); err != nil {
		t.Fatal(err)
	}
	versions := load.Counts()

	t.Logf("requests: %d ok, %d failed, versions %v", load.OK(), load.Failed(), versions)
	if n := load.Failed(); n > 0 {
		t.Errorf("%d requests failed during the deploy, e.g. %v", n, load.Errors())
	}
	if versions["v1"] == 0 || versions["v2"] == 0 {
		t.Errorf("the loop did not see both versions: %v", versions)
	}
	p.expectVersion(t, ctx, "v2", web...)
}

// bodyVersion is the version an app image answers "/" with
// ("version=v2 host=...").
func bodyVersion(body string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(body, "version="), " ")
	return v
}
