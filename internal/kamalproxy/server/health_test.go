package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHealthCheckURL(t *testing.T) {
	tests := []struct {
		addr string
		hc   HealthCheckConfig
		want string
	}{
		{"web:3000", HealthCheckConfig{Path: "/up"}, "http://web:3000/up"},
		{"web:3000", HealthCheckConfig{Path: "health"}, "http://web:3000/health"},
		{"web:3000", HealthCheckConfig{Path: "/up", Port: 9000}, "http://web:9000/up"},
		{"web", HealthCheckConfig{Path: "/up", Port: 81}, "http://web:81/up"},
	}
	for _, tc := range tests {
		if got := healthCheckURL(tc.addr, tc.hc); got != tc.want {
			t.Errorf("%s %+v: %s, want %s", tc.addr, tc.hc, got, tc.want)
		}
	}
}

func TestHealthCheck(t *testing.T) {
	var gotHost, gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			gotHost, gotUA = r.Host, r.UserAgent()
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	hc := HealthCheckConfig{Timeout: 200 * time.Millisecond, Host: "app.internal"}
	tests := []struct {
		path string
		ok   bool
	}{
		{"/ok", true},    // any 2xx
		{"/moved", true}, // redirects are followed
		{"/fail", false}, // 500
		{"/slow", false}, // per-check timeout
	}
	for _, tc := range tests {
		hc.Path = tc.path
		err := checkOnce(context.Background(), addr, hc)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.path, err)
		}
	}
	if gotHost != "app.internal" || gotUA != "kamal-proxy" {
		t.Fatalf("host=%q ua=%q", gotHost, gotUA)
	}
}

func TestUnhealthyTargetLeavesRotation(t *testing.T) {
	a, b := newTestApp(t, "a"), newTestApp(t, "b")
	pool, err := NewPool([]string{a.addr(), b.addr()}, nil, DefaultServiceOptions(), fastTargetOptions(), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	pool.StartHealthChecks()
	defer pool.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pool.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	b.healthy.Store(false)
	waitFor(t, func() bool { return len(*pool.healthyW.Load()) == 1 })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for range 4 {
		if got := pool.pick(req, &reqState{}); got.addr != a.addr() {
			t.Fatalf("picked unhealthy %s", got.addr)
		}
	}
	// If every target fails, the ones that were healthy keep serving.
	a.healthy.Store(false)
	waitFor(t, func() bool { return pool.writers[0].State() == TargetUnhealthy })
	if pool.pick(req, &reqState{}) == nil {
		t.Fatal("no fallback target")
	}
}

func TestSpillBuffer(t *testing.T) {
	tests := []struct {
		name      string
		mem, max  int64
		size      int
		spills    bool
		wantError bool
	}{
		{"memory only", 100, 0, 50, false, false},
		{"spills to disk", 10, 0, 50, true, false},
		{"limit exceeded", 10, 40, 50, true, true},
		{"exact limit", 10, 50, 50, true, false},
		{"empty", 10, 0, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newSpillBuffer(tc.mem, tc.max)
			data := strings.Repeat("z", tc.size)
			_, err := b.ReadFrom(strings.NewReader(data))
			if (err != nil) != tc.wantError {
				t.Fatalf("err = %v", err)
			}
			if tc.wantError {
				if err != ErrMaximumSizeExceeded {
					t.Fatalf("err = %v", err)
				}
				b.Close()
				return
			}
			if (b.file != nil) != tc.spills {
				t.Fatalf("spilled = %v", b.file != nil)
			}
			var name string
			if b.file != nil {
				name = b.file.Name()
			}
			got, _ := io.ReadAll(b)
			if string(got) != data || b.Len() != int64(tc.size) {
				t.Fatalf("read back %d bytes", len(got))
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if name != "" {
				if _, err := os.Stat(name); !os.IsNotExist(err) {
					t.Fatalf("temp file left behind: %v", err)
				}
			}
		})
	}
}
