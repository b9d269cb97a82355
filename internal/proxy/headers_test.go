package proxy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
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
