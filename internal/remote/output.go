package remote

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kamalgo/kamal/internal/progress"
)

// Level is how much the plain log prints.
type Level int

const (
	// LevelQuiet prints errors only (-q).
	LevelQuiet Level = iota
	// LevelDefault prints INFO lines (commands Kamal logs at info, host blocks).
	LevelDefault
	// LevelVerbose adds DEBUG lines: every command and its output (-v).
	LevelVerbose
)

// Severity of a single line, as in SSHKit's formatter.
type Severity = progress.Severity

const (
	Debug = progress.Debug
	Info  = progress.Info
	Warn  = progress.Warn
	Error = progress.Error
)

// Output is the one source of a run's events: every log line, command,
// upload and host block goes through it, is redacted, and reaches the
// run's progress.Renderer (Kamal's plain log by default). Its level
// decides which events the plain log shows. It is safe for concurrent use.
type Output struct {
	r        progress.Renderer
	level    Level
	redactor *Redactor
}

// NewOutput returns an Output printing Kamal's plain log to w. A nil
// redactor redacts nothing.
func NewOutput(w io.Writer, level Level, r *Redactor) *Output {
	return NewOutputTo(progress.NewPlain(w), level, r)
}

// NewOutputTo returns an Output sending its events to r.
func NewOutputTo(r progress.Renderer, level Level, red *Redactor) *Output {
	if red == nil {
		red = &Redactor{}
	}
	return &Output{r: r, level: level, redactor: red}
}

// Discard is an Output that prints nothing (used when no output is wanted).
func Discard() *Output { return NewOutput(io.Discard, LevelQuiet, nil) }

// WithLevel is an Output with another level, sending to the same
// renderer with the same redactor.
func (o *Output) WithLevel(l Level) *Output {
	return &Output{r: o.r, level: l, redactor: o.redactor}
}

// Level returns the configured level.
func (o *Output) Level() Level { return o.level }

// Redactor returns the redactor applied to every line.
func (o *Output) Redactor() *Redactor { return o.redactor }

// Enabled reports whether a line of severity s is printed.
func (o *Output) Enabled(s Severity) bool {
	switch o.level {
	case LevelQuiet:
		return s >= Error
	case LevelDefault:
		return s >= Info
	default:
		return true
	}
}

// Emit sends an event that holds no free text (steps, lock...) as it is.
func (o *Output) Emit(e progress.Event) {
	if o != nil {
		o.r.Emit(e)
	}
}

// Log prints one line "%6s [id] msg" (id may be empty). Multi-line
// messages print one formatted line per line.
func (o *Output) Log(s Severity, id, msg string) {
	if o == nil {
		return
	}
	o.r.Emit(progress.Log{Severity: s, CommandID: id, Message: o.redactor.Redact(msg), Shown: o.Enabled(s)})
}

// Infof prints an INFO line without a command id.
func (o *Output) Infof(format string, args ...any) { o.Log(Info, "", fmt.Sprintf(format, args...)) }

// Debugf prints a DEBUG line without a command id.
func (o *Output) Debugf(format string, args ...any) { o.Log(Debug, "", fmt.Sprintf(format, args...)) }

// Errorf prints an ERROR line; shown at every level.
func (o *Output) Errorf(format string, args ...any) { o.Log(Error, "", fmt.Sprintf(format, args...)) }

// Println prints text as is (after redaction) when the level is at least
// LevelDefault, like Kamal's plain `puts`.
func (o *Output) Println(text string) {
	if o == nil {
		return
	}
	o.r.Emit(progress.Message{Text: o.redactor.Redact(text) + "\n", Shown: o.level >= LevelDefault})
}

// Print prints text as is (after redaction) at every level, like Thor's
// `say`.
func (o *Output) Print(text string) {
	if o == nil {
		return
	}
	o.r.Emit(progress.Message{Text: o.redactor.Redact(text), Shown: true})
}

