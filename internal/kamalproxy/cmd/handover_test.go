package cmd

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startHandoverProcess runs `kamal-proxy run` in home, which the processes
// of a test share (their state directory, as containers share the volume).
func startHandoverProcess(t *testing.T, home, name string) *proxyProcess {
	t.Helper()
	return startProxyAt(t, home, name+".sock", []string{"KAMAL_PROXY_HANDOVER_TEARDOWN_WAIT=0"})
}

func (p *proxyProcess) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
		return nil
	}
}

// TestRunHandsOverToANewProcess: a second `kamal-proxy run` of the same
// state directory takes the traffic over (`ready` says when), the first
// one holds the ports; stopping the new one makes the holder release them
// and exit 0, while a holder stopped itself exits 1 (Docker starts it
// again at boot with restart policy on-failure).
func TestRunHandsOverToANewProcess(t *testing.T) {
	home := t.TempDir()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	defer app.Close()
	get := func(port int) string {
		t.Helper()
		res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}

	old := startHandoverProcess(t, home, "old")
	t.Setenv("KAMAL_PROXY_SOCKET", old.sock)
	if code, _, errOut := run(t, "deploy", "app", "--target="+strings.TrimPrefix(app.URL, "http://"), "--health-check-interval=50ms"); code != 0 {
		t.Fatalf("deploy: %s", errOut)
	}
	next := startHandoverProcess(t, home, "next")
	if next.httpPort != old.httpPort {
		t.Fatalf("new process on port %d, old on %d", next.httpPort, old.httpPort)
	}
	t.Setenv("KAMAL_PROXY_SOCKET", next.sock)
	if code, _, errOut := run(t, "ready", "--timeout=5s"); code != 0 {
		t.Fatalf("ready: %s", errOut)
	}
	if body := get(next.httpPort); body != "app" {
		t.Errorf("GET through the new process: %q", body)
	}
	old.waitForLog(t, 10*time.Second, "Holding the published ports")

	if err := next.stop(t); err != nil {
		t.Fatalf("new process: %v", err)
	}
	select {
	case err := <-old.exited:
		old.exited <- err
		if err != nil {
			t.Fatalf("holder after the release: %v\n%s", err, old.logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the holder did not exit after the release")
	}

	old = startHandoverProcess(t, home, "old2")
	next = startHandoverProcess(t, home, "next2")
	old.waitForLog(t, 10*time.Second, "Holding the published ports")
	err := old.stop(t)
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Errorf("holder stopped with %v, want exit status 1", err)
	}
	if body := get(next.httpPort); body != "app" {
		t.Errorf("GET after the holder stopped: %q", body)
	}
	if err := next.stop(t); err != nil {
		t.Fatalf("new process: %v", err)
	}
}
