package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Step is one command of a batch.
type Step struct {
	Command string
	// Stdin is the command's standard input (a password, a file's
	// content); the command should read it to its end. Nil means none.
	Stdin []byte
	// Severity of the step's "Running"/"Finished" lines (default Info).
	Severity Severity
	// AllowFailure makes a non-zero exit a normal result: the batch goes on.
	AllowFailure bool

	upload string // path, when the step is an upload (logged as such)
	mode   os.FileMode
}

// UploadStep writes data to path with mode, as Upload does, as a step of a
// batch.
func UploadStep(path string, data []byte, mode os.FileMode) Step {
	return Step{Command: uploadCommand(path, mode), Stdin: data, upload: path, mode: mode}
}

// Batcher runs several commands in one session. *Pool is one.
type Batcher interface {
	Batch(ctx context.Context, host string, steps []Step) ([]Result, error)
}

// RunBatch runs steps on host in one session when x can (see Pool.Batch),
// else one after another through Exec and Upload, with the same results
// and errors.
func RunBatch(ctx context.Context, x Executor, host string, steps []Step) ([]Result, error) {
	if b, ok := x.(Batcher); ok {
		return b.Batch(ctx, host, steps)
	}
	var results []Result
	for _, s := range steps {
		if s.upload != "" {
			if err := x.Upload(ctx, host, s.upload, s.Stdin, s.mode); err != nil {
				return results, err
			}
			results = append(results, Result{Host: host, Command: s.Command})
			continue
		}
		o := ExecOptions{Severity: s.Severity, AllowFailure: s.AllowFailure}
		if s.Stdin != nil {
			o.Stdin = bytes.NewReader(s.Stdin)
		}
		res, err := x.Exec(ctx, host, s.Command, o)
		results = append(results, res)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// Batch runs steps on host one after another in a single SSH session (one
// shell), which costs the server one session instead of one per command.
// Each step runs in a subshell of its own, with its own standard input,
// and reports the same events as Exec would: its "Running" line when it
// starts, its output, its "Finished" line with its own duration and exit
// status and, when it fails, the tail of its output. The batch stops at
// the first step that fails without AllowFailure; the error is that step's
// *CommandError, as Exec would have returned it. The results are those of
// the steps that ran.
func (p *Pool) Batch(ctx context.Context, host string, steps []Step) ([]Result, error) {
	if len(steps) == 0 {
		return nil, nil
	}
	red := p.out.Redactor()
	b, err := newBatchRun(p.out, host, steps)
	if err != nil {
		return nil, err
	}
	s, release, err := p.session(ctx, host)
	if err != nil {
		return nil, red.Error(err)
	}
	defer release()
	s.Stdin = bytes.NewReader(b.stdin())
	s.Stdout = &b.stdout
	s.Stderr = &b.stderr
	b.begin()
	runErr := runSession(ctx, s, b.script())
	b.stdout.flush()
	b.stderr.flush()
	_, err = exitStatus(runErr)
	return b.finish(err)
}

// batchRun follows one batch's output: markers with a random nonce end
// each step on stdout (with its exit status) and on stderr. The two
// streams are read apart, so a step ends when both its markers have come:
// only then are its output and exit status complete, and only then does
// the next step's log begin.
type batchRun struct {
	out    *Output
	host   string
	steps  []*batchStep
	marker string

	mu      sync.Mutex
	outStep int // the step whose stdout is being read
	errStep int // the step whose stderr is being read
	logStep int // the step whose log is open (started, not finished)
	results []Result
	err     error // the failure that stopped the batch

	stdout, stderr markerWriter
}

// batchStep is one step of a batchRun.
type batchStep struct {
	Step
	log              *commandLog
	out, err         bytes.Buffer
	outLines         *LineWriter
	errLines         *LineWriter
	open             bool     // its log has started
	held             []string // output lines that came before its log started
	start            time.Time
	duration         time.Duration
	status           int
	outDone, errDone bool // its markers came
}

func newBatchRun(out *Output, host string, steps []Step) (*batchRun, error) {
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	b := &batchRun{out: out, host: host, marker: "KAMAL-STEP-" + hex.EncodeToString(nonce) + ":"}
	for _, st := range steps {
		sev := st.Severity
		if sev == 0 {
			sev = Info
		}
		bs := &batchStep{Step: st, log: newCommandLog(out, sev, host, "on "+host)}
		bs.outLines = NewLineWriter(bs.line)
		bs.errLines = NewLineWriter(bs.line)
		b.steps = append(b.steps, bs)
	}
	b.stdout = markerWriter{marker: b.marker, text: b.stdoutText, mark: b.stdoutMark}
	b.stderr = markerWriter{marker: b.marker, text: b.stderrText, mark: b.stderrMark}
	return b, nil
}

// line reports a line of the step's output, once its log has started.
func (s *batchStep) line(text string) {
	if s.upload != "" {
		return
	}
	if !s.open {
		s.held = append(s.held, text)
		return
	}
	s.log.line(text)
}

// script is the shell text of the batch. Step i ends with
// "<marker>i:<status>\n" on stdout and "<marker>\n" on stderr.
func (b *batchRun) script() string {
	var s strings.Builder
	for i, st := range b.steps {
		if st.Stdin == nil {
			fmt.Fprintf(&s, "(\n%s\n) </dev/null", st.Command)
		} else {
			// dd reads exactly this step's bytes from the session's input;
			// what the command leaves unread is drained, so the next step
			// starts at its own input.
			fmt.Fprintf(&s, "dd bs=1 count=%d 2>/dev/null | (\n(\n%s\n); r=$?; cat >/dev/null; exit $r)", len(st.Stdin), st.Command)
		}
		fmt.Fprintf(&s, "\nr=$?; printf '%%s%d:%%d\\n' %s $r; printf '%%s\\n' %s >&2\n", i, b.marker, b.marker)
		if !st.AllowFailure {
			s.WriteString("[ $r -eq 0 ] || exit $r\n")
		}
	}
	return s.String()
}

func (b *batchRun) stdin() []byte {
	var all []byte
	for _, st := range b.steps {
		all = append(all, st.Stdin...)
	}
	return all
}

// begin starts the first step.
func (b *batchRun) begin() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.steps[0].start = time.Now()
	b.openLog(0)
}

// openLog reports step i's start, then the output it already wrote.
func (b *batchRun) openLog(i int) {
	st := b.steps[i]
	if st.upload != "" {
		b.out.upload(b.host, st.upload)
		return
	}
	st.log.started(st.Command, false)
	st.open = true
	for _, l := range st.held {
		st.log.line(l)
	}
	st.held = nil
}

func (b *batchRun) stdoutText(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := b.outStep; i < len(b.steps) {
		b.steps[i].out.Write(p)
		_, _ = b.steps[i].outLines.Write(p)
	}
}

func (b *batchRun) stderrText(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := b.errStep; i < len(b.steps) {
		b.steps[i].err.Write(p)
		_, _ = b.steps[i].errLines.Write(p)
	}
}

// stdoutMark handles "i:status" after a marker on stdout: step i exited,
// and what follows on stdout is the next step's.
func (b *batchRun) stdoutMark(rest string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx, status, ok := strings.Cut(rest, ":")
	i, err1 := strconv.Atoi(idx)
	code, err2 := strconv.Atoi(status)
	if !ok || err1 != nil || err2 != nil || i != b.outStep || i >= len(b.steps) {
		return
	}
	st := b.steps[i]
	st.outLines.Flush()
	st.status, st.duration, st.outDone = code, time.Since(st.start), true
	b.outStep++
	if b.outStep < len(b.steps) {
		b.steps[b.outStep].start = time.Now()
	}
	b.advance()
}

// stderrMark ends the stderr of the step being read.
func (b *batchRun) stderrMark(string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := b.errStep; i < len(b.steps) {
		b.steps[i].errLines.Flush()
		b.steps[i].errDone = true
		b.errStep++
		b.advance()
	}
}

// advance ends the logs of the steps whose markers have both come, as
// Exec ends a command's, and starts the next step's log, until a step is
// still running or one failed.
func (b *batchRun) advance() {
	for b.logStep < len(b.steps) && b.err == nil {
		st := b.steps[b.logStep]
		if !st.outDone || !st.errDone {
			return
		}
		res, err := b.end(st)
		b.results = append(b.results, res)
		if err != nil {
			b.err = err
			return
		}
		b.logStep++
		if b.logStep < len(b.steps) {
			b.openLog(b.logStep)
		}
	}
}

// end reports the end of st and returns its result, with the error Exec
// or Upload would have returned.
func (b *batchRun) end(st *batchStep) (Result, error) {
	res := Result{Host: b.host, Command: st.Command, Stdout: st.out.String(), Stderr: st.err.String(),
		ExitStatus: st.status, Duration: st.duration}
	if st.upload == "" {
		return finishCommand(st.log, b.out.Redactor(), res, ExecOptions{AllowFailure: st.AllowFailure})
	}
	if st.status != 0 {
		return res, b.out.Redactor().Error(fmt.Errorf("uploading %s to %s failed (exit status %d): %s", st.upload, b.host, st.status, strings.TrimSpace(res.Stderr)))
	}
	return res, nil
}

// finish ends the batch after the session, which ended with sessionErr
// (nil when the shell exited, whatever its status): the step that failed
// gives the error; a session that broke or ended before every step
// reported is an error too, and the step it cut is reported unfinished,
// as Exec reports a command whose session fails.
func (b *batchRun) finish(sessionErr error) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A step's stderr marker can only be missing when the session was cut;
	// its exit status came, so it ended.
	for _, st := range b.steps {
		if st.outDone {
			st.errDone = true
		}
	}
	b.advance()
	if b.err != nil {
		return b.results, b.err
	}
	if sessionErr == nil && b.logStep == len(b.steps) {
		return b.results, nil
	}
	if sessionErr == nil {
		sessionErr = errBatchCut
	}
	err := b.out.Redactor().Error(fmt.Errorf("running commands on %s: %w", b.host, sessionErr))
	if i := b.logStep; i < len(b.steps) && b.steps[i].open {
		_ = b.steps[i].log.abort(b.steps[i].start, err)
	}
	b.logStep = len(b.steps)
	return b.results, err
}

