package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestClientIPHeader: with --client-ip-header the named header replaces the
// incoming X-Forwarded-For; forward-headers then appends the peer, without
// them the peer alone is sent. The access log's remote_addr shows it.
func TestClientIPHeader(t *testing.T) {
	var logs bytes.Buffer
	r := NewRouter(discardLogger(), t.TempDir(), 443)
	t.Cleanup(r.Shutdown)
	url := newAccessServer(t, r, slog.New(slog.NewJSONHandler(&logs, nil)))
	a := newTestApp(t, "a")
	for _, fwd := range []bool{true, false} {
		name := map[bool]string{true: "fwd", false: "nofwd"}[fwd]
		to := fastTargetOptions()
		to.ForwardHeaders, to.ClientIPHeader = fwd, "CF-Connecting-IP"
		if err := r.Deploy(name, []string{a.addr()}, nil, fastDeploy(), hostOpts(name+".test"), to); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		host, cfIP, want string
	}{
		{"fwd.test", "9.9.9.9", "9.9.9.9, 127.0.0.1"},
		{"nofwd.test", "9.9.9.9", "127.0.0.1"},
		{"fwd.test", "", "1.2.3.4, 127.0.0.1"}, // header absent: the usual rule
	}
	for _, tc := range tests {
		logs.Reset()
		req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
		req.Host = tc.host
		req.Header.Set("X-Forwarded-For", "1.2.3.4")
		if tc.cfIP != "" {
			req.Header.Set("CF-Connecting-IP", tc.cfIP)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Echo-X-Forwarded-For"); got != tc.want {
			t.Errorf("%s cf=%q: XFF %q, want %q", tc.host, tc.cfIP, got, tc.want)
		}
		if tc.cfIP != "" {
			var line struct {
				RemoteAddr string `json:"remote_addr"`
			}
			json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line)
			if line.RemoteAddr != tc.cfIP {
				t.Errorf("%s: log remote_addr %q in %s", tc.host, line.RemoteAddr, logs.String())
			}
		}
	}
}

// TestReadTargetWebsockets: WebSocket upgrades go to writers unless
// --read-target-websockets sends them to readers.
func TestReadTargetWebsockets(t *testing.T) {
	for _, toReaders := range []bool{false, true} {
		p := newTestProxy(t)
		w, rd := newTestApp(t, "writer"), newTestApp(t, "reader")
		so := hostOpts("ws.test")
		so.ReadTargetsAcceptWebsockets = toReaders
		if err := p.router.Deploy("app", []string{w.addr()}, []string{rd.addr()}, fastDeploy(), so, fastTargetOptions()); err != nil {
			t.Fatal(err)
		}
		conn, _ := dialWebSocket(t, strings.TrimPrefix(p.srv.URL, "http://"), "ws.test")
		conn.Close()
		if got, want := rd.sockets.Load(), map[bool]int64{false: 0, true: 1}[toReaders]; got != want || w.sockets.Load() != 1-want {
			t.Fatalf("read-target-websockets=%v: reader %d, writer %d", toReaders, got, w.sockets.Load())
		}
	}
}

func TestForwardedHeaders(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	p.deploy(t, "fwd", hostOpts("fwd.test"), a)
	noFwd := hostOpts("nofwd.test")
	to := fastTargetOptions()
	to.ForwardHeaders = false
	if err := p.router.Deploy("nofwd", []string{a.addr()}, nil, fastDeploy(), noFwd, to); err != nil {
		t.Fatal(err)
	}
	send := func(host string) http.Header {
		req, _ := http.NewRequest(http.MethodGet, p.srv.URL+"/", nil)
		req.Host = host
		req.Header.Set("X-Forwarded-For", "1.2.3.4")
		req.Header.Set("X-Forwarded-Proto", "https")
		if host == "fwd.test" {
			req.Header.Set("X-Request-Id", "given-id")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header
	}
	h := send("fwd.test")
	if got := h.Get("Echo-X-Forwarded-For"); got != "1.2.3.4, 127.0.0.1" {
		t.Errorf("forwarded XFF = %q", got)
	}
	if got := h.Get("Echo-X-Forwarded-Proto"); got != "https" {
		t.Errorf("forwarded XFP = %q", got)
	}
	if got := h.Get("Echo-X-Request-Id"); got != "given-id" {
		t.Errorf("request id = %q", got)
	}
	if got := h.Values("X-Request-Id"); len(got) != 1 || got[0] != "given-id" {
		t.Errorf("echoed request id = %q", got)
	}
	if got := h.Get("Echo-X-Kamal-Target"); got != a.addr() {
		t.Errorf("X-Kamal-Target = %q", got)
	}
	if got := h.Get("Echo-Host"); got != "fwd.test" {
		t.Errorf("Host = %q", got)
	}
	h = send("nofwd.test")
	if got := h.Get("Echo-X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("XFF without forwarding = %q", got)
	}
	if got := h.Get("Echo-X-Forwarded-Proto"); got != "http" {
		t.Errorf("XFP without forwarding = %q", got)
	}
	if got := h.Get("Echo-X-Forwarded-Host"); got != "nofwd.test" {
		t.Errorf("XFH without forwarding = %q", got)
	}
	start := h.Get("Echo-X-Request-Start")
	var ms int64
	if _, err := fmt.Sscanf(start, "t=%d", &ms); err != nil || ms < time.Now().Add(-time.Minute).UnixMilli() {
		t.Errorf("X-Request-Start = %q", start)
	}
	if id := h.Get("Echo-X-Request-Id"); len(id) != 36 || id[14] != '4' {
		t.Errorf("generated request id = %q", id)
	}
}
