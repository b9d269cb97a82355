package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/ptytest"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

// countingWriter counts writes (redraws) and keeps the bytes.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *countingWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

// newTestTTY is a TTY that redraws only when the test calls draw.
func newTestTTY(opt TTYOptions) (*TTY, *countingWriter, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := &countingWriter{}
	opt.Now, opt.Interval = clock.Now, time.Hour
	return NewTTY(w, opt), w, clock
}

func (t *TTY) draw() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.frame++
	t.redraw()
}

// expectLines checks that the screen (or output) holds every text.
func expectLines(t *testing.T, screen string, texts ...string) {
	t.Helper()
	for _, want := range texts {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
}

// deploySteps plays a deploy of web on h1 (fine) and h2 (its boot fails).
func deploySteps(t *TTY, clock *fakeClock) {
	for _, h := range []string{"h1", "h2"} {
		t.Emit(StepStart{Host: h, Role: "web", Step: "pull"})
		t.Emit(CommandStart{CommandID: "pull-" + h, Host: h, Command: "docker pull app:v2"})
		t.Emit(CommandOutput{CommandID: "pull-" + h, Host: h, Line: "aaa: Pulling fs layer"})
		t.Emit(CommandOutput{CommandID: "pull-" + h, Host: h, Line: "bbb: Pulling fs layer"})
		t.Emit(CommandOutput{CommandID: "pull-" + h, Host: h, Line: "aaa: Pull complete"})
	}
	clock.advance(1500 * time.Millisecond)
	t.draw()
	for _, h := range []string{"h1", "h2"} {
		t.Emit(Command{CommandID: "pull-" + h, Host: h, Command: "docker pull app:v2", Duration: time.Second})
		t.Emit(StepFinish{Host: h, Role: "web", Step: "pull", OK: true, DurationMS: 1500})
		t.Emit(StepStart{Host: h, Role: "web", Step: "boot"})
	}
	clock.advance(time.Second)
	t.draw()
	t.Emit(StepFinish{Host: "h1", Role: "web", Step: "boot", OK: true, DurationMS: 1000})
	t.Emit(Command{CommandID: "run-h2", Host: "h2", Command: "docker run app:v2", ExitStatus: 125, Failed: true,
		Duration: 300 * time.Millisecond, OutputTail: []string{"docker: port is already allocated."}})
	// The step's error is the command's, as remote.CommandError words it.
	t.Emit(StepFinish{Host: "h2", Role: "web", Step: "boot", OK: false, DurationMS: 1000,
		Error: "docker run app:v2 exit status: 125\ndocker run app:v2 stdout: Nothing written\ndocker run app:v2 stderr: docker: port is already allocated."})
	t.draw()
	t.Emit(Result{OK: false, Error: "boom", Hosts: []HostResult{
		{Host: "h1", Role: "web", VersionBefore: "v1", Version: "v2", OK: true},
		{Host: "h2", Role: "web", VersionBefore: "v1", Version: "v1", OK: false},
	}})
}

func TestTTYLiveLinesAndSummary(t *testing.T) {
	tty, w, clock := newTestTTY(TTYOptions{})
	deploySteps(tty, clock)

	if err := tty.Close(); err != nil {
		t.Fatal(err)
	}
	got := ptytest.Replay(w.bytes()).Text()
	expectLines(t, got,
		"✓ h1  web  pull  1.5s",
		"✓ h2  web  pull  1.5s",
		"✓ h1  web  boot  1.0s",
		"✗ h2  web  boot  1.0s  exit status 125",
		"    $ docker run app:v2",
		"    | docker: port is already allocated.",
		"   HOST  ROLE  VERSION  DURATION",
		"✓  h1    web   v1 → v2  2.5s",
		"✗  h2    web   v1       2.5s",
		"✗ Failed after 2.5s",
	)
	// The live lines are gone at the end: no spinner left on the screen.
	if strings.ContainsAny(got, strings.Join(unicodeSymbols.spinner, "")) {
		t.Errorf("spinner left on the screen:\n%s", got)
	}
	if strings.Count(got, "h1  web  pull") != 1 || strings.Count(got, "h2  web  boot") != 1 || strings.Count(got, "$ docker run") != 1 {
		t.Errorf("lines repeated:\n%s", got)
	}
	// The step's error names the command again: not shown line by line.
	if strings.Contains(got, "\ndocker run app:v2") {
		t.Errorf("the step's error printed as it is:\n%s", got)
	}
}

func TestTTYShowsRunningSteps(t *testing.T) {
	tty, w, clock := newTestTTY(TTYOptions{})
	defer tty.Close()
	tty.Emit(StepStart{Host: "h1", Role: "web", Step: "pull"})
	tty.Emit(CommandStart{CommandID: "p", Host: "h1", Command: "docker pull app:v2"})
	tty.Emit(CommandOutput{CommandID: "p", Line: "aaa: Pulling fs layer"})
	tty.Emit(CommandOutput{CommandID: "p", Line: "bbb: Already exists"})
	tty.Emit(CommandStart{CommandID: "q", Host: "h2", Command: "docker ps"})
	clock.advance(2300 * time.Millisecond)
	tty.draw()
	tty.draw()
	got := ptytest.Replay(w.bytes()).Lines()
	want := []string{"⠹ h1  web  pull  2.3s  1/2 layers", "⠹ h2  2.3s  docker ps"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("live lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTTYFitsTheWidth(t *testing.T) {
	width := 30
	tty, w, _ := newTestTTY(TTYOptions{Width: func() int { return width }})
	tty.Emit(CommandStart{CommandID: "q", Host: "h1", Command: "docker ps --filter label=service=app --format '{{.Names}}'"})
	tty.draw()
	width = 20 // the terminal got narrower
	tty.draw()
	tty.Close()
	for _, l := range ptytest.Replay(w.bytes()).Lines() {
		if n := len([]rune(l)); n >= 30 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
}

func TestTTYStaticASCII(t *testing.T) {
	tty, w, clock := newTestTTY(TTYOptions{ASCII: true, Static: true})
	deploySteps(tty, clock)
	tty.Close()
	out := string(w.bytes())
	for i, r := range out {
		if r > 127 || r == 0x1b {
			t.Fatalf("byte %d of the static ASCII output is %q:\n%s", i, r, out)
		}
	}
	expectLines(t, out, "+ h1  web  pull  1.5s\n", "x h2  web  boot  1.0s  exit status 125\n", "+  h1    web   v1 -> v2", "x Failed after")
}

func TestTTYInteractiveCommandOwnsTheTerminal(t *testing.T) {
	tty, w, _ := newTestTTY(TTYOptions{})
	tty.Emit(CommandStart{CommandID: "a", Host: "h1", Command: "docker ps"})
	tty.draw()
	tty.Emit(CommandStart{CommandID: "i", Host: "h1", Command: "docker exec -it app sh", Interactive: true})
	before := len(w.bytes())
	tty.draw()
	if len(w.bytes()) != before {
		t.Errorf("redrawn while an interactive command runs: %q", w.bytes()[before:])
	}
	tty.Emit(Command{CommandID: "i", Host: "h1"})
	tty.draw()
	if len(w.bytes()) == before {
		t.Error("not redrawn after the interactive command")
	}
	tty.Close()
}

func TestTTYRedrawsAtMostTenTimesASecond(t *testing.T) {
	w := &countingWriter{}
	tty := NewTTY(w, TTYOptions{})
	start := time.Now()
	for i := range 20000 {
		tty.Emit(CommandStart{CommandID: "c", Host: "h1", Command: "docker pull app"})
		tty.Emit(CommandOutput{CommandID: "c", Host: "h1", Line: "layer: Pulling fs layer"})
		if i%1000 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	tty.Close()
	elapsed := time.Since(start)
	w.mu.Lock()
	writes := w.writes
	w.mu.Unlock()
	// One write per tick, plus the final one.
	if limit := int(elapsed/(100*time.Millisecond)) + 1; writes > limit {
		t.Errorf("%d writes in %v, want at most %d", writes, elapsed, limit)
	}
}

func TestTTYPromptWaitsOnItsLine(t *testing.T) {
	tty, w, _ := newTestTTY(TTYOptions{})
	tty.Emit(CommandStart{CommandID: "a", Host: "h1", Command: "docker ps"})
	tty.draw()
	tty.Emit(Message{Text: "Are you sure? [y, N] (N) ", Shown: true})
	before := len(w.bytes())
	tty.draw()
	if !strings.HasSuffix(string(w.bytes()), "Are you sure? [y, N] (N) ") || len(w.bytes()) != before {
		t.Errorf("the question is not the last thing on the screen: %q", w.bytes())
	}
	w.Write([]byte("n\n")) // the terminal echoes the answer
	tty.Emit(Message{Text: "Aborted\n", Shown: true})
	tty.Close()
	if got := ptytest.Replay(w.bytes()).Text(); !strings.Contains(got, "Are you sure? [y, N] (N) n\nAborted") {
		t.Errorf("screen:\n%s", got)
	}
}

func TestTTYShowsOnlyTheFailureThatFailedTheRun(t *testing.T) {
	tty, w, _ := newTestTTY(TTYOptions{})
	// A failure the orchestration handles, on h1, and the one that fails
	// the run, on h2, followed by a cleanup command that works.
	tty.Emit(Command{CommandID: "a", Host: "h1", Command: "docker network create kamal", ExitStatus: 1, Failed: true, OutputTail: []string{"exists"}})
	tty.Emit(Command{CommandID: "b", Host: "h2", Command: "docker exec kamal-proxy deploy", ExitStatus: 1, Failed: true, OutputTail: []string{"unhealthy"}})
	tty.Emit(Command{CommandID: "c", Host: "h2", Command: "docker stop app"})
	tty.Emit(Result{OK: false, Error: "Exception while executing on host h2: docker exec kamal-proxy deploy exit status: 1"})
	tty.Close()
	got := ptytest.Replay(w.bytes()).Text()
	if strings.Contains(got, "network create") || !strings.Contains(got, "$ docker exec kamal-proxy deploy\n    | unhealthy") {
		t.Errorf("screen:\n%s", got)
	}

	// A successful run shows no handled failure.
	tty, w, _ = newTestTTY(TTYOptions{})
	tty.Emit(Command{CommandID: "a", Host: "h1", Command: "docker network create kamal", ExitStatus: 1, Failed: true})
	tty.Emit(Result{OK: true})
	tty.Close()
	if got := ptytest.Replay(w.bytes()).Text(); strings.Contains(got, "✗") {
		t.Errorf("a handled failure shows:\n%s", got)
	}
}

func TestTTYPassesABuildsProgressThrough(t *testing.T) {
	tty, w, _ := newTestTTY(TTYOptions{})
	defer tty.Close()
	tty.Emit(CommandStart{CommandID: "b", Host: "localhost", Command: "docker buildx build --push -t app:v2 ."})
	tty.Emit(CommandOutput{CommandID: "b", Host: "localhost", Line: "#8 [3/5] RUN go build ./..."})
	tty.Emit(CommandStart{CommandID: "p", Host: "h1", Command: "docker push app:v2"})
	tty.Emit(CommandOutput{CommandID: "p", Line: "aaa: Preparing"})
	tty.Emit(CommandOutput{CommandID: "p", Line: "bbb: Preparing"})
	tty.Emit(CommandOutput{CommandID: "p", Line: "aaa: Pushed"})
	tty.draw()
	expectLines(t, ptytest.Replay(w.bytes()).Text(), "localhost  0.0s  #8 [3/5] RUN go build ./...", "h1  0.0s  1/2 layers  docker push app:v2")
}

func TestTTYHostStepsAfterRoleStepsKeepOneRow(t *testing.T) {
	tty, w, _ := newTestTTY(TTYOptions{})
	for _, e := range []Event{
		StepStart{Host: "h1", Step: "pull"}, StepFinish{Host: "h1", Step: "pull", OK: true},
		StepStart{Host: "h1", Role: "web", Step: "boot"}, StepFinish{Host: "h1", Role: "web", Step: "boot", OK: true},
		StepStart{Host: "h1", Step: "prune"}, StepFinish{Host: "h1", Step: "prune", OK: true},
		Result{OK: true, Hosts: []HostResult{{Host: "h1", Role: "web", Version: "v1", OK: true}}},
	} {
		tty.Emit(e)
	}
	tty.Close()
	got := ptytest.Replay(w.bytes()).Text()
	if strings.Count(got, "✓  h1") != 1 {
		t.Errorf("h1 has more than one summary row:\n%s", got)
	}
	expectLines(t, got, "✓  h1    web   v1", "✓ h1  web  prune")
}

// A step that fails without a failed command shows its own error: the
// first line on the cross's line, the others indented below it.
func TestTTYStepErrorWithoutFailedCommand(t *testing.T) {
	tty, w, clock := newTestTTY(TTYOptions{})
	tty.Emit(StepStart{Host: "h1", Role: "web", Step: "health check"})
	clock.advance(500 * time.Millisecond)
	tty.Emit(StepFinish{Host: "h1", Role: "web", Step: "health check", DurationMS: 500, Error: "container not healthy\nlast probe: 503"})
	tty.Close()
	expectLines(t, ptytest.Replay(w.bytes()).Text(), "✗ h1  web  health check  0.5s  container not healthy", "    last probe: 503")
}
