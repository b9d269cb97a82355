package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCustomErrorPages(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "503.html"), []byte("<p>custom: {{.Message}}</p>"), 0o644)
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	so := hostOpts()
	so.ErrorPagePath = dir
	p.deploy(t, "app", so, a)
	if err := p.router.Stop("app", time.Second, "maintenance"); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := p.get(t, "x", "/"); status != 503 || body != "<p>custom: maintenance</p>" {
		t.Fatalf("%d %q", status, body)
	}
	// Built-in page for codes the directory lacks.
	p.router.Resume("app")
	a.close()
	if status, body, _ := p.get(t, "x", "/"); status != 502 || !strings.Contains(body, "502") {
		t.Fatalf("%d %q", status, body)
	}
	// A directory without pages fails the deploy and leaves the service as it was.
	empty := t.TempDir()
	so.ErrorPagePath = empty
	b := newTestApp(t, "b")
	err := p.router.Deploy("app", []string{b.addr()}, nil, fastDeploy(), so, fastTargetOptions())
	if err == nil || err.Error() != "unable to load error pages" {
		t.Fatalf("err = %v", err)
	}
}
