package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSlowHeadersAreCut(t *testing.T) {
	dir := t.TempDir()
	srv := NewServer(Config{Bind: "127.0.0.1", StateDir: dir, SocketPath: filepath.Join(dir, "s.sock"), Logger: discardLogger(), ReadHeaderTimeout: 200 * time.Millisecond})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	conn, err := net.Dial("tcp", srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // never finishes the headers
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server kept a slowloris connection open")
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	dir := t.TempDir()
	srv := NewServer(Config{Bind: "127.0.0.1", StateDir: dir, SocketPath: filepath.Join(dir, "s.sock"), Logger: discardLogger()})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	a := newTestApp(t, "a")
	if err := srv.Router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	res := make(chan string, 1)
	go func() {
		r, err := http.Get("http://" + srv.HTTPAddr() + "/?sleep=300")
		if err != nil {
			res <- err.Error()
			return
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		res <- fmt.Sprint(r.StatusCode, " ", string(b))
	}()
	waitFor(t, func() bool { return a.hits.Load() == 1 })
	srv.Stop()
	if got := <-res; got != "200 a /?sleep=300" {
		t.Fatalf("in-flight request during shutdown: %q", got)
	}
	if _, err := net.Dial("unix", filepath.Join(dir, "s.sock")); err == nil {
		t.Fatal("command socket still accepting")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	srv := NewServer(Config{Bind: "127.0.0.1", StateDir: dir, SocketPath: filepath.Join(dir, "s.sock"), Logger: discardLogger(), MetricsPort: -1}) // any non-zero port enables metrics; 0 below picks a free one
	srv.cfg.MetricsPort = 0
	srv.metrics = NewMetrics()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	a := newTestApp(t, "a")
	so := hostOpts()
	to := fastTargetOptions()
	to.ExcludeMetricsPaths = []string{"/skip"}
	if err := srv.Router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), so, to); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/x", "/skip"} {
		r, err := http.Get("http://" + srv.HTTPAddr() + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	r, err := http.Get("http://" + srv.MetricsAddr() + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	out := string(body)
	if !strings.Contains(out, `kamal_proxy_http_requests_total{method="GET",service="app",status="200"} 1`) {
		t.Fatalf("metrics:\n%s", out)
	}
	if !strings.Contains(out, "process_resident_memory_bytes") {
		t.Errorf("no process metrics")
	}
}

func TestStartFailsCleanlyWhenPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := free.Addr().String()
	free.Close()
	dir := t.TempDir()
	srv := NewServer(Config{Bind: "127.0.0.1", HTTPPort: free.Addr().(*net.TCPAddr).Port, HTTPSPort: port, StateDir: dir, SocketPath: filepath.Join(dir, "s.sock"), Logger: discardLogger()})
	err = srv.Start()
	if err == nil || !strings.Contains(err.Error(), "https listener") {
		t.Fatalf("err = %v", err)
	}
	// The HTTP listener opened before the failure must be released.
	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		t.Fatalf("http port still held: %v", err)
	}
	ln.Close()
}