// HostBlock prints command output the way Kamal's puts_by_host does:
// "<Kind> Host: <host>", the text, then a blank line.
func (o *Output) HostBlock(kind, host, text string) {
	if o == nil {
		return
	}
	o.r.Emit(progress.HostOutput{Kind: kind, Host: host, Text: o.redactor.Redact(text), Shown: o.level >= LevelDefault})
}

// PrintHost is HostBlock at every level, like Kamal's puts_by_host.
func (o *Output) PrintHost(kind, host, text string) {
	if o == nil {
		return
	}
	o.r.Emit(progress.HostOutput{Kind: kind, Host: host, Text: o.redactor.Redact(text), Shown: true})
}

// upload reports a file written to host.
func (o *Output) upload(host, path string) {
	o.r.Emit(progress.Upload{Host: host, Path: o.redactor.Redact(path), Shown: o.Enabled(Info)})
}

// outputTailLines is how much of a failed command's output its event keeps.
const outputTailLines = 10

// commandLog reports the lifecycle of one command: its start, each line
// of its output and its end, which the plain log prints like SSHKit's
// Pretty formatter ("Running <cmd> on <host>", "Finished in ...").
type commandLog struct {
	out   *Output
	id    string
	sev   Severity
	host  string
	cmd   string // redacted
	where string // "on <host>" or "as <user>@localhost", like SSHKit
}

func newCommandLog(out *Output, sev Severity, host, where string) *commandLog {
	return &commandLog{out: out, id: newCommandID(), sev: sev, host: host, where: where}
}

func (c *commandLog) started(cmd string, interactive bool) {
	c.cmd = printableCommand(c.out.redactor.Redact(cmd))
	c.out.r.Emit(progress.CommandStart{CommandID: c.id, Host: c.host, Command: c.cmd, Severity: c.sev,
		Where: c.where, Interactive: interactive, Shown: c.out.Enabled(c.sev), ShownDebug: c.out.Enabled(Debug)})
}

