package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

// TestLogHandlerMatchesJSONHandler: the access log's own encoding writes
// the same bytes as slog.JSONHandler (apart from the time), escapes
// included, and other records pass through unchanged.
func TestLogHandlerMatchesJSONHandler(t *testing.T) {
	values := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"<html>&amp;", "caf\u00e9 \u65e5\u672c", "sep\u2028\u2029end", "bad \xff\xfe utf8", "\U0001F600"}
	emit := func(f fieldSink) {
		for i, v := range values {
			f.str("k"+string(rune('a'+i)), v)
		}
		f.num("n", -42)
		f.num("big", 1<<62)
		f.str("weird\"key\n", "v")
	}
	var ours, std bytes.Buffer
	logFields(context.Background(), slog.New(NewLogHandler(&ours, nil)), "Request", emit)
	logFields(context.Background(), slog.New(slog.NewJSONHandler(&std, nil)), "Request", emit)
	timeField := regexp.MustCompile(`^\{"time":"([^"]+)",`)
	m := timeField.FindStringSubmatch(ours.String())
	if m == nil {
		t.Fatalf("no time field: %s", ours.String())
	}
	if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
		t.Errorf("time %q: %v", m[1], err)
	}
	if a, b := timeField.ReplaceAllString(ours.String(), "{"), timeField.ReplaceAllString(std.String(), "{"); a != b {
		t.Errorf("lines differ:\nours %s\nstd  %s", a, b)
	}
	var v map[string]any
	if err := json.Unmarshal(ours.Bytes(), &v); err != nil {
		t.Errorf("not JSON: %v", err)
	}

	ours.Reset()
	std.Reset()
	for _, h := range []struct {
		buf *bytes.Buffer
		h   slog.Handler
	}{{&ours, NewLogHandler(&ours, &slog.HandlerOptions{Level: slog.LevelWarn})}, {&std, slog.NewJSONHandler(&std, &slog.HandlerOptions{Level: slog.LevelWarn})}} {
		l := slog.New(h.h)
		l.Info("dropped")
		l.With("svc", "a").Warn("Target unhealthy", "target", "x:1", "n", 3)
	}
	if a, b := timeField.ReplaceAllString(ours.String(), "{"), timeField.ReplaceAllString(std.String(), "{"); a != b {
		t.Errorf("other records differ:\nours %s\nstd  %s", a, b)
	}
}
