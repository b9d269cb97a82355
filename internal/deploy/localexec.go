package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kamalgo/kamal/internal/remote"
)

// runHookProcess runs a hook command line locally with `sh -c`, logging it
// like remote commands. The hook gets its own process group, so a
// cancelled run (Ctrl-C) kills the hook and everything it started rather
// than leaving children that hold its output open.
func (k *Kamal) runHookProcess(ctx context.Context, cmdline string, env []string, o remote.ExecOptions) error {
	red := k.Out.Redactor()
	sev := o.Severity
	if sev == 0 {
		sev = remote.Info
	}
	id := commandID()
	k.Out.Log(sev, id, fmt.Sprintf("Running %s %s", cmdline, localWhere()))
	k.Out.Log(remote.Debug, id, "Command: "+cmdline)
	start := time.Now()

	c := exec.Command("sh", "-c", cmdline)
	c.Env = append(os.Environ(), env...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr lockedBuffer
	debug := &lineLogger{fn: func(line string) { k.Out.Log(remote.Debug, id, "\t"+line) }}
	c.Stdout = io.MultiWriter(&stdout, debug, nonNil(o.Stdout))
	c.Stderr = io.MultiWriter(&stderr, debug, nonNil(o.Stderr))
	if err := c.Start(); err != nil {
		return red.Error(fmt.Errorf("running %s locally: %w", cmdline, err))
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
		debug.flush()
		return red.Error(fmt.Errorf("running %s locally: %w", cmdline, ctx.Err()))
	}
	debug.flush()
	status := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		status = ee.ExitCode()
	default:
		return red.Error(fmt.Errorf("running %s locally: %w", cmdline, err))
	}
	result := "successful"
	if status != 0 {
		result = "failed"
	}
	k.Out.Log(sev, id, fmt.Sprintf("Finished in %5.3f seconds with exit status %d (%s).", time.Since(start).Seconds(), status, result))
	if status != 0 {
		return &remote.CommandError{Host: "localhost", Command: red.Redact(cmdline), ExitStatus: status,
			Stdout: red.Redact(stdout.String()), Stderr: red.Redact(stderr.String())}
	}
	return nil
}

func nonNil(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// commandID is 8 hex characters, like SSHKit's command ids.
func commandID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// localWhere is how SSHKit names the local host: "as <user>@localhost".
func localWhere() string {
	name := os.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name = strings.TrimSpace(name); name == "" {
		return "on localhost"
	}
	return "as " + name + "@localhost"
}
