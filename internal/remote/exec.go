package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/kamalgo/kamal/internal/shell"
	"github.com/kamalgo/kamal/internal/syncbuf"
)

// Executor runs commands on a host. Pool runs them over SSH, Local runs
// them on this machine, so orchestration code can treat both alike.
type Executor interface {
	Exec(ctx context.Context, host, cmd string, opts ExecOptions) (Result, error)
	Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error
}

// ExecOptions tune one command.
type ExecOptions struct {
	// Stdin is fed to the command; nil means no input.
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output as it arrives (it is
	// captured in Result as well).
	Stdout, Stderr io.Writer
	// Interactive allocates a TTY (like ssh -t), puts the local terminal in
	// raw mode when stdin is one, and follows window size changes. Stdin,
	// Stdout and Stderr default to the process's own.
	Interactive bool
	// Severity of the "Running"/"Finished" lines. Zero means Info; use
	// Debug for commands Kamal captures quietly (shown only with -v).
	Severity Severity
	// AllowFailure makes a non-zero exit status a normal Result, not an error.
	AllowFailure bool
}

func (o ExecOptions) severity() Severity {
	if o.Severity == 0 {
		return Info
	}
	return o.Severity
}

// Result of a finished command. Stdout and Stderr are the full output.
type Result struct {
	Host       string
	Command    string
	Stdout     string
	Stderr     string
	ExitStatus int
	Duration   time.Duration
}

// CommandError reports a command that exited non-zero. Its fields are
// already redacted. The message follows SSHKit's.
type CommandError struct {
	Host       string
	Command    string
	ExitStatus int
	Stdout     string
	Stderr     string
}

func (e *CommandError) Error() string {
	orNothing := func(s string) string {
		if s = strings.TrimSpace(s); s == "" {
			return "Nothing written"
		}
		return s
	}
	cmd := printableCommand(e.Command)
	return fmt.Sprintf("%s exit status: %d\n%s stdout: %s\n%s stderr: %s",
		cmd, e.ExitStatus, cmd, orNothing(e.Stdout), cmd, orNothing(e.Stderr))
}

// Exec runs cmd on host through its pooled connection.
func (p *Pool) Exec(ctx context.Context, host, cmd string, o ExecOptions) (Result, error) {
	red := p.out.Redactor()
	log := newCommandLog(p.out, o.severity(), host, "on "+host)
	log.started(cmd, o.Interactive)
	start := time.Now()
	res := Result{Host: host, Command: cmd}

	s, release, err := p.session(ctx, host)
	if err != nil {
		return res, log.abort(start, red.Error(err))
	}
	defer release()

	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	outLines := NewLineWriter(log.line)
	errLines := NewLineWriter(log.line)
	s.Stdout = teeWriters(stdout, outLines, o.Stdout)
	s.Stderr = teeWriters(stderr, errLines, o.Stderr)
	s.Stdin = o.Stdin

	var restore func()
	if o.Interactive {
		restore, err = p.startInteractive(s, &o)
		if err != nil {
			return res, log.abort(start, red.Error(fmt.Errorf("setting up terminal on %s: %w", host, err)))
		}
	}

	runErr := runSession(ctx, s, cmd)
	if restore != nil {
		restore()
	}
	outLines.Flush()
	errLines.Flush()

	res.Stdout, res.Stderr, res.Duration = stdout.String(), stderr.String(), time.Since(start)
	status, err := exitStatus(runErr)
	if err != nil {
		return res, log.abort(start, red.Error(fmt.Errorf("running command on %s: %w", host, err)))
	}
	res.ExitStatus = status
	return finishCommand(log, red, res, o)
}

// finishCommand logs a command's end and, unless failure is allowed,
// turns a non-zero exit into a CommandError with redacted fields.
func finishCommand(log *commandLog, red *Redactor, res Result, o ExecOptions) (Result, error) {
	failed := res.ExitStatus != 0 && !o.AllowFailure
	log.finished(res, failed)
	if failed {
		return res, &CommandError{
			Host: res.Host, Command: red.Redact(res.Command), ExitStatus: res.ExitStatus,
			Stdout: red.Redact(res.Stdout), Stderr: red.Redact(res.Stderr),
		}
	}
	return res, nil
}

// runSession runs cmd, killing it if ctx ends first.
func runSession(ctx context.Context, s *ssh.Session, cmd string) error {
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Best effort: OpenSSH refuses signals for sessions that are not
		// privilege-separated (e.g. root logins), and a remote process may
		// outlive the closed channel. We stop waiting either way.
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		return ctx.Err()
	}
}

