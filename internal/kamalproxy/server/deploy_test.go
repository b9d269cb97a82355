package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDeployFailingHealthCheckKeepsOldTargets(t *testing.T) {
	p := newTestProxy(t)
	good := newTestApp(t, "good")
	bad := newTestApp(t, "bad")
	bad.healthy.Store(false)
	p.deploy(t, "app", hostOpts(), good)

	opts := DeploymentOptions{DeployTimeout: 300 * time.Millisecond, DrainTimeout: time.Second}
	err := p.router.Deploy("app", []string{bad.addr()}, nil, opts, hostOpts(), fastTargetOptions())
	if err == nil || err.Error() != "target failed to become healthy within configured timeout (300ms)" {
		t.Fatalf("err = %v", err)
	}
	if _, body, _ := p.get(t, "x", "/"); !strings.HasPrefix(body, "good ") {
		t.Fatalf("old target not serving: %q", body)
	}
}

func TestDeployWaitsForAllTargets(t *testing.T) {
	p := newTestProxy(t)
	a, b := newTestApp(t, "a"), newTestApp(t, "b")
	b.healthy.Store(false)
	done := make(chan error, 1)
	go func() {
		done <- p.router.Deploy("app", []string{a.addr(), b.addr()}, nil, fastDeploy(), hostOpts(), fastTargetOptions())
	}()
	select {
	case err := <-done:
		t.Fatalf("deploy returned before all targets were healthy: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	b.healthy.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 4 {
		_, body, _ := p.get(t, "x", "/")
		seen[strings.Fields(body)[0]] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("round robin did not use both targets: %v", seen)
	}
}

func TestForceDeploySkipsHealthWait(t *testing.T) {
	p := newTestProxy(t)
	bad := newTestApp(t, "bad")
	bad.healthy.Store(false)
	opts := DeploymentOptions{DeployTimeout: time.Hour, DrainTimeout: time.Second, Force: true}
	if err := p.router.Deploy("app", []string{bad.addr()}, nil, opts, hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	// Not yet passed a check: 503.
	if status, _, _ := p.get(t, "x", "/"); status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status)
	}
}

func TestDrainLetsInFlightRequestsFinish(t *testing.T) {
	p := newTestProxy(t)
	a, b := newTestApp(t, "a"), newTestApp(t, "b")
	p.deploy(t, "app", hostOpts(), a)

	res := make(chan string, 1)
	go func() {
		_, body, _ := p.get(t, "x", "/slow?sleep=400")
		res <- body
	}()
	waitFor(t, func() bool { return a.hits.Load() == 1 })
	start := time.Now()
	if err := p.router.Deploy("app", []string{b.addr()}, nil, fastDeploy(), hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if body := <-res; !strings.HasPrefix(body, "a /slow") {
		t.Fatalf("in-flight request failed: %q", body)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Fatal("deploy returned before the in-flight request finished")
	}
	if _, body, _ := p.get(t, "x", "/"); !strings.HasPrefix(body, "b ") {
		t.Fatalf("new target not serving: %q", body)
	}
}

func TestDrainTimeoutCancelsWith504(t *testing.T) {
	p := newTestProxy(t)
	a, b := newTestApp(t, "a"), newTestApp(t, "b")
	p.deploy(t, "app", hostOpts(), a)
	res := make(chan int, 1)
	go func() {
		status, _, _ := p.get(t, "x", "/slow?sleep=10000")
		res <- status
	}()
	waitFor(t, func() bool { return a.hits.Load() == 1 })
	opts := DeploymentOptions{DeployTimeout: 5 * time.Second, DrainTimeout: 100 * time.Millisecond}
	if err := p.router.Deploy("app", []string{b.addr()}, nil, opts, hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if status := <-res; status != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", status)
	}
}

func TestDrainClosesWebSockets(t *testing.T) {
	p := newTestProxy(t)
	a, b := newTestApp(t, "a"), newTestApp(t, "b")
	p.deploy(t, "app", hostOpts(), a)
	conn, br := dialWebSocket(t, strings.TrimPrefix(p.srv.URL, "http://"), "x")
	defer conn.Close()
	conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo: %q %v", buf, err)
	}
	// Drain timeout is long; the WebSocket must not hold the deploy.
	opts := DeploymentOptions{DeployTimeout: 5 * time.Second, DrainTimeout: time.Minute}
	done := make(chan error, 1)
	go func() {
		done <- p.router.Deploy("app", []string{b.addr()}, nil, opts, hostOpts(), fastTargetOptions())
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deploy blocked by a WebSocket")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("websocket still open after drain")
	}
}

func TestPauseStopResume(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	p.deploy(t, "app", hostOpts(), a)

	if err := p.router.Stop("app", time.Second, "Back at <b>noon</b>"); err != nil {
		t.Fatal(err)
	}
	status, body, _ := p.get(t, "x", "/")
	if status != 503 || !strings.Contains(body, "Back at &lt;b&gt;noon&lt;/b&gt;") {
		t.Fatalf("stopped: %d %q", status, body)
	}
	if status, body, _ := p.get(t, "x", "/up"); status != 200 || body != "" {
		t.Fatalf("health while stopped: %d %q", status, body)
	}

	if err := p.router.Pause("app", time.Second, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := p.get(t, "x", "/"); status != http.StatusGatewayTimeout {
		t.Fatalf("expired pause: %d", status)
	}
	if err := p.router.Pause("app", time.Second, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	held := make(chan string, 1)
	go func() { _, body, _ := p.get(t, "x", "/held"); held <- body }()
	svc, _ := p.router.service("app")
	waitFor(t, func() bool { return svc.pause.waiting.Load() == 1 })
	if err := p.router.Resume("app"); err != nil {
		t.Fatal(err)
	}
	if body := <-held; body != "a /held?" {
		t.Fatalf("held request: %q", body)
	}
	if err := p.router.Resume("missing"); !errors.Is(err, ErrServiceNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestStopFailsHeldRequests(t *testing.T) {
	pc := NewPauseController()
	pc.Pause(time.Minute)
	var wg sync.WaitGroup
	wg.Add(1)
	var action pauseAction
	var msg string
	go func() { defer wg.Done(); action, msg = pc.wait(nil) }()
	waitFor(t, func() bool { return pc.waiting.Load() == 1 })
	pc.Stop("gone")
	wg.Wait()
	if action != pauseWasStopped || msg != "gone" {
		t.Fatalf("got %v %q", action, msg)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