// printableCommand returns a command line (already redacted) fit for one
// log line: control characters, which values may hold (a newline in an env
// value reaches docker as it is), are shown as \n, \t, \r or \xHH, so a
// value can neither forge a log line nor send escape sequences to the
// terminal. C1 controls (U+0080-U+009F) are shown as \u0080... too.
func printableCommand(cmd string) string {
	clean := true
	for _, r := range cmd {
		if isControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return cmd
	}
	var b strings.Builder
	for i, r := range cmd {
		switch esc, named := controlNames[r]; {
		case named:
			b.WriteString(esc)
		case r == utf8.RuneError && cmd[i] >= 0x80:
			fmt.Fprintf(&b, `\x%02X`, cmd[i]) // invalid UTF-8: one byte
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, r)
		case isControl(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// controlNames are the control characters shown by their usual escape.
var controlNames = map[rune]string{'\n': `\n`, '\r': `\r`, '\t': `\t`}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }

func (c *commandLog) line(text string) {
	c.out.r.Emit(progress.CommandOutput{CommandID: c.id, Host: c.host, Line: c.out.redactor.Redact(text), Shown: c.out.Enabled(Debug)})
}

// finished reports the exit status; failed tells whether it fails the
// caller (a probe's non-zero status does not).
func (c *commandLog) finished(res Result, failed bool) {
	e := progress.Command{CommandID: c.id, Host: c.host, Command: c.cmd, Severity: c.sev,
		ExitStatus: res.ExitStatus, Duration: res.Duration, DurationMS: res.Duration.Milliseconds(),
		Failed: failed, Shown: c.out.Enabled(c.sev)}
	if failed {
		e.OutputTail = tail(c.out.redactor.Redact(res.Stdout+res.Stderr), outputTailLines)
	}
	c.out.r.Emit(e)
}

// abort reports a command that could not run to its end and returns
// err, which is already redacted.
func (c *commandLog) abort(start time.Time, err error) error {
	d := time.Since(start)
	c.out.r.Emit(progress.Command{CommandID: c.id, Host: c.host, Command: c.cmd, Severity: c.sev,
		ExitStatus: -1, Duration: d, DurationMS: d.Milliseconds(), Failed: true, Error: err.Error()})
	return err
}

// tail returns the last n non-empty lines of text.
func tail(text string, n int) []string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// newCommandID returns 8 hex characters, like SSHKit's command uuid.
func newCommandID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// LineWriter calls fn for every complete line written to it; Flush emits a
// trailing partial line. It is safe for concurrent writes.
type LineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

// NewLineWriter returns a LineWriter calling fn without the newline.
func NewLineWriter(fn func(line string)) *LineWriter { return &LineWriter{fn: fn} }

func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.fn(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// Flush passes on what is left after the last newline.
func (l *LineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.fn(string(l.buf))
		l.buf = nil
	}
}

// Step reports a step of an orchestration (pull, boot, health check...)
// starting on host for role (empty for the whole host); call the returned
// function with the step's error, or nil, when it ends.
//
//	done := out.Step(host, role.Name, "pull")
//	err := pull(ctx, host)
//	done(err)
func (o *Output) Step(host, role, step string) func(error) {
	start := time.Now()
	o.Emit(progress.StepStart{Host: host, Role: role, Step: step})
	return func(err error) {
		e := progress.StepFinish{Host: host, Role: role, Step: step, OK: err == nil, DurationMS: time.Since(start).Milliseconds()}
		if err != nil {
			e.Error = o.redactor.Redact(err.Error())
		}
		o.Emit(e)
	}
}

// Hook reports a hook starting; call the returned function when it ends.
func (o *Output) Hook(name string) func(error) {
	start := time.Now()
	o.Emit(progress.HookStart{Hook: name})
	return func(err error) {
		e := progress.HookFinish{Hook: name, OK: err == nil, DurationMS: time.Since(start).Milliseconds()}
		if err != nil {
			e.Error = o.redactor.Redact(err.Error())
		}
		o.Emit(e)
	}
}

// Lock reports the deploy lock acquired or released on host.
func (o *Output) Lock(action, host, message string) {
	o.Emit(progress.Lock{Action: action, Host: host, Message: o.redactor.Redact(message)})
}

// Audit reports a line written to the audit log of host.
func (o *Output) Audit(host, line string) {
	o.Emit(progress.Audit{Host: host, Line: o.redactor.Redact(line)})
}

// Operation is something done on a host without a shell, such as a Docker
// API call, logged the way Exec logs a command so the log reads the same
// either way: a "Running <cmd> on <host>" line with the equivalent command,
// its output at DEBUG, and a "Finished" line whose exit status is 0 on
// success and 1 on failure (what the docker CLI exits with).
type Operation struct {
	log   *commandLog
	start time.Time
	text  strings.Builder // the output, for a failure's tail
}

// Operation starts logging an operation on host; cmd is its equivalent
// command line.
func (o *Output) Operation(sev Severity, host, cmd string) *Operation {
	if sev == 0 {
		sev = Info
	}
	log := newCommandLog(o, sev, host, "on "+host)
	log.started(cmd, false)
	return &Operation{log: log, start: time.Now()}
}

// Output logs lines of the operation's result at DEBUG.
func (op *Operation) Output(text string) {
	op.text.WriteString(text)
	if text != "" && !strings.HasSuffix(text, "\n") {
		op.text.WriteByte('\n')
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line != "" {
			op.log.line(line)
		}
	}
}

// Done logs the end of the operation; a failure's message is logged as its
// output first. It returns err.
func (op *Operation) Done(err error) error {
	status := 0
	if err != nil {
		op.Output(err.Error())
		status = 1
	}
	op.Exited(status)
	return err
}

// Exited logs the end of an operation that reports an exit status of its
// own (a command run inside a container).
func (op *Operation) Exited(status int) {
	op.log.finished(Result{Host: op.log.host, ExitStatus: status, Duration: time.Since(op.start), Stdout: op.text.String()}, status != 0)
}