func exitStatus(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus(), nil
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return -1, errors.New("connection closed before the command reported an exit status")
	}
	return -1, err
}

// startInteractive requests a PTY sized like the local terminal and puts
// the local terminal into raw mode. The returned func restores it.
func (p *Pool) startInteractive(s *ssh.Session, o *ExecOptions) (func(), error) {
	if o.Stdin == nil {
		s.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		s.Stdout = teeWriters(s.Stdout, os.Stdout)
	}
	if o.Stderr == nil {
		s.Stderr = teeWriters(s.Stderr, os.Stderr)
	}
	termType := os.Getenv("TERM")
	if termType == "" {
		termType = "xterm-256color"
	}
	// The local terminal is the one we read from: os.Stdin by default, or
	// the given Stdin when it is a file (a terminal or not).
	in, _ := s.Stdin.(*os.File)
	fd := -1
	if in != nil {
		fd = int(in.Fd())
	}
	width, height := 80, 24
	isTTY := fd >= 0 && term.IsTerminal(fd)
	if isTTY {
		if w, h, err := term.GetSize(fd); err == nil {
			width, height = w, h
		}
	}
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 14400, ssh.TTY_OP_OSPEED: 14400}
	if err := s.RequestPty(termType, height, width, modes); err != nil {
		return nil, err
	}
	if !isTTY {
		return func() {}, nil
	}
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-winch:
				if w, h, err := term.GetSize(fd); err == nil {
					_ = s.WindowChange(h, w)
				}
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(stop)
		_ = term.Restore(fd, state)
	}, nil
}

// Upload writes data to path on host with the given mode, over the pooled
// connection. The content goes to a temporary file next to path, created
// under umask 077 and chmod-ed before it is renamed into place, so the data
// is never readable with a wider mode, and a failed upload leaves the old
// file untouched. Relative paths are relative to the login directory.
func (p *Pool) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	red := p.out.Redactor()
	p.out.upload(host, path)
	s, release, err := p.session(ctx, host)
	if err != nil {
		return red.Error(err)
	}
	defer release()
	var stderr bytes.Buffer
	s.Stdin = bytes.NewReader(data)
	s.Stderr = &stderr
	cmd := uploadCommand(path, mode)
	status, err := exitStatus(runSession(ctx, s, cmd))
	if err != nil {
		return red.Error(fmt.Errorf("uploading %s to %s: %w", path, host, err))
	}
	if status != 0 {
		return red.Error(fmt.Errorf("uploading %s to %s failed (exit status %d): %s", path, host, status, strings.TrimSpace(stderr.String())))
	}
	return nil
}

func uploadCommand(path string, mode os.FileMode) string {
	q := shell.Quote(path)
	return fmt.Sprintf(`t=%s.kamal-upload.$$ && umask 077 && { cat > "$t" && chmod %04o "$t" && mv -f "$t" %s; } || { rc=$?; rm -f "$t"; exit $rc; }`,
		q, mode.Perm(), q)
}

// teeWriters writes to every non-nil writer; errors of optional writers
// (for example a closed terminal) do not abort the command.
func teeWriters(ws ...io.Writer) io.Writer {
	var list []io.Writer
	for _, w := range ws {
		if w != nil {
			list = append(list, w)
		}
	}
	return teeWriter(list)
}

type teeWriter []io.Writer

func (t teeWriter) Write(p []byte) (int, error) {
	for _, w := range t {
		_, _ = w.Write(p)
	}
	return len(p), nil
}
