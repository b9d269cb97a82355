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
// and is logged like Exec: its "Running" line when it starts, its output,
// its "Finished" line with its own duration and exit status. The batch
// stops at the first step that fails without AllowFailure; the error is
// that step's *CommandError, as Exec would have returned it. The results
// are those of the steps that ran.
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
	if _, err := exitStatus(runErr); err != nil {
		return b.results, red.Error(fmt.Errorf("running commands on %s: %w", host, err))
	}
	return b.finish()
}

// batchRun follows one batch's output: markers with a random nonce end
// each step on stdout (with its exit status) and on stderr.
type batchRun struct {
	out    *Output
	host   string
	steps  []Step
	marker string

	mu       sync.Mutex
	current  int // the step now running
	started  time.Time
	logs     []*commandLog // per step
	outs     []*bytes.Buffer
	errs     []*bytes.Buffer
	outLines []*LineWriter
	errLines []*LineWriter
	ended    []bool // the step's stderr marker came
	results  []Result

	stdout, stderr markerWriter
}

func newBatchRun(out *Output, host string, steps []Step) (*batchRun, error) {
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	b := &batchRun{out: out, host: host, steps: steps, marker: "KAMAL-STEP-" + hex.EncodeToString(nonce) + ":"}
	for _, st := range steps {
		sev := st.Severity
		if sev == 0 {
			sev = Info
		}
		log := newCommandLog(out, sev, host, "on "+host)
		b.logs = append(b.logs, log)
		b.outs = append(b.outs, &bytes.Buffer{})
		b.errs = append(b.errs, &bytes.Buffer{})
		b.outLines = append(b.outLines, NewLineWriter(log.line))
		b.errLines = append(b.errLines, NewLineWriter(log.line))
		b.ended = append(b.ended, false)
	}
	b.stdout = markerWriter{marker: b.marker, text: b.stdoutText, mark: b.stdoutMark}
	b.stderr = markerWriter{marker: b.marker, text: b.stderrText, mark: b.stderrMark}
	return b, nil
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

// begin logs the first step's start.
func (b *batchRun) begin() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.startStep(0)
}

func (b *batchRun) startStep(i int) {
	b.current, b.started = i, time.Now()
	if st := b.steps[i]; st.upload != "" {
		b.out.upload(b.host, st.upload)
		return
	}
	b.logs[i].started(b.steps[i].Command, false)
}

func (b *batchRun) stdoutText(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := b.current; i < len(b.steps) {
		b.outs[i].Write(p)
		if b.steps[i].upload == "" {
			_, _ = b.outLines[i].Write(p)
		}
	}
}

// stderrText files error output under the first step whose stderr marker
// has not come yet (stderr and stdout are read independently).
func (b *batchRun) stderrText(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.steps {
		if !b.ended[i] {
			b.errs[i].Write(p)
			if b.steps[i].upload == "" {
				_, _ = b.errLines[i].Write(p)
			}
			return
		}
	}
}

func (b *batchRun) stderrMark(string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.steps {
		if !b.ended[i] {
			b.ended[i] = true
			b.errLines[i].Flush()
			return
		}
	}
}

// stdoutMark handles "i:status" after a marker on stdout: step i ended.
func (b *batchRun) stdoutMark(rest string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx, status, ok := strings.Cut(rest, ":")
	i, err1 := strconv.Atoi(idx)
	code, err2 := strconv.Atoi(status)
	if !ok || err1 != nil || err2 != nil || i != b.current {
		return
	}
	st := b.steps[i]
	res := Result{Host: b.host, Command: st.Command, Stdout: b.outs[i].String(), ExitStatus: code, Duration: time.Since(b.started)}
	if st.upload == "" {
		b.outLines[i].Flush()
		b.logs[i].finished(res, code != 0 && !st.AllowFailure)
	}
	b.results = append(b.results, res)
	if i+1 < len(b.steps) && (code == 0 || st.AllowFailure) {
		b.startStep(i + 1)
	} else {
		b.current = len(b.steps)
	}
}

// finish attaches each step's stderr and turns the first failure into
// the error Exec would have returned.
func (b *batchRun) finish() ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	red := b.out.Redactor()
	for i := range b.results {
		b.results[i].Stderr = b.errs[i].String()
	}
	for i, res := range b.results {
		st := b.steps[i]
		if res.ExitStatus == 0 || st.AllowFailure {
			continue
		}
		if st.upload != "" {
			return b.results, red.Error(fmt.Errorf("uploading %s to %s failed (exit status %d): %s", st.upload, b.host, res.ExitStatus, strings.TrimSpace(res.Stderr)))
		}
		return b.results, &CommandError{
			Host: b.host, Command: red.Redact(res.Command), ExitStatus: res.ExitStatus,
			Stdout: red.Redact(res.Stdout), Stderr: red.Redact(res.Stderr),
		}
	}
	if len(b.results) < len(b.steps) && (len(b.results) == 0 || b.results[len(b.results)-1].ExitStatus == 0 || b.steps[len(b.results)-1].AllowFailure) {
		return b.results, red.Error(fmt.Errorf("running commands on %s: %w", b.host, errBatchCut))
	}
	return b.results, nil
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
