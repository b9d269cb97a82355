package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	m := NewMetrics()
	m.observe("app", "GET", 200, 0.003)
	m.observe("app", "BREW", 404, 1)
	m.observe("", "GET", 404, 0.0001)  // unrouted
	m.observe("app", "GET", 200, 0.02) // a cached series
	m.inFlightGauge("app").Inc()
	m.inFlightGauge("app").Inc()
	m.inFlightGauge("app").Dec()
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/any/path", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	out := rec.Body.String()
	for _, want := range []string{
		`kamal_proxy_http_requests_total{method="GET",service="app",status="200"} 2`,
		`kamal_proxy_http_requests_total{method="OTHER",service="app",status="404"} 1`,
		`kamal_proxy_http_requests_total{method="GET",service="",status="404"} 1`,
		`kamal_proxy_http_request_duration_seconds_bucket{method="GET",service="app",status="200",le="0.005"} 1`,
		`kamal_proxy_http_request_duration_seconds_bucket{method="GET",service="app",status="200",le="0.025"} 2`,
		`kamal_proxy_http_request_duration_seconds_count{method="OTHER",service="app",status="404"} 1`,
		`kamal_proxy_http_in_flight_requests{service="app"} 1`,
		"# TYPE kamal_proxy_http_request_duration_seconds histogram",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
