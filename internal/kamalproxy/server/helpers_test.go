package server

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testApp is an upstream with a health path, a slow path, header echo and a
// minimal WebSocket echo.
type testApp struct {
	name    string
	srv     *httptest.Server
	healthy atomic.Bool
	hits    atomic.Int64
	sockets atomic.Int64 // WebSocket upgrades served
}

func newTestApp(t *testing.T, name string) *testApp {
	t.Helper()
	a := &testApp{name: name}
	a.healthy.Store(true)
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.close)
	return a
}

func (a *testApp) addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *testApp) close() {
	a.srv.CloseClientConnections()
	a.srv.Close()
}

func (a *testApp) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/up":
		if !a.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
		return
	case r.URL.Path == "/ws":
		a.sockets.Add(1)
		serveEchoWebSocket(w, r)
		return
	}
	a.hits.Add(1)
	if ms := r.URL.Query().Get("sleep"); ms != "" {
		n, _ := strconv.Atoi(ms)
		select {
		case <-time.After(time.Duration(n) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	if n := r.URL.Query().Get("size"); n != "" {
		size, _ := strconv.Atoi(n)
		w.Header().Set("Content-Length", n)
		w.Write([]byte(strings.Repeat("x", size)))
		return
	}
	if r.URL.Query().Get("body") != "" {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s got %d bytes", a.name, len(b))
		return
	}
	w.Header().Set("X-App", a.name)
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-Id", "X-Request-Start", "X-Kamal-Target"} {
		w.Header().Set("Echo-"+h, r.Header.Get(h))
	}
	w.Header().Set("Echo-Host", r.Host)
	fmt.Fprintf(w, "%s %s?%s", a.name, r.URL.Path, r.URL.RawQuery)
}

func serveEchoWebSocket(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
	brw.Flush()
	// Echo raw bytes; the proxy does not look inside frames.
	io.Copy(conn, brw)
}

// dialWebSocket performs the upgrade through addr and returns the raw conn.
func dialWebSocket(t *testing.T, addr, host string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket upgrade: status %d", res.StatusCode)
	}
	return conn, br
}

// testProxy is a router behind a real loopback listener.
type testProxy struct {
	router *Router
	srv    *httptest.Server
}

func newTestProxy(t *testing.T) *testProxy {
	t.Helper()
	r := NewRouter(discardLogger(), t.TempDir(), 443)
	srv, closeFast := newPlainServer(t, r, discardLogger(), 0)
	t.Cleanup(func() {
		closeFast()
		srv.CloseClientConnections()
		srv.Close()
		r.Shutdown()
	})
	return &testProxy{router: r, srv: srv}
}

// newPlainServer starts the proxy's plain-HTTP serving on loopback as
// Server.Start does: the fast loop in front of net/http with the access
// handler. The access log names port. closeFast closes the fast loop's
// connections; srv.Close closes the rest.
func newPlainServer(t *testing.T, r *Router, log *slog.Logger, port int) (srv *httptest.Server, closeFast func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewUnstartedServer(&accessHandler{next: r, log: log, port: port})
	fast := plainHTTP(ln, port, srv.Config, r, log, nil)
	srv.Listener = fast.listener()
	go fast.serve()
	srv.Start()
	return srv, func() { fast.Close() }
}

func fastDeploy() DeploymentOptions {
	return DeploymentOptions{DeployTimeout: 5 * time.Second, DrainTimeout: 5 * time.Second}
}

func fastTargetOptions() TargetOptions {
	to := DefaultTargetOptions()
	to.HealthCheckConfig.Interval = 20 * time.Millisecond
	to.HealthCheckConfig.Timeout = time.Second
	return to
}

func (p *testProxy) deploy(t *testing.T, name string, so ServiceOptions, apps ...*testApp) {
	t.Helper()
	var addrs []string
	for _, a := range apps {
		addrs = append(addrs, a.addr())
	}
	if err := p.router.Deploy(name, addrs, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
		t.Fatalf("deploy %s: %v", name, err)
	}
}

func hostOpts(hosts ...string) ServiceOptions {
	so := DefaultServiceOptions()
	so.Hosts = hosts
	return so
}

// get sends a request with the given Host and returns status and body.
func (p *testProxy) get(t *testing.T, host, path string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.srv.URL+path, nil)
	req.Host = host
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func newAccessServer(t *testing.T, r *Router, log *slog.Logger) string {
	t.Helper()
	srv, closeFast := newPlainServer(t, r, log, 80)
	t.Cleanup(func() { closeFast(); srv.Close(); r.Shutdown() })
	return srv.URL
}

// startLoggedServer starts a server on loopback with cfg's options, a fresh
// state directory and socket, logging JSON. stop stops it (the test's end
// does too, if it has not) and returns the whole log.
func startLoggedServer(t *testing.T, cfg Config) (srv *Server, stop func() string) {
	t.Helper()
	dir := t.TempDir()
	var logs bytes.Buffer // read only once the server has stopped
	cfg.Bind, cfg.StateDir, cfg.SocketPath = "127.0.0.1", filepath.Join(dir, "state"), filepath.Join(dir, "kp.sock")
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	srv = NewServer(cfg)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() string {
		once.Do(srv.Stop)
		return logs.String()
	}
	t.Cleanup(func() { stop() })
	return srv, stop
}
