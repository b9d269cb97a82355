package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTargetTimeoutGives504AndRefusedGives502(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.ResponseTimeout = 100 * time.Millisecond
	if err := p.router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := p.get(t, "x", "/?sleep=2000"); status != http.StatusGatewayTimeout || !strings.Contains(body, "504") {
		t.Fatalf("timeout: %d %q", status, body)
	}
	a.close()
	if status, _, _ := p.get(t, "x", "/"); status != http.StatusBadGateway {
		t.Fatalf("refused: %d", status)
	}
}

func TestUpstreamErrorsPassThrough(t *testing.T) {
	up := newTestApp(t, "a")
	up.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			return
		}
		w.WriteHeader(503)
		fmt.Fprint(w, "app says no")
	})
	p := newTestProxy(t)
	p.deploy(t, "app", hostOpts(), up)
	if status, body, _ := p.get(t, "x", "/"); status != 503 || body != "app says no" {
		t.Fatalf("%d %q", status, body)
	}
}

// TestInflightList: requests leave the target's list in any order, a
// second release changes nothing, and a drain waits for exactly the
// requests in flight.
func TestInflightList(t *testing.T) {
	tg, err := NewTarget("127.0.0.1:1", false, fastTargetOptions(), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		n := 0
		for f := tg.inflight; f != nil; f = f.next {
			n++
		}
		return n
	}
	fs := make([]*inflight, 4)
	for i := range fs {
		fs[i] = new(inflight)
		if !tg.register(fs[i]) {
			t.Fatal("register refused")
		}
	}
	tg.release(fs[1]) // middle
	tg.release(fs[3]) // head
	tg.release(fs[1]) // again: no effect
	if n := count(); n != 2 {
		t.Fatalf("%d requests in flight, want 2", n)
	}
	drained := make(chan struct{})
	go func() {
		tg.drain(time.Minute, true)
		close(drained)
	}()
	waitFor(t, func() bool { return tg.State() == TargetDraining })
	if tg.register(new(inflight)) {
		t.Error("a draining target took a request")
	}
	tg.release(fs[0])
	select {
	case <-drained:
		t.Fatal("the drain ended with a request in flight")
	default:
	}
	tg.release(fs[2])
	<-drained
	if n := count(); n != 0 {
		t.Errorf("%d requests in flight after the drain, want 0", n)
	}
}
