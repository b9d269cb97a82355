package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkProxyRequest measures one small keep-alive request through the
// router and a real upstream (go test -bench ProxyRequest -benchmem).
func BenchmarkProxyRequest(b *testing.B) {
	r := benchRouter(b)
	srv := httptest.NewServer(&accessHandler{next: r, log: slog.New(NewLogHandler(io.Discard, nil))})
	defer srv.Close()
	benchGets(b, srv.URL+"/x")
}

// BenchmarkFastLoopRequest is BenchmarkProxyRequest through the fast loop,
// as the plain-HTTP port serves it.
func BenchmarkFastLoopRequest(b *testing.B) {
	r := benchRouter(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(NewLogHandler(io.Discard, nil))
	srv := &http.Server{Handler: &accessHandler{next: r, log: log}}
	fs := plainHTTP(ln, 80, srv, r, log, nil)
	go fs.serve()
	go srv.Serve(fs.listener())
	defer srv.Close()
	defer fs.Close()
	benchGets(b, "http://"+ln.Addr().String()+"/x")
}

// benchRouter routes every host to an upstream answering 13 bytes.
func benchRouter(b *testing.B) *Router {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "13")
		io.WriteString(w, "hello, world\n")
	}))
	b.Cleanup(up.Close)
	r := NewRouter(discardLogger(), "", 443)
	b.Cleanup(r.Shutdown)
	to := DefaultTargetOptions()
	to.HealthCheckConfig.Path = "/"
	if err := r.Deploy("bench", []string{strings.TrimPrefix(up.URL, "http://")}, nil, DeploymentOptions{}, DefaultServiceOptions(), to); err != nil {
		b.Fatal(err)
	}
	return r
}

// benchGets sends GET url on keep-alive connections from parallel clients.
func benchGets(b *testing.B, url string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}

// BenchmarkDirectRequest is the baseline for BenchmarkProxyRequest.
func BenchmarkDirectRequest(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "13")
		io.WriteString(w, "hello, world\n")
	}))
	defer up.Close()
	benchGets(b, up.URL+"/x")
}

// BenchmarkMetricsObserve is the metrics work done for every request.
func BenchmarkMetricsObserve(b *testing.B) {
	m := NewMetrics()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g := m.inFlightGauge("app")
			g.Inc()
			m.observe("app", "GET", 200, 0.0002)
			g.Dec()
		}
	})
}

// BenchmarkAccessLog is the JSON access-log line written for every request,
// through slog.JSONHandler and through NewLogHandler (what the binary uses).
func BenchmarkAccessLog(b *testing.B) {
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{{"slog", slog.NewJSONHandler(io.Discard, nil)}, {"direct", NewLogHandler(io.Discard, nil)}} {
		b.Run(c.name, func(b *testing.B) {
			h := &accessHandler{log: slog.New(c.h), port: 80}
			r := httptest.NewRequest(http.MethodGet, "http://app.test/x?y=1", nil)
			r.Header.Set("User-Agent", "bench")
			lw := &logWriter{ResponseWriter: httptest.NewRecorder(), status: 200, bytes: 13}
			st := &reqState{service: "app", target: "10.0.0.1:80"}
			b.ReportAllocs()
			for b.Loop() {
				h.logRequest(r, lw, st, "0b6e0c4e-8a1f-4b5e-9d7c-1f2e3d4c5b6a", 200, 200*time.Microsecond)
			}
		})
	}
}
