package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

// TestMain lets the test binary act as the kamal-proxy executable, so the
// signal handling of `run` is tested in a real separate process.
func TestMain(m *testing.M) {
	if os.Getenv("KAMAL_PROXY_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestRunStopsGracefullyOnSIGTERM starts `kamal-proxy run` as a process,
// deploys through the socket, sends SIGTERM while a request is in flight and
// expects that request to finish with 200, the process to exit 0 and the
// state file to hold the service.
func TestRunStopsGracefullyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "kp.sock")
	cmd := exec.Command(os.Args[0], "run", "--bind=127.0.0.1", "--http-port=0", "--https-port=0", "--http3")
	cmd.Env = append(os.Environ(), "KAMAL_PROXY_TEST_MAIN=1", "HOME="+dir, "KAMAL_PROXY_SOCKET="+sock)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Kill()
	})

	// Wait for "Server started" and read the HTTP port from it.
	lines := bufio.NewScanner(stdout)
	httpPort, http3 := 0, false
	for httpPort == 0 && lines.Scan() {
		// Kamal passes --http3 when proxy.run.http3 is set.
		var entry struct {
			Msg   string `json:"msg"`
			HTTP  int    `json:"http"`
			HTTP3 bool   `json:"http3"`
		}
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.Msg == "Server started" {
			httpPort, http3 = entry.HTTP, entry.HTTP3
		}
	}
	if httpPort == 0 || !http3 {
		t.Fatalf("no start line or HTTP/3 not on; stderr %s", stderr.String())
	}
	var rest bytes.Buffer
	go func() {
		for lines.Scan() {
			rest.Write(append(lines.Bytes(), '\n'))
		}
		exited <- cmd.Wait()
	}()

	entered, release := make(chan struct{}), make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	}))
	defer app.Close()
	t.Setenv("KAMAL_PROXY_SOCKET", sock)
	if code, _, errOut := run(t, "deploy", "app", "--target="+strings.TrimPrefix(app.URL, "http://"), "--health-check-interval=50ms"); code != 0 {
		t.Fatalf("deploy: %s", errOut)
	}

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(httpPort) + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- result{status: res.StatusCode, body: string(b)}
	}()
	<-entered
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The socket goes away first: new commands are refused while the
	// in-flight request is still being served.
	for {
		if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
			break
		}
		if code, _, _ := run(t, "list"); code != 0 {
			break
		}
	}
	close(release)
	if r := <-got; r.err != nil || r.status != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := <-exited; err != nil {
		t.Fatalf("exit: %v; stderr %s", err, stderr.String())
	}
	if !strings.Contains(rest.String(), `"msg":"Server stopped"`) {
		t.Fatalf("no stop line in %q", rest.String())
	}
	state, err := os.ReadFile(filepath.Join(dir, ".config", "kamal-proxy", server.StateFileName))
	if err != nil || !strings.Contains(string(state), `"name":"app"`) {
		t.Fatalf("state: %v %s", err, state)
	}
}

func TestRunFlagEnvOverrides(t *testing.T) {
	t.Setenv("HTTP_PORT", "8080")
	t.Setenv("KAMAL_PROXY_HTTP_PORT", "9090")
	t.Setenv("HTTPS_PORT", "not-a-number")
	t.Setenv("METRICS_PORT", "9100")
	t.Setenv("KAMAL_PROXY_REQUEST_BODY_TIMEOUT", "1m")
	cmd := newRunCommand()
	for flag, want := range map[string]string{"http-port": "9090", "https-port": "443", "metrics-port": "9100", "debug": "false",
		"request-body-timeout": "1m0s", "request-body-min-rate": "500"} {
		if got := cmd.Flags().Lookup(flag).DefValue; got != want {
			t.Errorf("--%s default = %s, want %s", flag, got, want)
		}
	}
}
