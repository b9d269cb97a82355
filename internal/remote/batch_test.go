package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/progress"
	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

func TestMarkerWriterSplitsAnywhere(t *testing.T) {
	const marker = "MARK:"
	stream := "out one\nno newline" + marker + "0:0\n" + marker + "1:3\nlast" + "MAR"
	for _, chunk := range []int{1, 2, 3, 7, len(stream)} {
		var text strings.Builder
		var marks []string
		w := markerWriter{marker: marker, text: func(p []byte) { text.Write(p) }, mark: func(r string) { marks = append(marks, r) }}
		for i := 0; i < len(stream); i += chunk {
			_, _ = w.Write([]byte(stream[i:min(i+chunk, len(stream))]))
		}
		w.flush()
		if text.String() != "out one\nno newlinelastMAR" || strings.Join(marks, "|") != "0:0|1:3" {
			t.Errorf("chunks of %d: text %q, marks %q", chunk, text.String(), marks)
		}
	}
}

// batchSteps exercise what a batch must keep apart: output with and
// without a final newline, stdin per step (read fully or in part), an exit
// inside a step, an allowed failure.
func batchSteps(dir string) []Step {
	return []Step{
		{Command: "printf 'no newline'; echo to-stderr >&2"},
		{Command: "head -c 3", Stdin: []byte("abcdef")},
		{Command: "cat", Stdin: []byte("second input\n")},
		{Command: "exit 0"},
		UploadStep(filepath.Join(dir, "secret.env"), []byte("TOKEN=s3cret\n"), 0o600),
		{Command: "cat " + filepath.Join(dir, "secret.env"), Severity: Debug},
		{Command: "echo failing >&2; exit 4", AllowFailure: true},
		{Command: "seq 1 20000 | tail -n 1"},
	}
}

func checkBatchResults(t *testing.T, results []Result, dir string) {
	t.Helper()
	want := []struct{ stdout, stderr string }{
		{"no newline", "to-stderr\n"},
		{"abc", ""},
		{"second input\n", ""},
		{"", ""},
		{"", ""},
		{"TOKEN=s3cret\n", ""},
		{"", "failing\n"},
		{"20000\n", ""},
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(results), len(want), results)
	}
	for i, w := range want {
		if results[i].Stdout != w.stdout || results[i].Stderr != w.stderr {
			t.Errorf("step %d: stdout %q stderr %q, want %q %q", i, results[i].Stdout, results[i].Stderr, w.stdout, w.stderr)
		}
	}
	if results[6].ExitStatus != 4 || results[7].ExitStatus != 0 {
		t.Errorf("exit statuses %d, %d", results[6].ExitStatus, results[7].ExitStatus)
	}
	if st, err := os.Stat(filepath.Join(dir, "secret.env")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("uploaded file: %v %v", st, err)
	}
}

func TestBatchInOneSession(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.44", sshtest.Options{LogLevel: "VERBOSE"}, e.key)
	var log bytes.Buffer
	p := e.pool(e.opts(srv.Port), NewOutput(&log, LevelVerbose, NewRedactor("s3cret")))
	dir := t.TempDir()

	results, err := p.Batch(context.Background(), srv.IP, batchSteps(dir))
	if err != nil {
		t.Fatalf("Batch: %v\n%s", err, log.String())
	}
	checkBatchResults(t, results, dir)
	if n := strings.Count(srv.Log(), "Starting session:"); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
	out := log.String()
	for _, want := range []string{
		"Running printf 'no newline'; echo to-stderr >&2 on 127.0.0.44",
		"] \tno newline\n", "] \tto-stderr\n",
		"Running head -c 3 on 127.0.0.44",
		"Uploading " + filepath.Join(dir, "secret.env") + " 100.0%",
		"Running echo failing >&2; exit 4 on 127.0.0.44",
		"with exit status 4 (failed).",
		"] \t20000\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Running ") != 7 || strings.Count(out, "Finished in ") != 7 {
		t.Errorf("want a Running and a Finished line per command:\n%s", out)
	}
	if strings.Contains(out, "s3cret") || strings.Contains(out, "KAMAL-STEP-") {
		t.Errorf("log shows a secret or a marker:\n%s", out)
	}
}

func TestBatchStopsAtFirstFailure(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.45", sshtest.Options{}, e.key)
	p := e.pool(e.opts(srv.Port), nil)
	marker := filepath.Join(t.TempDir(), "ran")
	results, err := p.Batch(context.Background(), srv.IP, []Step{
		{Command: "echo ok"},
		{Command: "echo out; echo broken >&2; exit 3"},
		{Command: "touch " + marker},
	})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitStatus != 3 || ce.Command != "echo out; echo broken >&2; exit 3" || ce.Stdout != "out\n" || ce.Stderr != "broken\n" {
		t.Fatalf("err = %#v, want the failing command's CommandError", err)
	}
	if len(results) != 2 {
		t.Errorf("%d results, want 2", len(results))
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a command after the failure ran")
	}
}

