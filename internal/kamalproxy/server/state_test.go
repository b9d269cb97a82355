package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStateWriteReplacesTheFile shows the write is temp file + rename: a
// reader that opened the old file keeps seeing a complete old document, the
// path shows the complete new one, and no temp file is left behind.
func TestStateWriteReplacesTheFile(t *testing.T) {
	dir := t.TempDir()
	a := newTestApp(t, "a")
	r := NewRouter(discardLogger(), dir, 443)
	t.Cleanup(r.Shutdown)
	if err := r.Deploy("one", []string{a.addr()}, nil, fastDeploy(), hostOpts("one.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, StateFileName)
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := r.Deploy("two", []string{a.addr()}, nil, fastDeploy(), hostOpts("two.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	count := func(data []byte) int {
		var raw []map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatalf("state is not complete JSON: %v %s", err, data)
		}
		return len(raw)
	}
	oldData, _ := io.ReadAll(old)
	newData, _ := os.ReadFile(path)
	if count(oldData) != 1 || count(newData) != 2 {
		t.Fatalf("old %s\nnew %s", oldData, newData)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, StateFileName+".tmp-*")); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}

	// A write that cannot be renamed into place (the path is a non-empty
	// directory) keeps nothing half-written and leaves no temp file.
	os.Remove(path)
	os.MkdirAll(filepath.Join(path, "x"), 0o700)
	r.mu.Lock()
	err = r.writeState()
	r.mu.Unlock()
	if err == nil {
		t.Fatal("write over a directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, StateFileName+".tmp-*")); len(left) != 0 {
		t.Fatalf("temp files left after a failed write: %v", left)
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, b := newTestApp(t, "a"), newTestApp(t, "b")
	r1 := NewRouter(discardLogger(), dir, 443)
	so := hostOpts("one.test")
	so.PathPrefixes = []string{"/api"}
	if err := r1.Deploy("api", []string{a.addr()}, []string{b.addr()}, fastDeploy(), so, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if err := r1.Deploy("root", []string{b.addr()}, nil, fastDeploy(), hostOpts("one.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if err := r1.Stop("root", time.Second, "later"); err != nil {
		t.Fatal(err)
	}
	r1.Shutdown()
	data, err := os.ReadFile(filepath.Join(dir, StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(data, &raw); err != nil || len(raw) != 2 {
		t.Fatalf("state: %v %s", err, data)
	}
	for _, key := range []string{"name", "options", "target_options", "active_targets", "active_readers", "rollout_targets", "rollout_readers", "pause_controller", "rollout_controller"} {
		if _, ok := raw[0][key]; !ok {
			t.Errorf("state lacks %q", key)
		}
	}
	if hc := raw[0]["target_options"].(map[string]any)["health_check_config"].(map[string]any); hc["interval"] != float64(20*time.Millisecond) {
		t.Errorf("durations must be integer nanoseconds: %v", hc["interval"])
	}

	r2 := NewRouter(discardLogger(), dir, 443)
	if err := r2.RestoreState(); err != nil {
		t.Fatal(err)
	}
	defer r2.Shutdown()
	again, _ := r2.MarshalState()
	if !bytes.Equal(again, data) {
		t.Fatalf("round trip differs:\n%s\n%s", data, again)
	}
	list := r2.List()
	if list["root"].State != "stopped" || list["api"].Target != a.addr()+","+b.addr() || list["api"].Path != "/api" {
		t.Fatalf("restored: %+v", list)
	}
}

func TestLegacyStateAndCorruptState(t *testing.T) {
	dir := t.TempDir()
	a := newTestApp(t, "a")
	legacy := fmt.Sprintf(`[{"name":"old","active_target":%q,"hosts":["Legacy.test"],"options":{},"target_options":{"health_check_config":{"path":"/up","interval":1000000000,"timeout":1000000000}}}]`, a.addr())
	os.WriteFile(filepath.Join(dir, StateFileName), []byte(legacy), 0o600)
	r := NewRouter(discardLogger(), dir, 443)
	if err := r.RestoreState(); err != nil {
		t.Fatal(err)
	}
	if got := r.List()["old"]; got.Host != "legacy.test" || got.Target != a.addr() {
		t.Fatalf("legacy: %+v", got)
	}
	r.Shutdown()

	var logs bytes.Buffer
	os.WriteFile(filepath.Join(dir, StateFileName), []byte("[{not json"), 0o600)
	r = NewRouter(slog.New(slog.NewJSONHandler(&logs, nil)), dir, 443)
	if err := r.RestoreState(); err == nil {
		t.Fatal("corrupt state accepted")
	}
	if len(r.List()) != 0 || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("services=%d logs=%s", len(r.List()), logs.String())
	}
	matches, _ := filepath.Glob(filepath.Join(dir, StateFileName+".corrupt-*"))
	if len(matches) != 1 {
		t.Fatalf("corrupt file not kept aside: %v", matches)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFileName)); !os.IsNotExist(err) {
		t.Fatalf("corrupt file still in place: %v", err)
	}
}
