package commands

import (
	"strings"
	"time"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// Tag is one audit or hook detail, kept in order (Kamal's tags hash).
type Tag struct {
	Key, Value string
}

// Auditor builds the commands of the audit log kept on every host touched.
type Auditor struct {
	file string
	tags []Tag // recorded_at, performer, destination
}

// NewAuditor returns the audit builder. performer is `git config
// user.email` or the local user name; recordedAt is the time of the run.
func NewAuditor(cfg *config.Config, performer string, recordedAt time.Time) Auditor {
	tags := []Tag{{"recorded_at", recordedAt.UTC().Format(time.RFC3339)}, {"performer", performer}}
	if cfg.Destination != "" {
		tags = append(tags, Tag{"destination", cfg.Destination})
	}
	return Auditor{file: AuditLogFile(cfg), tags: tags}
}

// AuditLogFile is .kamal/<service>[-<destination>]-audit.log.
func AuditLogFile(cfg *config.Config) string {
	return config.DefaultRunDirectory + "/" + cfg.ServiceAndDestination() + "-audit.log"
}

// Line is the audit line: each tag value in brackets, then the message.
func (a Auditor) Line(message string, details ...Tag) string {
	var b strings.Builder
	for _, t := range append(append([]Tag{}, a.tags...), details...) {
		if t.Value == "" {
			continue
		}
		b.WriteString("[" + t.Value + "] ")
	}
	return b.String() + message
}

// Record appends the line for message to the audit log.
//
// Kamal writes the line with `echo "<escaped line>"`: under dash, whose echo
// reads backslash sequences, a `\n` in a message would forge a second line
// and `\c` would cut it. printf '%s\n' prints its argument as it is, so the
// file gets the bytes Kamal's command leaves under bash (Ruby's dump
// escapes such as \n stay text) from either shell, and the logged command
// still shows the line as Kamal's does. Unlike Kamal's, every $ is escaped:
// the remote shell expands nothing in a line, ${...} included.
func (a Auditor) Record(message string, details ...Tag) Cmd {
	return Combine(
		EnsureRunDirectory(),
		Append(New("printf", `'%s\n'`, shell.DumpWord(a.Line(message, details...))), a.file),
	)
}

// Reveal prints the last 50 lines of the audit log.
func (a Auditor) Reveal() Cmd { return New("tail", "-n", "50", shell.Quote(a.file)) }
