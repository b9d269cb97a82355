package cmd

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/syncbuf"
)

// proxyProcess is `kamal-proxy run` as a separate process (this test binary,
// see TestMain) with its own home, state directory and command socket.
type proxyProcess struct {
	cmd       *exec.Cmd
	home      string
	sock      string
	logs      syncbuf.Buffer // stdout: the JSON log
	stderr    syncbuf.Buffer
	httpPort  int
	httpsPort int
	exited    chan error
}

// startProxy runs `kamal-proxy run --bind=127.0.0.1 --http-port=0
// --https-port=0 args...` with env added, and returns once it has logged
// "Server started". The process is killed when the test ends.
func startProxy(t *testing.T, env []string, args ...string) *proxyProcess {
	t.Helper()
	return startProxyAt(t, t.TempDir(), "kp.sock", env, args...)
}

// startProxyAt is startProxy with a given home, which processes may share,
// and socket file name in it.
func startProxyAt(t *testing.T, home, sock string, env []string, args ...string) *proxyProcess {
	t.Helper()
	p := &proxyProcess{home: home, exited: make(chan error, 1)}
	p.sock = filepath.Join(p.home, sock)
	p.cmd = exec.Command(os.Args[0], append([]string{"run", "--bind=127.0.0.1", "--http-port=0", "--https-port=0"}, args...)...)
	p.cmd.Env = append(append(os.Environ(), "KAMAL_PROXY_TEST_MAIN=1", "HOME="+p.home, "KAMAL_PROXY_SOCKET="+p.sock), env...)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	started := make(chan [2]int, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		var once sync.Once
		for lines.Scan() {
			p.logs.Write(append(lines.Bytes(), '\n'))
			var entry struct {
				Msg   string `json:"msg"`
				HTTP  int    `json:"http"`
				HTTPS int    `json:"https"`
			}
			if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.Msg == "Server started" {
				once.Do(func() { started <- [2]int{entry.HTTP, entry.HTTPS} })
			}
		}
		p.exited <- p.cmd.Wait()
	}()
	select {
	case ports := <-started:
		p.httpPort, p.httpsPort = ports[0], ports[1]
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("kamal-proxy exited before starting: %v\n%s%s", err, p.logs.String(), p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("kamal-proxy did not start:\n%s%s", p.logs.String(), p.stderr.String())
	}
	return p
}

// waitForLog waits until the log has a line containing every one of parts
// and returns it.
func (p *proxyProcess) waitForLog(t *testing.T, timeout time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.logs.String(), "\n") {
			if containsAll(line, parts) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %s:\n%s", parts, timeout, p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsAll(s string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}
