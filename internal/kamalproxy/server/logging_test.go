package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestAccessLogLine checks the fields through both encodings: slog's own
// handler and NewLogHandler's direct one.
func TestAccessLogLine(t *testing.T) {
	t.Run("slog", func(t *testing.T) {
		testAccessLogLine(t, func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) })
	})
	t.Run("direct", func(t *testing.T) {
		testAccessLogLine(t, func(w io.Writer) slog.Handler { return NewLogHandler(w, nil) })
	})
}

func testAccessLogLine(t *testing.T, handler func(io.Writer) slog.Handler) {
	var logs bytes.Buffer
	r := NewRouter(discardLogger(), "", 443)
	srv := newAccessServer(t, r, slog.New(handler(&logs)))
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.LogRequestHeaders = []string{"Cache-Control"}
	to.LogResponseHeaders = []string{"X-App"}
	if err := r.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv+"/foo?x=1", nil)
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, `"msg":"Request"`) {
			json.Unmarshal([]byte(l), &line)
		}
	}
	want := map[string]any{"path": "/foo", "status": float64(200), "service": "app", "target": a.addr(), "method": "GET",
		"query": "x=1", "remote_addr": "1.2.3.4", "proto": "HTTP/1.1", "scheme": "http", "req_cache_control": "no-cache", "resp_x_app": "a"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("duration missing: %v", line)
	}
}