func TestRunBatchWithoutBatcher(t *testing.T) {
	dir := t.TempDir()
	results, err := RunBatch(context.Background(), &Local{}, "localhost", batchSteps(dir))
	if err != nil {
		t.Fatal(err)
	}
	// Uploads return no output through Upload; the rest matches.
	checkBatchResults(t, results, dir)
}

// A command run as a step of a batch reports the same events as the same
// command run alone: its start, its output lines, and its end with the
// exit status and, when it fails, the tail of its stdout and stderr.
func TestBatchReportsLikeExec(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.46", sshtest.Options{}, e.key)
	const failing = "echo out; echo broken >&2; exit 3"

	alone := &recorder{}
	p := e.pool(e.opts(srv.Port), NewOutputTo(alone, LevelVerbose, nil))
	_, errAlone := p.Exec(context.Background(), srv.IP, failing, ExecOptions{})

	batched := &recorder{}
	p = e.pool(e.opts(srv.Port), NewOutputTo(batched, LevelVerbose, nil))
	_, errBatch := p.Batch(context.Background(), srv.IP, []Step{{Command: "echo first >&2"}, {Command: failing}})

	if errAlone == nil || errBatch == nil || errAlone.Error() != errBatch.Error() {
		t.Errorf("errors differ:\nalone: %v\nbatch: %v", errAlone, errBatch)
	}
	want, got := commandEvents(t, alone.events, failing), commandEvents(t, batched.events, failing)
	if want != got {
		t.Errorf("the batched command's events:\n%s\nwant (as alone):\n%s", got, want)
	}
	if first := commandEvents(t, batched.events, "echo first >&2"); first != "start\noutput first\nend 0 failed=false tail=[]" {
		t.Errorf("the first step's events:\n%s", first)
	}
}

// commandEvents describes the events of the command cmd, in order, without
// ids and times; the output lines are sorted (stdout and stderr are read
// apart). It fails t when an event of cmd comes before its start or after
// its end.
func commandEvents(t *testing.T, events []progress.Event, cmd string) string {
	t.Helper()
	id := ""
	var lines, outputs []string
	ended := false
	for _, e := range events {
		switch e := e.(type) {
		case progress.CommandStart:
			if e.Command == cmd {
				id = e.CommandID
				lines = append(lines, "start")
			}
		case progress.CommandOutput:
			if e.CommandID == id && id != "" {
				if ended {
					t.Errorf("output %q of %q after its end", e.Line, cmd)
				}
				outputs = append(outputs, "output "+e.Line)
			}
		case progress.Command:
			if e.CommandID == id && id != "" {
				slices.Sort(outputs)
				lines = append(append(lines, outputs...), fmt.Sprintf("end %d failed=%v tail=%q", e.ExitStatus, e.Failed, e.OutputTail))
				ended = true
			}
		}
	}
	if id == "" {
		t.Errorf("no start event for %q", cmd)
	}
	return strings.Join(lines, "\n")
}

// stdout and stderr are read apart: the next step's output can come before
// the end of the previous step's stderr. Each step's events still come in
// order (start, output, end) and a step's end carries all its output.
func TestBatchRunOrdersInterleavedStreams(t *testing.T) {
	rec := &recorder{}
	b, err := newBatchRun(NewOutputTo(rec, LevelVerbose, nil), "h1", []Step{{Command: "one"}, {Command: "two"}})
	if err != nil {
		t.Fatal(err)
	}
	b.begin()
	_, _ = b.stdout.Write([]byte("out one\n" + b.marker + "0:0\nout two\n" + b.marker + "1:2\n"))
	_, _ = b.stderr.Write([]byte("err one\n"))
	_, _ = b.stderr.Write([]byte(b.marker + "\nerr two\n" + b.marker + "\n"))
	results, err := b.finish(nil)
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Command != "two" || len(results) != 2 || results[0].Stderr != "err one\n" || results[1].Stdout != "out two\n" {
		t.Fatalf("results %+v, err %v", results, err)
	}
	if got := commandEvents(t, rec.events, "one"); got != "start\noutput err one\noutput out one\nend 0 failed=false tail=[]" {
		t.Errorf("events of the first step:\n%s", got)
	}
	if got := commandEvents(t, rec.events, "two"); got != "start\noutput err two\noutput out two\nend 2 failed=true tail=[\"out two\" \"err two\"]" {
		t.Errorf("events of the second step:\n%s", got)
	}
	var order []string
	for _, e := range rec.events {
		switch e := e.(type) {
		case progress.CommandStart:
			order = append(order, "start "+e.Command)
		case progress.Command:
			order = append(order, "end "+e.Command)
		}
	}
	if got := strings.Join(order, ", "); got != "start one, end one, start two, end two" {
		t.Errorf("order: %s", got)
	}
}
