// Package progress shows what a kamal run does. The run reports events
// (remote commands, steps per host and role, hooks, the lock, audit lines,
// the result) to one Renderer, which draws them as Kamal's plain log, as
// newline-delimited JSON, or as a live view at a terminal.
//
// Events arrive already redacted: the producer (internal/remote's Output)
// removes secrets before anything reaches a renderer.
package progress

import (
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON events (docs/json-events.md).
// Raise it when a field changes meaning or disappears; adding a field or
// an event type does not change it.
const SchemaVersion = 1

// Severity of a log line, as in SSHKit's formatter.
type Severity int

const (
	Debug Severity = iota + 1
	Info
	Warn
	Error
)

var severityNames = map[Severity]string{Debug: "DEBUG", Info: "INFO", Warn: "WARN", Error: "ERROR"}

// String is the name Kamal's log prints (DEBUG, INFO, WARN, ERROR).
func (s Severity) String() string { return severityNames[s] }

// MarshalText is the lower-case name used in JSON events.
func (s Severity) MarshalText() ([]byte, error) { return []byte(strings.ToLower(s.String())), nil }

// An Event is one thing that happened during a run. Its Type is the
// "type" of its JSON line.
type Event interface {
	Type() string
}

// Log is a line of Kamal's log ("  INFO [id] message"), not tied to a
// command's start or end.
type Log struct {
	Severity  Severity `json:"level"`
	CommandID string   `json:"command_id,omitempty"`
	Message   string   `json:"message"`
	// Shown tells the plain log whether the line passes -q/-v.
	Shown bool `json:"-"`
}

// Message is text kamal prints as it is (Kamal's say and puts).
type Message struct {
	Text  string `json:"text"`
	Shown bool   `json:"-"`
}

// HostOutput is the output of a command on one host, printed under a
// "<Kind> Host: <host>" header (Kamal's puts_by_host).
type HostOutput struct {
	Kind  string `json:"kind"`
	Host  string `json:"host"`
	Text  string `json:"text"`
	Shown bool   `json:"-"`
}

// CommandStart is a command starting on a host ("localhost" for a command
// run on this machine).
type CommandStart struct {
	CommandID string   `json:"command_id"`
	Host      string   `json:"host"`
	Command   string   `json:"command"`
	Severity  Severity `json:"level"`
	// Where completes "Running <command> ..." in the plain log: "on
	// <host>", or "as <user>@localhost".
	Where string `json:"-"`
	// Interactive commands own the terminal until they finish.
	Interactive bool `json:"-"`
	// Shown is for the "Running" line, ShownDebug for the "Command:" line.
	Shown      bool `json:"-"`
	ShownDebug bool `json:"-"`
}

// CommandOutput is one line a running command wrote (stdout or stderr).
// It is not part of the JSON events: a failing command's Command event
// carries the tail of its output.
type CommandOutput struct {
	CommandID string
	Host      string
	Line      string
	Shown     bool
}

// Command is a command that finished: with its exit status, or, when it
// could not run to the end, with Error.
type Command struct {
	CommandID  string   `json:"command_id"`
	Host       string   `json:"host"`
	Command    string   `json:"command"`
	Severity   Severity `json:"level"`
	ExitStatus int      `json:"exit_status"`
	DurationMS int64    `json:"duration_ms"`
	// Failed is set when the exit status fails the step (it is not a
	// probe whose non-zero status is an answer).
	Failed bool `json:"failed,omitempty"`
	// OutputTail is the end of a failed command's output.
	OutputTail []string `json:"output_tail,omitempty"`
	// Error is why the command did not finish (a dropped connection...).
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"-"`
	Shown    bool          `json:"-"`
}

// Upload is a file written to a host.
type Upload struct {
	Host  string `json:"host"`
	Path  string `json:"path"`
	Shown bool   `json:"-"`
}

// StepStart is a step of an orchestration (pull, boot, health check...)
// beginning on a host for a role. Role is empty for host-wide steps.
type StepStart struct {
	Host string `json:"host"`
	Role string `json:"role,omitempty"`
	Step string `json:"step"`
}

// StepFinish ends the StepStart with the same host, role and step.
type StepFinish struct {
	Host       string `json:"host"`
	Role       string `json:"role,omitempty"`
	Step       string `json:"step"`
	OK         bool   `json:"ok"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// HookStart is a local hook (.kamal/hooks/<name>) starting.
type HookStart struct {
	Hook string `json:"hook"`
}

// HookFinish is a hook that ended.
type HookFinish struct {
	Hook       string `json:"hook"`
	OK         bool   `json:"ok"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Lock is the deploy lock being acquired or released on a host.
type Lock struct {
	Action  string `json:"action"` // "acquired" or "released"
	Host    string `json:"host"`
	Message string `json:"message,omitempty"`
}

// Audit is a line appended to the audit log on a host.
type Audit struct {
	Host string `json:"host"`
	Line string `json:"line"`
}

// HostResult is where one host and role ended up.
type HostResult struct {
	Host          string `json:"host"`
	Role          string `json:"role,omitempty"`
	VersionBefore string `json:"version_before,omitempty"`
	Version       string `json:"version,omitempty"`
	OK            bool   `json:"ok"`
	DurationMS    int64  `json:"duration_ms,omitempty"`
}

// Result ends every run; in JSON it is always the last line.
type Result struct {
	SchemaVersion int    `json:"schema_version"`
	Command       string `json:"command"`
	OK            bool   `json:"ok"`
	Error         string `json:"error,omitempty"`
	DurationMS    int64  `json:"duration_ms"`
	// Hosts is the version per host and role after a deploy-like command.
	Hosts []HostResult `json:"hosts,omitempty"`
	// Data is what a query command found (app version, lock status...).
	Data any `json:"data,omitempty"`
}

func (Log) Type() string           { return "log" }
func (Message) Type() string       { return "message" }
func (HostOutput) Type() string    { return "host_output" }
func (CommandStart) Type() string  { return "command_start" }
func (CommandOutput) Type() string { return "command_output" }
func (Command) Type() string       { return "command" }
func (Upload) Type() string        { return "upload" }
func (StepStart) Type() string     { return "step_start" }
func (StepFinish) Type() string    { return "step_finish" }
func (HookStart) Type() string     { return "hook_start" }
func (HookFinish) Type() string    { return "hook_finish" }
func (Lock) Type() string          { return "lock" }
func (Audit) Type() string         { return "audit" }
func (Result) Type() string        { return "result" }

// JSONEvents are the events of the JSON stream, one value of each type;
// docs/json-events.md documents exactly these (a test checks it).
var JSONEvents = []Event{
	Log{}, Message{}, HostOutput{}, CommandStart{}, Command{}, Upload{},
	StepStart{}, StepFinish{}, HookStart{}, HookFinish{}, Lock{}, Audit{}, Result{},
}

// A Renderer shows the events of one run. Emit is safe for concurrent
// use; Close ends the output (after the Result) and must be called once.
type Renderer interface {
	Emit(Event)
	Close() error
}
