package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// Plain renders Kamal's log, as SSHKit's Pretty formatter prints it: the
// lines that pass -q/-v (each event's Shown), nothing of the events Kamal
// has no line for (steps, hooks, lock, result).
type Plain struct {
	mu sync.Mutex
	w  io.Writer
}

// NewPlain returns a Plain renderer writing to w.
func NewPlain(w io.Writer) *Plain { return &Plain{w: w} }

func (p *Plain) Emit(e Event) {
	if s := PlainText(e); s != "" {
		p.mu.Lock()
		defer p.mu.Unlock()
		_, _ = io.WriteString(p.w, s)
	}
}

func (p *Plain) Close() error { return nil }

// PlainText is what the plain log prints for e ("" for nothing).
func PlainText(e Event) string {
	switch e := e.(type) {
	case Log:
		if e.Shown {
			return logLines(e.Severity, e.CommandID, e.Message)
		}
	case Message:
		if e.Shown {
			return e.Text
		}
	case HostOutput:
		if e.Shown {
			return fmt.Sprintf("%s Host: %s\n%s\n\n", e.Kind, e.Host, e.Text)
		}
	case CommandStart:
		var s string
		if e.Shown {
			s = logLines(e.Severity, e.CommandID, fmt.Sprintf("Running %s %s", e.Command, e.Where))
		}
		if e.ShownDebug {
			s += logLines(Debug, e.CommandID, "Command: "+e.Command)
		}
		return s
	case CommandOutput:
		if e.Shown {
			return logLines(Debug, e.CommandID, "\t"+strings.TrimRight(e.Line, "\r\n"))
		}
	case Command:
		if e.Shown && e.Error == "" {
			result := "successful"
			if e.ExitStatus != 0 {
				result = "failed"
			}
			return logLines(e.Severity, e.CommandID, fmt.Sprintf("Finished in %5.3f seconds with exit status %d (%s).", e.Duration.Seconds(), e.ExitStatus, result))
		}
	case Upload:
		if e.Shown {
			return logLines(Info, "", fmt.Sprintf("Uploading %s 100.0%%", e.Path))
		}
	}
	return ""
}

// logLines formats "%6s [id] line" for every line of msg (id may be empty).
func logLines(s Severity, id, msg string) string {
	prefix := fmt.Sprintf("%6s ", s)
	if id != "" {
		prefix += "[" + id + "] "
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		b.WriteString(prefix)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
