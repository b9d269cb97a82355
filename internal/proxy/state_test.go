package proxy

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
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
