package testhosts

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGetSendsHostHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, "host=%s path=%s", r.Host, r.URL.Path)
	}))
	defer srv.Close()
	status, body, err := Get(context.Background(), srv.URL+"/x", "app.example.test")
	if err != nil || status != http.StatusTeapot || body != "host=app.example.test path=/x" {
		t.Errorf("Get = %d %q %v", status, body, err)
	}
	addr := strings.TrimPrefix(srv.URL, "http://")
	if _, body, _ := Get(context.Background(), srv.URL, ""); body != "host="+addr+" path=/" {
		t.Errorf("Get without host sent %q", body)
	}
}

// TestLoad runs the loop against a server that switches from v1 to v2
// and fails some requests on the way: every request is counted once, by
// key or as a failure, and StopAfter returns once v2 was seen enough.
func TestLoad(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.example.test" || r.URL.Path != "/v" {
			http.Error(w, "wrong route", http.StatusNotFound)
			return
		}
		switch n := served.Add(1); {
		case n%10 == 5:
			http.Error(w, "boom", http.StatusBadGateway)
		case n < 50:
			fmt.Fprintln(w, "version=v1 host=a")
		default:
			fmt.Fprintln(w, "version=v2 host=a")
		}
	}))
	defer srv.Close()
	hosts := []*Host{{Name: "one", IP: strings.TrimPrefix(srv.URL, "http://")}, {Name: "two", IP: strings.TrimPrefix(srv.URL, "http://")}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := StartLoad(ctx, LoadOptions{
		Hosts: hosts, Host: "app.example.test", Path: "/v", Clients: 3, MaxPerClient: 10000,
		Key: func(body string) string {
			v, _, _ := strings.Cut(strings.TrimPrefix(body, "version="), " ")
			return v
		},
	})
	if err := l.StopAfter(ctx, "v2", 20); err != nil {
		t.Fatal(err)
	}
	if l.Seen("v2") < 20 || l.Seen("v1") == 0 {
		t.Errorf("counts = %v, want v1 and at least 20 v2", l.Counts())
	}
	if got := l.Keys(); len(got) != 2 || got[0] != "v1" || got[1] != "v2" {
		t.Errorf("keys = %v, want [v1 v2]", got)
	}
	if l.Failed() == 0 || len(l.Errors()) == 0 || len(l.Errors()) > maxLoadErrors {
		t.Errorf("failed = %d, samples %v", l.Failed(), l.Errors())
	}
	if e := l.Errors()[0]; !strings.Contains(e, "status 502: boom") || !(strings.HasPrefix(e, "one: ") || strings.HasPrefix(e, "two: ")) {
		t.Errorf("failure sample = %q", e)
	}
	if total := l.OK() + l.Failed(); total != served.Load() {
		t.Errorf("ok %d + failed %d != %d requests served", l.OK(), l.Failed(), served.Load())
	}
	select {
	case <-l.Done():
	default:
		t.Error("StopAfter returned with clients still running")
	}
}

// TestLoadIsBounded: with nothing to wait for, the clients stop after
// MaxPerClient requests each and StopAfter returns.
func TestLoadIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "same") }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := StartLoad(ctx, LoadOptions{Hosts: []*Host{{Name: "one", IP: strings.TrimPrefix(srv.URL, "http://")}}, Clients: 2, MaxPerClient: 7})
	if err := l.StopAfter(ctx, "never", 1); err != nil {
		t.Fatal(err)
	}
	if l.OK() != 14 || l.Seen("same") != 14 || l.Failed() != 0 {
		t.Errorf("ok %d, counts %v, failed %d; want 14 answers of \"same\"", l.OK(), l.Counts(), l.Failed())
	}
	cancelled, stop := context.WithCancel(ctx)
	stop()
	if err := StartLoad(ctx, LoadOptions{Hosts: []*Host{{IP: "127.0.0.1:1"}}, Clients: 1, MaxPerClient: 1 << 30}).StopAfter(cancelled, "x", 1); err != context.Canceled {
		t.Errorf("StopAfter with a cancelled context = %v", err)
	}
}

func TestDeployerHelpers(t *testing.T) {
	dir := t.TempDir()
	e := &Env{Registry: "10.77.0.1:5000", RegistryUser: "u", RegistryPassword: "p w", SSHKeyPath: "/k/id", KnownHostsPath: filepath.Join(dir, "known"),
		DeployerDockerHost: "unix:///d.sock", DeployerDockerConfig: "/cfg"}
	if err := os.WriteFile(e.KnownHostsPath, []byte("10.77.0.11 ssh-ed25519 AAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := e.WriteKnownHosts(home); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(home, ".ssh", "known_hosts")
	if b, err := os.ReadFile(p); err != nil || string(b) != "10.77.0.11 ssh-ed25519 AAAA\n" {
		t.Errorf("known_hosts = %q %v", b, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode: %v %v", fi.Mode(), err)
	}
	cmd := e.KamalCommand(context.Background(), "/bin/kamal", "/proj", home, "deploy", "-P")
	if cmd.Dir != "/proj" || strings.Join(cmd.Args, " ") != "/bin/kamal deploy -P" {
		t.Errorf("cmd = %v in %s", cmd.Args, cmd.Dir)
	}
	tailEnv := strings.Join(cmd.Env[len(cmd.Env)-4:], " ")
	if tailEnv != "HOME="+home+" SSH_AUTH_SOCK= DOCKER_HOST=unix:///d.sock DOCKER_CONFIG=/cfg" {
		t.Errorf("env ends with %s", tailEnv)
	}
	want := "registry:\n  server: 10.77.0.1:5000\n  username: u\n  password:\n    - KAMAL_REGISTRY_PASSWORD\n" +
		"builder:\n  arch: amd64\nssh:\n  keys: [ \"/k/id\" ]\n  keys_only: true\n  config: false\n"
	if got := e.RegistryYAML(); got != want {
		t.Errorf("RegistryYAML =\n%s\nwant\n%s", got, want)
	}
	if got := e.SecretsFile(); got != "KAMAL_REGISTRY_PASSWORD=p w\n" {
		t.Errorf("SecretsFile = %q", got)
	}
	if got := e.ProxyRunYAML(); got != "  run:\n    registry: 10.77.0.1:5000\n    repository: kamal/kamal-proxy\n    version: v0.10.0\n" {
		t.Errorf("ProxyRunYAML = %q", got)
	}
}
