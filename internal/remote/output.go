package remote

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Level is how much Output prints.
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
type Severity int

const (
	Debug Severity = iota + 1
	Info
	Warn
	Error
)

var severityNames = map[Severity]string{Debug: "DEBUG", Info: "INFO", Warn: "WARN", Error: "ERROR"}

// Output prints Kamal/SSHKit-style log lines. Every line goes through the
// Redactor. It is safe for concurrent use; lines from parallel hosts never
// interleave within a line.
type Output struct {
	mu       sync.Mutex
	w        io.Writer
	level    Level
	redactor *Redactor
}

// NewOutput returns an Output writing to w. A nil redactor redacts nothing.
func NewOutput(w io.Writer, level Level, r *Redactor) *Output {
	if r == nil {
		r = &Redactor{}
	}
	return &Output{w: w, level: level, redactor: r}
}

// Discard is an Output that prints nothing (used when no output is wanted).
func Discard() *Output { return NewOutput(io.Discard, LevelQuiet, nil) }

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

// Log prints one line "%6s [id] msg" (id may be empty). Multi-line
// messages print one formatted line per line.
func (o *Output) Log(s Severity, id, msg string) {
	if o == nil || !o.Enabled(s) {
		return
	}
	msg = o.redactor.Redact(msg)
	prefix := fmt.Sprintf("%6s ", severityNames[s])
	if id != "" {
		prefix += "[" + id + "] "
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		b.WriteString(prefix)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	o.write(b.String())
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
	if o == nil || o.level < LevelDefault {
		return
	}
	o.write(o.redactor.Redact(text) + "\n")
}

// HostBlock prints command output the way Kamal's puts_by_host does:
// "<Kind> Host: <host>", the text, then a blank line.
func (o *Output) HostBlock(kind, host, text string) {
	if o == nil || o.level < LevelDefault {
		return
	}
	o.write(o.redactor.Redact(fmt.Sprintf("%s Host: %s\n%s\n\n", kind, host, text)))
}

func (o *Output) write(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = io.WriteString(o.w, s)
}

// commandLog prints the lifecycle of one command like SSHKit's Pretty
// formatter: "Running <cmd> on <host>" and "Finished in ..." at the
// command's severity, "Command: ..." and each output line at DEBUG.
type commandLog struct {
	out   *Output
	id    string
	sev   Severity
	where string // "on <host>" or "as <user>@localhost", like SSHKit
}

func newCommandLog(out *Output, sev Severity, where string) *commandLog {
	return &commandLog{out: out, id: newCommandID(), sev: sev, where: where}
}

func (c *commandLog) started(cmd string) {
	c.out.Log(c.sev, c.id, fmt.Sprintf("Running %s %s", cmd, c.where))
	c.out.Log(Debug, c.id, "Command: "+cmd)
}

func (c *commandLog) line(text string) {
	c.out.Log(Debug, c.id, "\t"+strings.TrimRight(text, "\r\n"))
}

func (c *commandLog) finished(d time.Duration, status int) {
	result := "successful"
	if status != 0 {
		result = "failed"
	}
	c.out.Log(c.sev, c.id, fmt.Sprintf("Finished in %5.3f seconds with exit status %d (%s).", d.Seconds(), status, result))
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
