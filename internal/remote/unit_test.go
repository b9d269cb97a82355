package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/progress"
)

func TestRedactor(t *testing.T) {
	r := NewRedactor("pass'word", "", "   ")
	r.Add("abcd-longer-secret")
	r.Add("abcd") // shorter secret inside a longer one
	r.Add("-----BEGIN KEY-----\nAAAABBBBCCCCDDDDEEEE\nFFFFGGGGHHHHIIIIJJJJ\n-----END KEY-----")
	tests := map[string]string{
		"docker login -p pass'word":            "docker login -p [REDACTED]",
		"docker login -p 'pass'\\''word'":      "docker login -p [REDACTED]",
		`-e X="pass'word"`:                     "-e X=[REDACTED]",
		"x abcd-longer-secret y abcd":          "x [REDACTED] y [REDACTED]",
		"key line FFFFGGGGHHHHIIIIJJJJ leaked": "key line [REDACTED] leaked",
		"nothing here":                         "nothing here",
		"":                                     "",
	}
	for in, want := range tests {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	base := errors.New("failed with abcd-longer-secret")
	err := r.Error(base)
	if err.Error() != "failed with [REDACTED]" || !errors.Is(err, base) || !IsRedacted(err) {
		t.Errorf("Error() = %v", err)
	}
	if r.Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
	var nilR *Redactor
	if nilR.Redact("abc") != "abc" {
		t.Error("nil redactor changed text")
	}
}

func TestOutputLevels(t *testing.T) {
	for _, tt := range []struct {
		level Level
		want  string
	}{
		{LevelQuiet, " ERROR bad [REDACTED]\n"},
		{LevelDefault, "  INFO [abcd1234] info\n  WARN warn\n ERROR bad [REDACTED]\nApp Host: 1.1.1.1\nout\n\nplain\n"},
		{LevelVerbose, " DEBUG dbg\n  INFO [abcd1234] info\n  WARN warn\n ERROR bad [REDACTED]\nApp Host: 1.1.1.1\nout\n\nplain\n"},
	} {
		var buf bytes.Buffer
		o := NewOutput(&buf, tt.level, NewRedactor("s3cret"))
		o.Debugf("dbg")
		o.Log(Info, "abcd1234", "info")
		o.Log(Warn, "", "warn")
		o.Errorf("bad %s", "s3cret")
		o.HostBlock("App", "1.1.1.1", "out")
		o.Println("plain")
		if buf.String() != tt.want {
			t.Errorf("level %d:\n%q\nwant\n%q", tt.level, buf.String(), tt.want)
		}
	}
}

func TestLocalExecutor(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	l := &Local{Out: NewOutput(&buf, LevelVerbose, NewRedactor("tops3cret")), Dir: dir, Env: []string{"FOO=bar"}}
	res, err := l.Exec(context.Background(), "", "echo $FOO; pwd", ExecOptions{})
	if err != nil || res.Stdout != "bar\n"+dir+"\n" {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
	line := regexp.MustCompile(`(?m)^  INFO \[[0-9a-f]{8}\] Running echo \$FOO; pwd (as \S+@localhost|on localhost)$`)
	if !line.MatchString(buf.String()) {
		t.Errorf("log:\n%s", buf.String())
	}
	if !regexp.MustCompile(`(?m)^  INFO \[[0-9a-f]{8}\] Finished in \d+\.\d{3} seconds with exit status 0 \(successful\)\.$`).MatchString(buf.String()) {
		t.Errorf("log:\n%s", buf.String())
	}

	_, err = l.Exec(context.Background(), "", "echo tops3cret >&2; exit 4", ExecOptions{})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitStatus != 4 {
		t.Fatalf("err = %v", err)
	}
	want := "echo [REDACTED] >&2; exit 4 exit status: 4\necho [REDACTED] >&2; exit 4 stdout: Nothing written\necho [REDACTED] >&2; exit 4 stderr: [REDACTED]"
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant\n%s", err, want)
	}
	if strings.Contains(buf.String(), "tops3cret") || !strings.Contains(buf.String(), "with exit status 4 (failed).") {
		t.Errorf("log:\n%s", buf.String())
	}
	res, err = l.Exec(context.Background(), "", "exit 2", ExecOptions{AllowFailure: true})
	if err != nil || res.ExitStatus != 2 {
		t.Errorf("AllowFailure: %+v %v", res, err)
	}

	if err := l.Upload(context.Background(), "", "f.env", []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "f.env"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v %v", st, err)
	}
}

func TestRunnerAggregatesEveryHost(t *testing.T) {
	hosts := []string{"a", "b", "c", "d"}
	done := make(chan string, len(hosts))
	err := (&Runner{Redactor: NewRedactor("pw42")}).On(context.Background(), hosts, func(_ context.Context, h string) error {
		done <- h
		switch h {
		case "b":
			return errors.New("bad pw42")
		case "d":
			panic("boom")
		}
		return nil
	})
	if len(done) != 4 {
		t.Fatalf("only %d hosts ran", len(done))
	}
	want := "Exceptions on 2 hosts:\nException while executing on host b: bad [REDACTED]\nException while executing on host d: panic: boom"
	if err == nil || err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%s", err, want)
	}
	if err := Parallel(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	single := Parallel(context.Background(), hosts, func(_ context.Context, h string) error {
		if h == "c" {
			return errors.New("nope")
		}
		return nil
	})
	if single == nil || single.Error() != "Exception while executing on host c: nope" {
		t.Fatalf("single = %v", single)
	}
}

func TestRunnerLimit(t *testing.T) {
	running, peak := make(chan struct{}, 10), 0
	var mu = make(chan struct{}, 1)
	_ = (&Runner{Limit: 2}).On(context.Background(), []string{"1", "2", "3", "4", "5", "6"}, func(context.Context, string) error {
		running <- struct{}{}
		mu <- struct{}{}
		if len(running) > peak {
			peak = len(running)
		}
		<-mu
		time.Sleep(time.Millisecond)
		<-running
		return nil
	})
	if peak > 2 {
		t.Errorf("peak concurrency %d > 2", peak)
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in   string
		want endpoint
		err  bool
	}{
		{"1.2.3.4", endpoint{Host: "1.2.3.4"}, false},
		{"deploy@web:2222", endpoint{User: "deploy", Host: "web", Port: 2222}, false},
		{"[::1]:22", endpoint{Host: "::1", Port: 22}, false},
		{"::1", endpoint{Host: "::1"}, false},
		{"web:0", endpoint{}, true},
		{"web:x", endpoint{}, true},
		{"", endpoint{}, true},
	}
	for _, tt := range tests {
		got, err := parseEndpoint(tt.in)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("parseEndpoint(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	conf := "Host web\n  HostName 10.0.0.5\n  User cfguser\n  Port 2200\n  ProxyCommand ssh -W %h:%p bastion\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadSSHConfig([]string{path, filepath.Join(dir, "missing")})
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := resolve("web", SSHOptions{}, cfg, false)
	if tg.Host != "10.0.0.5" || tg.User != "cfguser" || tg.Port != 2200 || tg.ProxyCommand == "" {
		t.Errorf("from config: %+v", tg)
	}
	tg, _ = resolve("web", SSHOptions{User: "app", Port: 22, Proxy: "bastion"}, cfg, false)
	if tg.User != "app" || tg.Port != 22 || tg.ProxyJump != "root@bastion" || tg.ProxyCommand != "" {
		t.Errorf("options win: %+v", tg)
	}
	tg, _ = resolve("other", SSHOptions{}, cfg, false)
	if tg.User != "root" || tg.Port != 22 || tg.Host != "other" {
		t.Errorf("defaults: %+v", tg)
	}
	if got := expandProxyCommand("ssh -W %h:%p %r@j %% %x", target{Host: "h", Port: 2, User: "u"}); got != "ssh -W h:2 u@j % %x" {
		t.Errorf("expandProxyCommand = %q", got)
	}
	// A host from the config file goes through sh: it is one word, never code.
	if got := expandProxyCommand("nc %h %p", target{Host: "h;touch x", Port: 22}); got != "nc 'h;touch x' 22" {
		t.Errorf("expandProxyCommand = %q", got)
	}
}

// The upload command writes through a temporary file with the final mode.
func TestUploadCommandLocally(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "it's here.env")
	cmd := exec.Command("sh", "-c", uploadCommand(path, 0o640))
	cmd.Stdin = strings.NewReader("X=1\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("stat = %v, %v", st, err)
	}
	cmd = exec.Command("sh", "-c", uploadCommand(filepath.Join(dir, "nodir", "x"), 0o600))
	cmd.Stdin = strings.NewReader("X=1\n")
	if err := cmd.Run(); err == nil {
		t.Fatal("upload into a missing directory succeeded")
	}
}

// recorder keeps the events it is sent (from several goroutines: a
// command's stdout and stderr are read apart).
type recorder struct {
	mu     sync.Mutex
	events []progress.Event
}

func (r *recorder) Emit(e progress.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) Close() error { return nil }

func TestOutputEventsAreRedacted(t *testing.T) {
	rec := &recorder{}
	o := NewOutputTo(rec, LevelDefault, NewRedactor("s3cret"))
	done := o.Step("h1", "web", "boot")
	done(errors.New("boot failed: s3cret"))
	o.Hook("pre-deploy")(nil)
	o.Lock("acquired", "h1", "deploying s3cret")
	o.Audit("h1", "[x] Booted s3cret")
	o.Print("say s3cret\n")
	o.HostBlock("App", "h1", "out s3cret")
	l := &Local{Out: o}
	if _, err := l.Exec(context.Background(), "", "echo s3cret; exit 3", ExecOptions{}); err == nil {
		t.Fatal("exit 3 succeeded")
	}
	var types []string
	for _, e := range rec.events {
		types = append(types, e.Type())
		line, _ := progress.MarshalEvent(e, time.Now())
		if strings.Contains(string(line), "s3cret") || strings.Contains(fmt.Sprintf("%+v", e), "s3cret") {
			t.Errorf("secret in %s event: %+v", e.Type(), e)
		}
	}
	want := "step_start step_finish hook_start hook_finish lock audit message host_output command_start command_output command"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events: %s\nwant    %s", got, want)
	}
	last := rec.events[len(rec.events)-1].(progress.Command)
	if !last.Failed || last.ExitStatus != 3 || last.Host != "localhost" || len(last.OutputTail) != 1 || last.OutputTail[0] != Redacted {
		t.Errorf("failed command event: %+v", last)
	}
	finish := rec.events[1].(progress.StepFinish)
	if finish.OK || finish.Error != "boot failed: "+Redacted || finish.Role != "web" {
		t.Errorf("step finish: %+v", finish)
	}
}

// A value in a command cannot forge a log line or reach the terminal as an
// escape sequence: control characters are shown escaped, after redaction.
func TestCommandLinesArePrintable(t *testing.T) {
	var buf bytes.Buffer
	out := NewOutput(&buf, LevelVerbose, NewRedactor("line1\nline2-secret"))
	log := newCommandLog(out, Info, "h", "on h")
	log.started("docker run --env A=\"x\n  INFO [deadbeef] Finished in 0.1 seconds\" --label b=\"\x1b]0;title\x07\u009b\" --env S=\"line1\nline2-secret\" \xff", false)
	got := buf.String()
	if strings.Count(got, "\n") != 2 || strings.ContainsAny(got, "\x1b\x07\u009b") {
		t.Fatalf("log:\n%q", got)
	}
	for _, want := range []string{`A="x\n  INFO [deadbeef] Finished`, `b="\x1B]0;title\x07\u009B"`, `S=[REDACTED] `, `\xFF`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	err := &CommandError{Command: "echo \"a\nb\"", ExitStatus: 1}
	if strings.Contains(err.Error(), "a\nb") || !strings.Contains(err.Error(), `echo "a\nb" exit status: 1`) {
		t.Errorf("error: %q", err.Error())
	}
}

func TestOperationLogsLikeACommand(t *testing.T) {
	var buf bytes.Buffer
	out := NewOutput(&buf, LevelVerbose, NewRedactor("hunter2"))
	op := out.Operation(0, "vm1", "docker ps --filter label=service=app")
	op.Output("app-web-v1\napp-web-v2\n")
	if err := op.Done(nil); err != nil {
		t.Fatal(err)
	}
	failure := errors.New("Error response from daemon: No such container: hunter2")
	if err := out.Operation(Debug, "vm1", "docker stop x").Done(failure); err != failure {
		t.Errorf("Done returned %v", err)
	}
	log := buf.String()
	for _, want := range []string{
		"  INFO [", "] Running docker ps --filter label=service=app on vm1\n",
		"] \tapp-web-v1\n", "] \tapp-web-v2\n", "with exit status 0 (successful).",
		" DEBUG [", "] Running docker stop x on vm1\n",
		"] \tError response from daemon: No such container: [REDACTED]\n", "with exit status 1 (failed).",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// An operation that fails (a command run in a container through the Docker
// API) reports the tail of its output, as a failed command does: a live
// view shows it under the failed step.
func TestOperationFailureCarriesItsOutputTail(t *testing.T) {
	rec := &recorder{}
	o := NewOutputTo(rec, LevelDefault, NewRedactor("s3cret"))
	op := o.Operation(Info, "vm1", "docker exec kamal-proxy kamal-proxy deploy app-web")
	op.Output("")
	op.Output("Deploying s3cret")
	op.Output("Error: target failed to become healthy\n")
	op.Exited(1)
	last := rec.events[len(rec.events)-1].(progress.Command)
	want := []string{"Deploying " + Redacted, "Error: target failed to become healthy"}
	if !last.Failed || last.ExitStatus != 1 || !slices.Equal(last.OutputTail, want) {
		t.Errorf("failed operation's event: %+v, want tail %q", last, want)
	}
	ok := o.Operation(Info, "vm1", "docker ps")
	ok.Output("app-web-v1\n")
	ok.Exited(0)
	if last := rec.events[len(rec.events)-1].(progress.Command); last.Failed || last.OutputTail != nil {
		t.Errorf("successful operation's event: %+v", last)
	}
}
