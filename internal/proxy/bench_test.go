package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkProxyRequest measures one small keep-alive request through the
// router and a real upstream (go test -bench ProxyRequest -benchmem).
func BenchmarkProxyRequest(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "13")
		io.WriteString(w, "hello, world\n")
	}))
	defer up.Close()
	r := NewRouter(discardLogger(), "", 443)
	defer r.Shutdown()
	to := DefaultTargetOptions()
	to.HealthCheckConfig.Path = "/"
	if err := r.Deploy("bench", []string{strings.TrimPrefix(up.URL, "http://")}, nil, DeploymentOptions{}, DefaultServiceOptions(), to); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(&accessHandler{next: r, log: discardLogger()})
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Get(srv.URL + "/x")
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
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Get(up.URL + "/x")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}
