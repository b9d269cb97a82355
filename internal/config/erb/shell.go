package erb

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// processStatus is Ruby's Process::Status, what $? holds after a backtick.
type processStatus struct {
	pid  int
	code int // -1 when a signal ended the command
}

// backtick runs a `cmd` or %x(cmd) as Ruby does: a command that exits
// non-zero does not raise; its output is the value, its status goes to $?
// and its standard error has already reached the terminal.
func (ev *evaluator) backtick(cmd string, n node) (Value, error) {
	var (
		out string
		st  *processStatus
		err error
	)
	if ev.opts.Shell != nil {
		out, err = ev.opts.Shell(cmd)
		var exit interface{ ExitCode() int }
		switch {
		case err == nil:
			st = &processStatus{}
		case errors.As(err, &exit):
			st, err = &processStatus{code: exit.ExitCode()}, nil
			var withPid interface{ Pid() int }
			if errors.As(exit.(error), &withPid) {
				st.pid = withPid.Pid()
			}
		}
	} else {
		out, st, err = ev.runShell(cmd)
	}
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return nil, raiseAt(n, "Errno::ENOENT", "No such file or directory - %s", firstWord(cmd))
		}
		return nil, errAt(n, "command `%s` failed: %v", cmd, err)
	}
	ev.status = st
	return out, nil
}

// runShell runs cmd with sh -c, its standard error to Options.Stderr.
// Like Ruby, a simple command (no shell syntax) whose program cannot be
// found is an error (Errno::ENOENT) rather than a shell's exit status 127.
func (ev *evaluator) runShell(cmd string) (string, *processStatus, error) {
	if simpleCommand(cmd) {
		if _, err := exec.LookPath(firstWord(cmd)); err != nil {
			return "", nil, err
		}
	}
	c := exec.Command("sh", "-c", cmd)
	var out bytes.Buffer
	c.Stdin = os.Stdin
	c.Stdout = &out
	c.Stderr = ev.opts.Stderr
	err := c.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), &processStatus{pid: c.Process.Pid, code: 0}, nil
	case errors.As(err, &exit):
		return out.String(), &processStatus{pid: exit.Pid(), code: exit.ExitCode()}, nil
	}
	return "", nil, err
}

// shellMeta are the characters for which Ruby hands a command to /bin/sh
// instead of running the program itself.
const shellMeta = "*?{}[]<>()~&|\\$;'`\"\n#=%"

// shellWords are reserved words and special built-ins of sh, which Ruby
// also leaves to the shell.
var shellWords = map[string]bool{
	"case": true, "do": true, "done": true, "elif": true, "else": true, "esac": true, "fi": true,
	"for": true, "if": true, "in": true, "then": true, "until": true, "while": true, "!": true,
	":": true, ".": true, "break": true, "continue": true, "eval": true, "exec": true, "exit": true,
	"export": true, "readonly": true, "return": true, "set": true, "shift": true, "times": true,
	"trap": true, "unset": true,
}

func simpleCommand(cmd string) bool {
	w := firstWord(cmd)
	return w != "" && !strings.ContainsAny(cmd, shellMeta) && !shellWords[w]
}

func firstWord(cmd string) string {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func (s *processStatus) String() string {
	if s.code < 0 {
		return fmt.Sprintf("pid %d signaled", s.pid)
	}
	return fmt.Sprintf("pid %d exit %d", s.pid, s.code)
}

// statusMethod implements Process::Status.
func statusMethod(s *processStatus, name string, args []Value, n node) (Value, error) {
	if len(args) != 0 {
		return nil, unsupported(n)
	}
	switch name {
	case "success?":
		if s.code < 0 {
			return nil, nil
		}
		return s.code == 0, nil
	case "exitstatus":
		if s.code < 0 {
			return nil, nil
		}
		return int64(s.code), nil
	case "to_i":
		if s.code < 0 {
			return nil, unsupported(n)
		}
		return int64(s.code) << 8, nil
	case "pid":
		return int64(s.pid), nil
	case "exited?":
		return s.code >= 0, nil
	case "signaled?":
		return s.code < 0, nil
	case "to_s":
		return s.String(), nil
	case "inspect":
		return "#<Process::Status: " + s.String() + ">", nil
	}
	return nil, unsupported(n)
}

// global reads a global variable; only the ones below are known.
func (ev *evaluator) global(n *globalNode) (Value, error) {
	switch n.name {
	case "$?":
		if ev.status == nil {
			return nil, nil
		}
		return ev.status, nil
	case "$!":
		if ev.current == nil {
			return nil, nil
		}
		return ev.current, nil
	case "$stdout":
		return ev.stdout(), nil
	case "$stderr":
		return ev.stderr(), nil
	case "$~":
		if ev.lastMatch == nil {
			return nil, nil
		}
		return ev.lastMatch, nil
	}
	if g, err := strconv.Atoi(n.name[1:]); err == nil && g > 0 {
		if ev.lastMatch == nil {
			return nil, nil
		}
		return ev.lastMatch.group(g), nil
	}
	return nil, unsupported(n)
}
