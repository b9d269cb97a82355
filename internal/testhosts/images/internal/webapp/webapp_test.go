package webapp

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHealthcheck: only a 200 from the URL is healthy; an error status or
// nothing listening fails.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/up" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	defer srv.Close()

	tests := []struct {
		name    string
		url     string
		status  int
		healthy bool
	}{
		{"ok", srv.URL + "/up", http.StatusOK, true},
		{"error status", srv.URL + "/up", http.StatusInternalServerError, false},
		{"wrong path", srv.URL + "/nope", http.StatusOK, false},
		{"nothing listening", gone.URL + "/up", http.StatusOK, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status = tt.status
			err := Healthcheck(tt.url)
			if got := err == nil; got != tt.healthy {
				t.Errorf("Healthcheck(%s) with status %d = %v, want healthy %v", tt.url, tt.status, err, tt.healthy)
			}
		})
	}
}
