package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/acme/autocert"
)

func TestOnDemandChecker(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cached.test"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "rsa.test+rsa"), []byte("x"), 0o600)
	asked := 0
	handlers := map[string]http.HandlerFunc{
		"ok":      func(w http.ResponseWriter, r *http.Request) { asked++ },
		"stopped": func(w http.ResponseWriter, r *http.Request) { asked++; w.WriteHeader(http.StatusServiceUnavailable) },
		// Held like a paused service until the check gives up, answering nothing.
		"held": func(w http.ResponseWriter, r *http.Request) { asked++; <-r.Context().Done() },
	}
	tests := []struct {
		handler, host string
		allowed       bool
		asks          int
	}{
		{"ok", "new.test", true, 1},
		{"stopped", "new.test", false, 1},
		{"held", "new.test", false, 1},
		{"stopped", "cached.test", true, 0},
		{"stopped", "cached.test.", true, 0},
		{"stopped", "rsa.test", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.handler+" "+tc.host, func(t *testing.T) {
			asked = 0
			c := &onDemandChecker{url: "/check", cache: autocert.DirCache(dir), local: handlers[tc.handler], log: discardLogger()}
			ctx, cancel := context.WithCancel(t.Context())
			if tc.handler == "held" {
				cancel() // stands in for the 2 s limit
			}
			defer cancel()
			err := c.allow(ctx, tc.host)
			if (err == nil) != tc.allowed || asked != tc.asks {
				t.Fatalf("err=%v asked=%d", err, asked)
			}
		})
	}
	u, err := checkURL("https://auth.test/check?key=a%20b", "x.test")
	if err != nil || u.String() != "https://auth.test/check?host=x.test&key=a+b" {
		t.Fatalf("%v %v", u, err)
	}
}
