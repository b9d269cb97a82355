package remote

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// readPID reads the pid a test command wrote to path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	return pid
}

// awaitExit waits for pid (not our child) to exit, through a pidfd so it
// is an event rather than polling; the bound only turns a hang into a
// failure.
func awaitExit(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // already gone
	}
	if err != nil {
		t.Fatalf("pidfd_open: %v", err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 60_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if n == 0 {
			t.Fatalf("process %d still running after the command was cancelled", pid)
		}
		return
	}
}

// Cancelling a command kills what it started too: a background child
// holding stdout would otherwise keep Exec (and kamal after Ctrl-C) waiting.
func TestLocalCancelKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := writerFunc(func(b []byte) {
		if strings.Contains(string(b), "started") {
			cancel()
		}
	})
	l := &Local{}
	_, err := l.Exec(ctx, "", "sleep 600 & echo $! > "+pidFile+"; echo started; wait", ExecOptions{Stdout: stdout})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	awaitExit(t, readPID(t, pidFile))
}

// A command that leaves a daemon holding its output still finishes, with
// the shell's exit status, once the wait for the pipes runs out.
func TestLocalBackgroundChildDoesNotHang(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Cleanup(func() {
		if data, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	})
	l := &Local{}
	res, err := l.Exec(context.Background(), "", "sleep 600 & echo $! > "+pidFile+"; echo done", ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitStatus != 0 || res.Stdout != "done\n" {
		t.Errorf("res = %+v", res)
	}
}

// A command whose stdin is a terminal keeps our process group (in its own
// it would be stopped on reading); anything else gets a group of its own.
func TestReadsTerminal(t *testing.T) {
	_, tty := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tt := range []struct {
		name string
		in   io.Reader
		want bool
	}{{"pty", tty, true}, {"pipe", r, false}, {"reader", strings.NewReader("x"), false}, {"nil", nil, false}} {
		if got := readsTerminal(tt.in); got != tt.want {
			t.Errorf("%s: readsTerminal = %v, want %v", tt.name, got, tt.want)
		}
	}
}
