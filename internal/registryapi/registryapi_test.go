package registryapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
	}{
		{"app", Ref{Repository: "app", Tag: "latest"}},
		{"dhh/app:v1", Ref{Repository: "dhh/app", Tag: "v1"}},
		{"10.77.0.1:5000/e2e/app:v2", Ref{Server: "10.77.0.1:5000", Repository: "e2e/app", Tag: "v2"}},
		{"localhost/app:x", Ref{Server: "localhost", Repository: "app", Tag: "x"}},
		{"ghcr.io/o/app", Ref{Server: "ghcr.io", Repository: "o/app", Tag: "latest"}},
	} {
		got, err := ParseRef(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// registry serves e2e/app:v1 over plain HTTP, behind basic or bearer auth.
func registry(t *testing.T, bearer bool) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		goodBasic := ok && user == "u" && pass == "p"
		switch {
		case r.URL.Path == "/token":
			if !goodBasic || r.URL.Query().Get("scope") != "repository:e2e/app:pull" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"token":"t0k"}`)
			return
		case bearer && r.Header.Get("Authorization") != "Bearer t0k":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test",scope="repository:e2e/app:pull"`, srv.URL))
			w.WriteHeader(http.StatusUnauthorized)
			return
		case !bearer && !goodBasic:
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodHead || !strings.Contains(r.Header.Get("Accept"), "manifest") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/v2/e2e/app/manifests/v1" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestExists(t *testing.T) {
	for _, bearer := range []bool{false, true} {
		srv := registry(t, bearer)
		server := strings.TrimPrefix(srv.URL, "http://")
		c := &Client{}
		ctx := context.Background()
		if err := c.Exists(ctx, Ref{Server: server, Repository: "e2e/app", Tag: "v1", Username: "u", Password: "p"}); err != nil {
			t.Errorf("bearer=%v: existing tag: %v", bearer, err)
		}
		if err := c.Exists(ctx, Ref{Server: server, Repository: "e2e/app", Tag: "v9", Username: "u", Password: "p"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("bearer=%v: missing tag: %v", bearer, err)
		}
		if err := c.Exists(ctx, Ref{Server: server, Repository: "e2e/app", Tag: "v1", Username: "u", Password: "wrong"}); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("bearer=%v: wrong password: %v", bearer, err)
		}
	}
}
