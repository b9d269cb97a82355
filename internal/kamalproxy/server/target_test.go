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
