package cmd

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestMissingSocketIsAClearError(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("KAMAL_PROXY_SOCKET", sock)
	code, _, stderr := run(t, "list")
	if code != 1 || !strings.HasPrefix(stderr, "Error: dial unix "+sock) || !strings.Contains(stderr, "is kamal-proxy running?") {
		t.Fatalf("code=%d stderr=%q", code, stderr)
	}
}

func TestSocketPathRules(t *testing.T) {
	t.Setenv("KAMAL_PROXY_SOCKET", "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/7")
	if got := server.SocketPath(); got != "/run/user/7/kamal-proxy.sock" {
		t.Fatal(got)
	}
	t.Setenv("KAMAL_PROXY_SOCKET", "/x.sock")
	if got := server.SocketPath(); got != "/x.sock" {
		t.Fatal(got)
	}
}

// TestClientServerRoundTrip drives a real server through the CLI over the
// Unix socket: deploy, list, stop, resume, remove.
func TestClientServerRoundTrip(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "kp.sock")
	t.Setenv("KAMAL_PROXY_SOCKET", sock)
	srv := server.NewServer(server.Config{Bind: "127.0.0.1", StateDir: filepath.Join(dir, "state"), SocketPath: sock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer app.Close()
	target := strings.TrimPrefix(app.URL, "http://")

	if code, _, stderr := run(t, "deploy", "web", "--target="+target, "--host=Web.Test", "--health-check-interval=50ms"); code != 0 {
		t.Fatalf("deploy: %s", stderr)
	}
	get := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/", nil)
		req.Host = "web.test"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := get(); status != 200 || body != "hello" {
		t.Fatalf("%d %q", status, body)
	}
	_, out, _ := run(t, "ls")
	if !strings.Contains(out, "web") || !strings.Contains(out, "web.test") || !strings.Contains(out, target) || !strings.Contains(out, "running") {
		t.Fatalf("list: %q", out)
	}
	if code, _, stderr := run(t, "stop", "web", "--message=Upgrading", "--drain-timeout=1s"); code != 0 {
		t.Fatal(stderr)
	}
	if status, body := get(); status != 503 || !strings.Contains(body, "Upgrading") {
		t.Fatalf("%d %q", status, body)
	}
	run(t, "resume", "web")
	if status, _ := get(); status != 200 {
		t.Fatalf("after resume: %d", status)
	}
	if code, _, stderr := run(t, "rm", "web"); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := run(t, "remove", "web"); code != 1 || strings.TrimSpace(stderr) != "Error: service not found" {
		t.Fatalf("second remove: %d %q", code, stderr)
	}
}

func TestSocketPathFallsBackToTempDir(t *testing.T) {
	t.Setenv("KAMAL_PROXY_SOCKET", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("TMPDIR", "/var/tmp/x")
	if got := server.SocketPath(); got != "/var/tmp/x/kamal-proxy.sock" {
		t.Fatal(got)
	}
}
