package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPlainText(t *testing.T) {
	for _, tt := range []struct {
		name string
		e    Event
		want string
	}{
		{"log", Log{Severity: Info, CommandID: "abcd1234", Message: "one\ntwo\n", Shown: true}, "  INFO [abcd1234] one\n  INFO [abcd1234] two\n"},
		{"hidden log", Log{Severity: Debug, Message: "x"}, ""},
		{"error", Log{Severity: Error, Message: "bad", Shown: true}, " ERROR bad\n"},
		{"message", Message{Text: "Acquiring the deploy lock...\n", Shown: true}, "Acquiring the deploy lock...\n"},
		{"host output", HostOutput{Kind: "App", Host: "h1", Text: "v1", Shown: true}, "App Host: h1\nv1\n\n"},
		{"start", CommandStart{CommandID: "00000001", Command: "docker ps", Where: "on h1", Severity: Info, Shown: true, ShownDebug: true},
			"  INFO [00000001] Running docker ps on h1\n DEBUG [00000001] Command: docker ps\n"},
		{"start at default", CommandStart{CommandID: "00000001", Command: "docker ps", Where: "on h1", Severity: Info, Shown: true},
			"  INFO [00000001] Running docker ps on h1\n"},
		{"output", CommandOutput{CommandID: "00000001", Line: "out\r\n", Shown: true}, " DEBUG [00000001] \tout\n"},
		{"finished", Command{CommandID: "00000001", Severity: Info, Duration: 1234567 * time.Microsecond, Shown: true},
			"  INFO [00000001] Finished in 1.235 seconds with exit status 0 (successful).\n"},
		{"failed", Command{CommandID: "00000001", Severity: Info, ExitStatus: 3, Duration: time.Millisecond, Shown: true},
			"  INFO [00000001] Finished in 0.001 seconds with exit status 3 (failed).\n"},
		{"aborted", Command{CommandID: "00000001", Severity: Info, ExitStatus: -1, Error: "connection lost", Shown: true}, ""},
		{"upload", Upload{Host: "h1", Path: ".kamal/x.env", Shown: true}, "  INFO Uploading .kamal/x.env 100.0%\n"},
		{"step", StepStart{Host: "h1", Step: "pull"}, ""},
		{"result", Result{OK: true}, ""},
	} {
		if got := PlainText(tt.e); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSON(&buf)
	j.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600)) }
	j.Emit(Command{CommandID: "a", Host: "h1", Command: "docker ps", Severity: Info, ExitStatus: 0, DurationMS: 12, Shown: true})
	j.Emit(CommandOutput{CommandID: "a", Line: "not in the stream"})
	j.Emit(HookStart{Hook: "pre-deploy"})
	j.Emit(Result{SchemaVersion: SchemaVersion, Command: "deploy", OK: false, Error: "boom", Data: map[string]string{"a": "b"}})
	j.Emit(Result{Data: func() {}}) // cannot be encoded
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		`{"type":"command","time":"2026-01-02T02:04:05.006Z","command_id":"a","host":"h1","command":"docker ps","level":"info","exit_status":0,"duration_ms":12}`,
		`{"type":"hook_start","time":"2026-01-02T02:04:05.006Z","hook":"pre-deploy"}`,
		`{"type":"result","time":"2026-01-02T02:04:05.006Z","schema_version":1,"command":"deploy","ok":false,"error":"boom","duration_ms":0,"data":{"a":"b"}}`,
		`{"type":"result","time":"2026-01-02T02:04:05.006Z","schema_version":0,"command":"","ok":false,"error":"encoding the result: json: unsupported type: func()","duration_ms":0}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n%s\nwant\n%s", i, lines[i], want[i])
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Errorf("line %d does not parse: %v", i, err)
		}
	}
}

func TestJSONEventsHaveTypes(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range JSONEvents {
		if seen[e.Type()] {
			t.Errorf("type %s listed twice", e.Type())
		}
		seen[e.Type()] = true
		line, err := MarshalEvent(e, time.Now())
		if err != nil {
			t.Errorf("%s: %v", e.Type(), err)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil || m["type"] != e.Type() || m["time"] == nil {
			t.Errorf("%s: %s (%v)", e.Type(), line, err)
		}
	}
}

func TestFormatTableDropsEmptyColumns(t *testing.T) {
	got := formatTable([][]string{{"", "HOST", "ROLE", "VERSION"}, {"+", "h1", "", "v1"}, {"x", "host-2", "", ""}})
	want := "   HOST    VERSION\n+  h1      v1\nx  host-2"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		400 * time.Millisecond: "0.4s", 12340 * time.Millisecond: "12.3s", 125 * time.Second: "2m05s",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestFit(t *testing.T) {
	if got := fit("✓ abcdef", 5); got != "✓ ab" {
		t.Errorf("fit = %q", got)
	}
	if got := fit("abc", 80); got != "abc" {
		t.Errorf("fit = %q", got)
	}
}
