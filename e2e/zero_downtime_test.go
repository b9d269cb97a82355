package e2e

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// loadResult counts what a request loop saw.
type loadResult struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	versions   map[string]int
	errors     []string
	finished   chan struct{} // closed when every client stopped
}

func (r *loadResult) seen(version string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.versions[version]
}

func (r *loadResult) record(version string, failure string) {
	if failure != "" {
		r.failed.Add(1)
		r.mu.Lock()
		if len(r.errors) < 10 {
			r.errors = append(r.errors, failure)
		}
		r.mu.Unlock()
		return
	}
	r.ok.Add(1)
	r.mu.Lock()
	r.versions[version]++
	r.mu.Unlock()
}

// requestLoop sends requests from clients goroutines, alternating over
// hosts, until stop is closed or each client sent maxPerClient requests.
func requestLoop(ctx context.Context, p *appProject, hosts []*testhosts.Host, clients, maxPerClient int, stop <-chan struct{}) *loadResult {
	res := &loadResult{versions: map[string]int{}, finished: make(chan struct{})}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxPerClient; i++ {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				h := hosts[(c+i)%len(hosts)]
				status, body, err := p.get(ctx, h, "/")
				switch {
				case err != nil:
					res.record("", h.Name+": "+err.Error())
				case status != 200:
					res.record("", h.Name+": status "+strings.TrimSpace(body))
				default:
					v, _, _ := strings.Cut(strings.TrimPrefix(body, "version="), " ")
					res.record(v, "")
				}
			}
		}()
	}
	go func() { wg.Wait(); close(res.finished) }()
	return res
}

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

	stop := make(chan struct{})
	// Bounded: at most 4 x 20000 requests, and the loop ends with the deploy.
	res := requestLoop(ctx, p, web, 4, 20000, stop)
	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	// Let the clients see the new version for a moment, then stop them.
	for res.seen("v2") < 20 {
		select {
		case <-res.finished:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	close(stop)
	<-res.finished

	t.Logf("requests: %d ok, %d failed, versions %v", res.ok.Load(), res.failed.Load(), res.versions)
	if n := res.failed.Load(); n > 0 {
		t.Errorf("%d requests failed during the deploy, e.g. %v", n, res.errors)
	}
	if res.versions["v1"] == 0 || res.versions["v2"] == 0 {
		t.Errorf("the loop did not see both versions: %v", res.versions)
	}
	p.expectVersion(t, ctx, "v2", web...)
}
