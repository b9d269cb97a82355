package commands

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Running generated commands for real, with every program they call
// replaced by a printer that records its argv: the proof that a value
// reaches the program as one intact argument and that nothing else runs.

// recordedPrograms are the programs the generated commands call, plus
// "pwned", the one hostile test values try to run. Anything else the shell
// is asked to run fails with "not found", which the tests treat as an
// injection too.
var recordedPrograms = []string{
	"awk", "base64", "chmod", "chown", "cp", "curl", "docker", "find", "git", "grep",
	"head", "id", "kill", "ls", "mkdir", "mv", "pack", "pwned", "rm", "sed", "ssh", "stat", "sudo", "tail",
	"tee", "touch", "tr", "usermod", "wc", "wget",
}

// realPrograms run for real: the shell the commands start themselves,
// xargs, whose argv handling is part of what is checked, and cat, which
// only reads.
var realPrograms = []string{"sh", "xargs", "cat"}

// printerScript appends how it was called ($0) and its arguments to
// $ARGV_LOG, each ended by a NUL, then an \001 NUL pair ending the call.
// Only shell builtins.
const printerScript = "#!/bin/sh\nprintf '%s\\000' \"$0\" \"$@\" >> \"$ARGV_LOG\"\nprintf '\\001\\000' >> \"$ARGV_LOG\"\n"

// argvRecorder is a directory of printers and a log of their calls.
type argvRecorder struct {
	bin, work, log string
	before         []string // the working directory's files after setup
}

func newArgvRecorder(t *testing.T) *argvRecorder {
	t.Helper()
	dir := t.TempDir()
	r := &argvRecorder{bin: filepath.Join(dir, "bin"), work: filepath.Join(dir, "work"), log: filepath.Join(dir, "argv.log")}
	for _, d := range []string{r.bin, r.work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	printer := filepath.Join(dir, "printer")
	if err := os.WriteFile(printer, []byte(printerScript), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range recordedPrograms {
		if err := os.Symlink(printer, filepath.Join(r.bin, p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range realPrograms {
		real, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := os.Symlink(real, filepath.Join(r.bin, p)); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// testShell returns the path of a POSIX shell the commands must work
// under; a missing one skips the test, except under CI.
func testShell(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// testShells are dash (the /bin/sh of Debian and Ubuntu servers) and bash.
func testShells(t *testing.T) map[string]string {
	return map[string]string{"dash": testShell(t, "dash"), "bash": testShell(t, "bash")}
}

// run runs script under shell in an empty working directory, with only
// the printers on PATH, and returns the recorded calls and the stderr.
func (r *argvRecorder) run(t *testing.T, shellPath, script string) (calls [][]string, stderr string) {
	t.Helper()
	return r.runWith(t, shellPath, script, nil)
}

// runWith is run with setup preparing the working directory first. The
// shell mvdanShell is mvdan.cc/sh's interpreter, run in this process.
func (r *argvRecorder) runWith(t *testing.T, shellPath, script string, setup func(*testing.T, string)) (calls [][]string, stderr string) {
	t.Helper()
	if err := os.RemoveAll(r.work); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.work, 0o755); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(t, r.work)
	}
	r.before = r.workFiles(t)
	_ = os.Remove(r.log)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := []string{"PATH=" + r.bin, "ARGV_LOG=" + r.log, "HOME=" + r.work, "LC_ALL=C"}
	var errBuf bytes.Buffer
	if shellPath == mvdanShell {
		runMvdan(t, ctx, r.work, env, script, &errBuf)
	} else {
		// kill is a builtin: a function sends it to the printer instead
		// (RefreshSession's `kill -HUP $PPID` would hit this test).
		cmd := exec.CommandContext(ctx, shellPath, "-c", "kill() { \""+r.bin+"/kill\" \"$@\"; }\n"+script)
		cmd.Dir = r.work
		cmd.Env = env
		cmd.Stderr = &errBuf
		_ = cmd.Run() // the exit status of a command run against printers means nothing
	}
	if ctx.Err() != nil {
		t.Fatalf("%s -c timed out: %s", shellPath, script)
	}
	data, err := os.ReadFile(r.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var call []string
	for _, tok := range strings.SplitAfter(string(data), "\x00") {
		if tok == "" {
			continue
		}
		tok = strings.TrimSuffix(tok, "\x00")
		if tok == "\x01" {
			calls = append(calls, call)
			call = nil
			continue
		}
		call = append(call, tok)
	}
	return calls, errBuf.String()
}

// workFiles lists what the script created in its working directory.
func (r *argvRecorder) workFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(r.work, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != r.work {
			rel, _ := filepath.Rel(r.work, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// createdFiles lists the files the last run created.
func (r *argvRecorder) createdFiles(t *testing.T) []string {
	var out []string
	for _, f := range r.workFiles(t) {
		if !slices.Contains(r.before, f) {
			out = append(out, f)
		}
	}
	return out
}

// checkNothingInjected fails when the script ran "pwned" or asked the
// shell for a program that is not one the commands use.
func checkNothingInjected(t *testing.T, label string, calls [][]string, stderr string) {
	t.Helper()
	for _, c := range calls {
		if len(c) > 0 && filepath.Base(c[0]) == "pwned" {
			t.Errorf("%s: injected command ran: %q", label, c)
		}
	}
	if strings.Contains(stderr, "not found") {
		t.Errorf("%s: the shell tried to run an unknown program:\n%s", label, stderr)
	}
}