var errBatchCut = errors.New("the session ended before every command reported its exit status")

// markerWriter splits a stream at markers: text goes to text, and the rest
// of each marker's line to mark. A marker split across writes is held back
// until it is complete.
type markerWriter struct {
	marker string
	text   func([]byte)
	mark   func(rest string)
	buf    []byte
}

func (w *markerWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.Index(w.buf, []byte(w.marker))
		if i < 0 {
			break
		}
		end := bytes.IndexByte(w.buf[i:], '\n')
		if end < 0 {
			if i > 0 {
				w.text(w.buf[:i])
				w.buf = w.buf[i:]
			}
			return len(p), nil
		}
		if i > 0 {
			w.text(w.buf[:i])
		}
		w.mark(string(w.buf[i+len(w.marker) : i+end]))
		w.buf = w.buf[i+end+1:]
	}
	// Keep a tail that could be the start of a marker.
	keep := min(len(w.buf), len(w.marker)-1)
	for ; keep > 0; keep-- {
		if bytes.HasPrefix([]byte(w.marker), w.buf[len(w.buf)-keep:]) {
			break
		}
	}
	if n := len(w.buf) - keep; n > 0 {
		w.text(w.buf[:n])
		w.buf = w.buf[n:]
	}
	return len(p), nil
}

// flush passes on what is left (a session cut in the middle of a marker).
func (w *markerWriter) flush() {
	if len(w.buf) > 0 {
		w.text(w.buf)
		w.buf = nil
	}
}
