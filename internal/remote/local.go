package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/kamalgo/kamal/internal/syncbuf"
)

// localWaitDelay bounds how long Exec waits for the output pipes after the
// shell has exited or been killed: a background child that escaped the
// kill (or a daemon a command started) must not keep kamal waiting.
const localWaitDelay = 5 * time.Second

// Local runs commands on this machine through `sh -c`, with the same
// logging, errors and redaction as Pool. The host argument is only used in
// messages (Kamal's local steps log "as <user>@localhost").
type Local struct {
	Out *Output
	Dir string   // working directory; empty = current
	Env []string // extra KEY=VALUE entries added to the process environment
}

var _ Executor = (*Local)(nil)
var _ Executor = (*Pool)(nil)

func (l *Local) output() *Output {
	if l.Out == nil {
		return Discard()
	}
	return l.Out
}

func localWhere() string {
	name := os.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		return "on localhost"
	}
	return "as " + name + "@localhost"
}

// Exec runs cmd with sh -c. Unless it uses the terminal, the shell gets
// its own process group and a cancelled ctx kills the whole group, so
// children the command started die with it instead of holding its output
// open.
func (l *Local) Exec(ctx context.Context, host, cmd string, o ExecOptions) (Result, error) {
	out := l.output()
	red := out.Redactor()
	if host == "" {
		host = "localhost"
	}
	log := newCommandLog(out, o.severity(), host, localWhere())
	log.started(cmd, o.Interactive)
	start := time.Now()
	res := Result{Host: host, Command: cmd}

	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.WaitDelay = localWaitDelay
	c.Dir = l.Dir
	c.Env = append(os.Environ(), l.Env...)
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	outLines := NewLineWriter(log.line)
	errLines := NewLineWriter(log.line)
	c.Stdin = o.Stdin
	if o.Interactive {
		if o.Stdin == nil {
			c.Stdin = os.Stdin
		}
		if o.Stdout == nil {
			o.Stdout = os.Stdout
		}
		if o.Stderr == nil {
			o.Stderr = os.Stderr
		}
	}
	// A command reading the terminal stays in our process group: in its
	// own group it would be stopped (SIGTTIN) on its first read.
	if !o.Interactive && !readsTerminal(c.Stdin) {
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	}
	c.Stdout = teeWriters(stdout, outLines, o.Stdout)
	c.Stderr = teeWriters(stderr, errLines, o.Stderr)
	runErr := c.Run()
	outLines.Flush()
	errLines.Flush()
	res.Stdout, res.Stderr, res.Duration = stdout.String(), stderr.String(), time.Since(start)

	var ee *exec.ExitError
	switch {
	case runErr == nil:
	case ctx.Err() != nil:
		return res, log.abort(start, red.Error(fmt.Errorf("running %s locally: %w", cmd, ctx.Err())))
	case errors.As(runErr, &ee):
		res.ExitStatus = ee.ExitCode()
	case errors.Is(runErr, exec.ErrWaitDelay) && c.ProcessState != nil:
		// The shell exited but something it started kept the output open.
		res.ExitStatus = c.ProcessState.ExitCode()
	default:
		return res, log.abort(start, red.Error(fmt.Errorf("running %s locally: %w", cmd, runErr)))
	}
	return finishCommand(log, red, res, o)
}

// readsTerminal reports whether r is a terminal.
func readsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Upload writes data to path (relative to Dir) with mode, atomically.
func (l *Local) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	if !filepath.IsAbs(path) && l.Dir != "" {
		path = filepath.Join(l.Dir, path)
	}
	l.output().upload(host, path)
	if err := writeFileAtomic(path, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path, with mode
// set before the data goes in, and renames it into place: readers see the
// old or the new file, never a partial one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".kamal-upload.*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if err := f.Chmod(mode.Perm()); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
