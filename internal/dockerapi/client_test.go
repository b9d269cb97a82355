package dockerapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"

	"github.com/kamalgo/kamal/internal/remote"
)

// fakeEngine serves a few Engine API answers on a local Unix socket, the
// way an old Engine would: it speaks API 1.41 and nothing newer.
type fakeEngine struct {
	mu    sync.Mutex
	paths []string // request paths, in order
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	w.Header().Set("Api-Version", "1.41")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/_ping":
		_, _ = w.Write([]byte("OK"))
	case strings.HasSuffix(r.URL.Path, "/containers/json"):
		_, _ = w.Write([]byte(`[{"Id":"abc","Names":["/web-1"],"State":"running"}]`))
	case strings.HasSuffix(r.URL.Path, "/containers/nope/json"):
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"No such container: nope"}`))
	case strings.HasSuffix(r.URL.Path, "/images/create"):
		for _, line := range []string{
			`{"status":"Pulling from app","id":"v1"}`,
			`{"status":"Downloading","progressDetail":{"current":10,"total":100},"id":"f00"}`,
			`{"status":"Pull complete","progressDetail":{},"id":"f00"}`,
			`{"status":"Status: Downloaded newer image for app:v1"}`,
		} {
			_, _ = w.Write([]byte(line + "\n"))
		}
		if r.URL.Query().Get("tag") == "broken" {
			_, _ = w.Write([]byte(`{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}` + "\n"))
		}
	default:
		w.WriteHeader(http.StatusNotImplemented)
	}
}

func (f *fakeEngine) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

// socketDialer dials local sockets as if they were on host; refused makes
// every dial fail as an sshd that forbids forwarding would.
type socketDialer struct {
	refused bool
	dials   int
	mu      sync.Mutex
}

func (d *socketDialer) DialUnix(ctx context.Context, host, path string) (net.Conn, error) {
	d.mu.Lock()
	d.dials++
	d.mu.Unlock()
	if d.refused {
		return nil, &remote.UnixSocketError{Host: host, Path: path, Reason: "open failed"}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, "unix", path)
}

func startFakeEngine(t *testing.T) (*fakeEngine, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{}
	srv := &http.Server{Handler: f}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return f, sock
}

func TestClientNegotiatesDownAndKeepsDaemonWording(t *testing.T) {
	f, sock := startFakeEngine(t)
	c, err := New(&socketDialer{}, "vm1", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if v, err := c.Ping(ctx); err != nil || v != "1.41" {
		t.Fatalf("Ping = %q, %v; want 1.41", v, err)
	}
	list, err := c.Containers(ctx, ListOptions{All: true, Filters: []string{"label=service=app", "name=^web-1$"}})
	if err != nil || len(list) != 1 || list[0].ID != "abc" {
		t.Fatalf("Containers = %+v, %v", list, err)
	}
	reqs := f.requests()
	last := reqs[len(reqs)-1]
	if !strings.HasPrefix(last, "GET /v1.41/containers/json?") || !strings.Contains(last, "all=1") ||
		!strings.Contains(last, "label%22%3A%7B%22service%3Dapp%22%3Atrue") {
		t.Errorf("list request = %s", last)
	}

	_, err = c.Inspect(ctx, "nope")
	if err == nil || err.Error() != "Error response from daemon: No such container: nope" || !IsNotFound(err) {
		t.Errorf("Inspect(nope) = %v, want the docker CLI's wording and a not-found error", err)
	}
}

func TestPullProgressAsTheCLIPrintsIt(t *testing.T) {
	_, sock := startFakeEngine(t)
	c, err := New(&socketDialer{}, "vm1", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var lines []string
	if err := c.Pull(context.Background(), "app:v1", &Auth{Server: "r", Username: "u", Password: "p"}, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	want := []string{"v1: Pulling from app", "f00: Pull complete", "Status: Downloaded newer image for app:v1"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("progress = %q, want %q", lines, want)
	}
	err = c.Pull(context.Background(), "app:broken", nil, nil)
	if err == nil || err.Error() != "unexpected EOF" {
		t.Errorf("Pull of a failing stream = %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		m    jsonstream.Message
		want string
		ok   bool
	}{
		{jsonstream.Message{Status: "Waiting", ID: "a"}, "a: Waiting", true},
		{jsonstream.Message{Status: "Downloading", ID: "a", Progress: &jsonstream.Progress{Current: 1}}, "", false},
		{jsonstream.Message{Status: "Pull complete", ID: "a", Progress: &jsonstream.Progress{}}, "a: Pull complete", true},
		{jsonstream.Message{Status: "Digest: sha256:1"}, "Digest: sha256:1", true},
		{jsonstream.Message{}, "", false},
	} {
		if got, ok := progressLine(tc.m); got != tc.want || ok != tc.ok {
			t.Errorf("progressLine(%+v) = %q, %v; want %q, %v", tc.m, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFilters(t *testing.T) {
	f, err := Filters([]string{"label=service=app", "label=role=web", "status=running"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]bool{
		"label":  {"service=app": true, "role=web": true},
		"status": {"running": true},
	}
	if !reflect.DeepEqual(map[string]map[string]bool(f), want) {
		t.Errorf("Filters = %v", f)
	}
	for _, bad := range []string{"running", "=x"} {
		if _, err := Filters([]string{bad}); err == nil {
			t.Errorf("Filters(%q) succeeded", bad)
		}
	}
}

func TestEnginesFallBackOncePerHost(t *testing.T) {
	_, sock := startFakeEngine(t)
	var log bytes.Buffer
	out := remote.NewOutput(&log, remote.LevelVerbose, nil)
	d := &socketDialer{refused: true}
	e := NewEngines(d, out, false)
	e.socket = sock
	defer e.Close()
	ctx := context.Background()
	firstProbe := 0
	for i := range 3 {
		if api := e.API(ctx, "vm1"); api != nil {
			t.Fatal("API client for a host whose sshd refuses the socket")
		}
		if i == 0 {
			firstProbe = d.dials
		}
	}
	if d.dials != firstProbe {
		t.Errorf("dialed %d times, want only during the first probe (%d)", d.dials, firstProbe)
	}
	if n := strings.Count(log.String(), "Docker API not reachable on vm1, using the docker CLI"); n != 1 {
		t.Errorf("fallback said %d times, want once:\n%s", n, log.String())
	}
	var refused *remote.UnixSocketError
	if !errors.As(e.Reason("vm1"), &refused) {
		t.Errorf("Reason = %v", e.Reason("vm1"))
	}

	cliErr := errors.New("docker: permission denied while trying to connect to the Docker daemon socket\n")
	err := e.Unusable("vm1", cliErr)
	var both *UnusableError
	if !errors.As(err, &both) || !errors.Is(err, cliErr) ||
		!strings.HasPrefix(err.Error(), "cannot use Docker on vm1: the Docker API: sshd on vm1 refused to connect to ") ||
		!strings.HasSuffix(err.Error(), "; the docker CLI: docker: permission denied while trying to connect to the Docker daemon socket") {
		t.Errorf("Unusable = %v", err)
	}

	ok := NewEngines(&socketDialer{}, out, false)
	ok.socket = sock
	defer ok.Close()
	if api := ok.API(ctx, "vm2"); api == nil || api.APIVersion() != "1.41" {
		t.Fatalf("API(vm2) = %v", api)
	}
	if err := ok.Unusable("vm2", cliErr); err != cliErr {
		t.Errorf("Unusable on an API host = %v, want the CLI error as is", err)
	}
}

func TestEnginesForcedCLI(t *testing.T) {
	_, sock := startFakeEngine(t)
	var log bytes.Buffer
	d := &socketDialer{}
	e := NewEngines(d, remote.NewOutput(&log, remote.LevelVerbose, nil), true)
	e.socket = sock
	if api := e.API(context.Background(), "vm1"); api != nil || d.dials != 0 {
		t.Errorf("forced CLI: API = %v after %d dials", api, d.dials)
	}
	if log.Len() != 0 {
		t.Errorf("forced CLI logged %q", log.String())
	}
	t.Setenv(ForceCLIEnv, "1")
	if !ForcedCLI() {
		t.Error("ForcedCLI false with KAMAL_DOCKER_CLI=1")
	}
	t.Setenv(ForceCLIEnv, "")
	if ForcedCLI() {
		t.Error("ForcedCLI true without KAMAL_DOCKER_CLI")
	}
}
