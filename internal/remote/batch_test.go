package remote

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
