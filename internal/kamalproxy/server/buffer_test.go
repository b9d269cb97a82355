package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRequestBuffering(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.BufferRequests = true
	to.MaxMemoryBufferSize = 10 // force a spill to disk
	to.MaxRequestBodySize = 100
	if err := p.router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	post := func(body io.Reader) (int, string) {
		res, err := http.Post(p.srv.URL+"/?body=1", "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := post(strings.NewReader(strings.Repeat("y", 50))); status != 200 || body != "a got 50 bytes" {
		t.Fatalf("%d %q", status, body)
	}
	// Chunked (unknown length) body within the limit.
	if status, body := post(io.MultiReader(strings.NewReader(strings.Repeat("y", 60)))); status != 200 || body != "a got 60 bytes" {
		t.Fatalf("chunked: %d %q", status, body)
	}
	if status, body := post(strings.NewReader(strings.Repeat("y", 101))); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "413") {
		t.Fatalf("over limit: %d %q", status, body)
	}
}

func TestResponseBuffering(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.BufferResponses = true
	to.MaxMemoryBufferSize = 16
	to.MaxResponseBodySize = 1000
	if err := p.router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	status, body, h := p.get(t, "x", "/?size=900")
	if status != 200 || len(body) != 900 || h.Get("Content-Length") != "900" {
		t.Fatalf("buffered: %d len=%d %v", status, len(body), h)
	}
	status, body, _ = p.get(t, "x", "/?size=1001")
	if status != http.StatusBadGateway || strings.Contains(body, "xxx") {
		t.Fatalf("oversized: %d %q", status, body)
	}
}

func TestResponseBufferingBypassesSSE(t *testing.T) {
	sse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	up := newTestApp(t, "unused")
	up.srv.Config.Handler = sse
	p := newTestProxy(t)
	to := fastTargetOptions()
	to.BufferResponses = true
	if err := p.router.Deploy("app", []string{up.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(p.srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line := make([]byte, len("data: one\n"))
	if _, err := io.ReadFull(res.Body, line); err != nil || string(line) != "data: one\n" {
		t.Fatalf("event not streamed: %q %v", line, err)
	}
}
