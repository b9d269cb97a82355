package progress

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// TTYOptions tune the live terminal view.
type TTYOptions struct {
	// Width returns the terminal's width in columns, asked at every
	// redraw so a resized terminal gets lines that fit; nil means 80.
	Width func() int
	// ASCII draws with ASCII only (a terminal without UTF-8).
	ASCII bool
	// Static prints finished lines only, without redrawing live lines
	// (a terminal without cursor movement, TERM=dumb).
	Static bool
	// Interval between redraws; at most 10 per second by default.
	Interval time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

// TerminalOptions describes the terminal f from the environment: its
// width, whether it takes UTF-8 (LC_ALL, LC_CTYPE, LANG) and whether it
// can move the cursor (not TERM=dumb).
func TerminalOptions(f *os.File, getenv func(string) string) TTYOptions {
	dumb := getenv("TERM") == "dumb"
	locale := ""
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if locale = getenv(k); locale != "" {
			break
		}
	}
	l := strings.ToLower(locale)
	utf8Locale := locale == "" || strings.Contains(l, "utf-8") || strings.Contains(l, "utf8")
	return TTYOptions{
		Width: func() int {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
				return w
			}
			return 80
		},
		ASCII:  dumb || !utf8Locale,
		Static: dumb,
	}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type symbols struct {
	spinner         []string
	ok, fail, arrow string
}

var (
	unicodeSymbols = symbols{spinner: strings.Split("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏", ""), ok: "✓", fail: "✗", arrow: "→"}
	asciiSymbols   = symbols{spinner: []string{"|", "/", "-", `\`}, ok: "+", fail: "x", arrow: "->"}
)

// TTY is the live view: one line per host (and role) with its current
// step, a spinner and the time it has taken; finished steps and failures
// turn into lines above it; the end brings a summary table and the total
// time. Events only change state; a ticker redraws, so a flood of events
// costs no terminal writes and lines never interleave.
type TTY struct {
	mu    sync.Mutex
	w     io.Writer
	opt   TTYOptions
	sym   symbols
	start time.Time

	rows     []*row
	commands map[string]*runningCommand // by command id
	hooks    map[string]time.Time       // running hooks
	pending  []string                   // lines to print above the live ones
	drawn    int                        // live lines on the screen now
	paused   string                     // id of an interactive command that owns the terminal
	frame    int
	result   *Result

	stop chan struct{}
	done chan struct{}
}

// row is one host and role.
type row struct {
	host, role string
	step       string
	stepStart  time.Time
	lastStep   string
	first      time.Time
	last       time.Time
	failed     bool
	running    []*runningCommand
	failures   []*failure
}

type runningCommand struct {
	id, host, command string
	start             time.Time
	pull              bool // docker pull or push: counts layers
	layers, pulled    int
	lastLine          string // the command's latest output (a build's progress)
}

// NewTTY starts a live view writing to w.
func NewTTY(w io.Writer, opt TTYOptions) *TTY {
	if opt.Width == nil {
		opt.Width = func() int { return 80 }
	}
	if opt.Interval <= 0 {
		opt.Interval = 100 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	t := &TTY{w: w, opt: opt, sym: unicodeSymbols, start: opt.Now(),
		commands: map[string]*runningCommand{}, hooks: map[string]time.Time{}}
	if opt.ASCII {
		t.sym = asciiSymbols
	}
	if !opt.Static {
		t.stop, t.done = make(chan struct{}), make(chan struct{})
		go t.tick()
	}
	return t
}

func (t *TTY) tick() {
	defer close(t.done)
	ticker := time.NewTicker(t.opt.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-ticker.C:
			t.mu.Lock()
			t.frame++
			t.redraw()
			t.mu.Unlock()
		}
	}
}

// Emit updates the view's state; the next redraw shows it.
func (t *TTY) Emit(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.opt.Now()
	if t.paused == promptPause {
		t.paused = ""
	}
	switch e := e.(type) {
	case Log:
		if e.Shown && e.Severity >= Warn {
			t.print(strings.TrimRight(logLines(e.Severity, "", e.Message), "\n"))
		}
	case Message:
		switch {
		case !e.Shown:
		case !strings.HasSuffix(e.Text, "\n"):
			t.prompt(e.Text)
		default:
			t.print(strings.TrimRight(e.Text, "\n"))
		}
	case HostOutput:
		if e.Shown {
			t.print(fmt.Sprintf("%s Host: %s\n%s\n", e.Kind, e.Host, strings.TrimRight(e.Text, "\n")))
		}
	case CommandStart:
		c := &runningCommand{id: e.CommandID, host: e.Host, command: e.Command, start: now,
			pull: strings.Contains(e.Command, "docker pull ") || strings.Contains(e.Command, "docker push ")}
		t.commands[e.CommandID] = c
		r := t.hostRow(e.Host, now)
		r.running = append(r.running, c)
		if e.Interactive {
			t.clear()
			t.paused = e.CommandID
		}
	case CommandOutput:
		if c := t.commands[e.CommandID]; c != nil {
			if c.pull {
				countLayers(c, e.Line)
			}
			if l := strings.TrimSpace(e.Line); l != "" {
				c.lastLine = l
			}
		}
	case Command:
		t.finishCommand(e, now)
	case StepStart:
		r := t.roleRow(e.Host, e.Role, now)
		r.step, r.stepStart = e.Step, now
	case StepFinish:
		r := t.roleRow(e.Host, e.Role, now)
		d := time.Duration(e.DurationMS) * time.Millisecond
		if e.OK {
			t.print(t.line(t.sym.ok, r, e.Step, duration(d)))
		} else {
			t.showFailedStep(r, e.Step, d, e.Error)
		}
		r.step, r.lastStep = "", e.Step
	case HookStart:
		t.hooks[e.Hook] = now
	case HookFinish:
		delete(t.hooks, e.Hook)
		mark, text := t.sym.ok, ""
		if !e.OK {
			mark, text = t.sym.fail, "  "+e.Error
		}
		t.print(fmt.Sprintf("%s hook %s  %s%s", mark, e.Hook, duration(time.Duration(e.DurationMS)*time.Millisecond), text))
	case Result:
		t.result = &e
	}
	if t.opt.Static {
		t.flush()
	}
}

func (t *TTY) finishCommand(e Command, now time.Time) {
	c := t.commands[e.CommandID]
	delete(t.commands, e.CommandID)
	if t.paused == e.CommandID {
		t.paused = ""
	}
	r := t.hostRow(e.Host, now)
	if c != nil {
		for _, rr := range t.rows {
			rr.running = slices.DeleteFunc(rr.running, func(x *runningCommand) bool { return x == c })
		}
	}
	if e.Failed {
		// Not shown yet: the orchestration may handle it (a network that
		// exists already). A failing step or run shows it.
		r.failures = append(r.failures, &failure{Command: e, at: now})
	}
}

// failure is a command that failed on a row's host.
type failure struct {
	Command
	at    time.Time
	shown bool
}

// showFailedStep prints a failed step once: a cross with its duration and
// why it failed, then each command that failed during it with the tail of
// its output. When a command failed, the step's error is that command's
// (its message repeats the command line for stdout and stderr), so the
// line gives the exit status and the details follow; otherwise the error
// itself, its further lines indented.
func (t *TTY) showFailedStep(r *row, step string, d time.Duration, stepErr string) {
	r.failed = true
	var failed []*failure
	for _, f := range r.failures {
		if !f.shown && !f.at.Before(r.stepStart) {
			failed = append(failed, f)
		}
	}
	if len(failed) == 0 {
		first, rest, _ := strings.Cut(strings.TrimRight(stepErr, "\n"), "\n")
		lines := []string{t.line(t.sym.fail, r, step, duration(d)+"  "+first)}
		for l := range strings.SplitSeq(rest, "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, "    "+l)
			}
		}
		t.print(strings.Join(lines, "\n"))
		return
	}
	lines := []string{t.line(t.sym.fail, r, step, duration(d)+"  "+failed[len(failed)-1].why())}
	for _, f := range failed {
		f.shown = true
		lines = append(lines, f.detail()...)
	}
	t.print(strings.Join(lines, "\n"))
}

// showFailures prints the failures of r that match selects (at the end of
// a failed run).
func (t *TTY) showFailures(r *row, match func(*failure) bool) {
	for _, f := range r.failures {
		if f.shown || !match(f) {
			continue
		}
		f.shown = true
		r.failed = true
		step := r.step
		if step == "" {
			step = "command"
		}
		lines := append([]string{t.line(t.sym.fail, r, step, duration(f.Duration)+"  "+f.why())}, f.detail()...)
		t.print(strings.Join(lines, "\n"))
	}
}

// why is the failure in a few words: its exit status, or why the command
// could not finish.
func (f *failure) why() string {
	if f.Error != "" {
		return firstLine(f.Error)
	}
	return fmt.Sprintf("exit status %d", f.ExitStatus)
}

// detail is the failed command's line and the tail of its output.
func (f *failure) detail() []string {
	lines := []string{"    $ " + f.Command.Command}
	for _, l := range f.OutputTail {
		lines = append(lines, "    | "+l)
	}
	return lines
}

// showRunFailures prints, at the end of a failed run, the failed commands
// its error names; when it names none, the last failure of each host.
func (t *TTY) showRunFailures(runError string) {
	named := func(f *failure) bool { return strings.Contains(runError, f.Command.Command) }
	any := false
	for _, r := range t.rows {
		any = any || slices.ContainsFunc(r.failures, named)
	}
	for _, r := range t.rows {
		if any {
			t.showFailures(r, named)
		} else if n := len(r.failures); n > 0 {
			last := r.failures[n-1]
			t.showFailures(r, func(f *failure) bool { return f == last })
		}
	}
}

// countLayers follows the plain output of `docker pull` and `docker
// push`: one line per layer when it starts and when it is done.
func countLayers(c *runningCommand, line string) {
	switch {
	case strings.HasSuffix(line, ": Pulling fs layer"), strings.HasSuffix(line, ": Preparing"):
		c.layers++
	case strings.HasSuffix(line, ": Already exists"), strings.HasSuffix(line, ": Layer already exists"):
		c.layers++
		c.pulled++
	case strings.HasSuffix(line, ": Pull complete"), strings.HasSuffix(line, ": Pushed"):
		c.pulled++
	}
}

// hostRow is the row commands on host are shown in: the host's first row.
func (t *TTY) hostRow(host string, now time.Time) *row {
	for _, r := range t.rows {
		if r.host == host {
			r.last = now
			return r
		}
	}
	return t.addRow(&row{host: host, first: now, last: now})
}

// roleRow is the row of host and role; a host's row that has no role yet
// takes the first role it sees, and steps of the whole host (no role) show
// on the host's first row.
func (t *TTY) roleRow(host, role string, now time.Time) *row {
	if role == "" {
		return t.hostRow(host, now)
	}
	var bare *row
	for _, r := range t.rows {
		if r.host == host && r.role == role {
			r.last = now
			return r
		}
		if r.host == host && r.role == "" && bare == nil {
			bare = r
		}
	}
	if bare != nil {
		bare.role, bare.last = role, now
		return bare
	}
	return t.addRow(&row{host: host, role: role, first: now, last: now})
}

// promptPause is the pause of a question waiting for an answer.
const promptPause = "prompt"

// prompt shows text that waits on its line for the user's answer (a
// confirmation): now, and with no live line redrawn until the next event.
func (t *TTY) prompt(text string) {
	t.clear()
	t.flush()
	_, _ = io.WriteString(t.w, text)
	t.paused = promptPause
}

// addRow adds r in the order of hosts and roles, so lines keep their
// places whichever host starts first.
func (t *TTY) addRow(r *row) *row {
	i, _ := slices.BinarySearchFunc(t.rows, r, func(a, b *row) int {
		return strings.Compare(a.host+"\x00"+a.role, b.host+"\x00"+b.role)
	})
	t.rows = slices.Insert(t.rows, i, r)
	return r
}

// print queues text to go above the live lines.
func (t *TTY) print(text string) {
	t.pending = append(t.pending, strings.Split(text, "\n")...)
}

func (t *TTY) line(mark string, r *row, step, rest string) string {
	s := mark + " " + r.host
	if r.role != "" {
		s += "  " + r.role
	}
	return s + "  " + step + "  " + rest
}

// live is the line of r while the run goes on.
func (t *TTY) live(r *row, now time.Time) string {
	spin := t.sym.spinner[t.frame%len(t.sym.spinner)]
	switch {
	case r.step != "":
		s := t.line(spin, r, r.step, duration(now.Sub(r.stepStart)))
		if c := lastPull(r); c != nil && c.layers > 0 {
			s += fmt.Sprintf("  %d/%d layers", c.pulled, c.layers)
		}
		return s
	case len(r.running) > 0:
		c := r.running[len(r.running)-1]
		what := c.command
		switch {
		case c.pull && c.layers > 0:
			what = fmt.Sprintf("%d/%d layers  %s", c.pulled, c.layers, c.command)
		case c.lastLine != "":
			what = c.lastLine // a build shows its own progress
		}
		return t.line(spin, r, duration(now.Sub(c.start)), what)
	case r.failed:
		return t.line(t.sym.fail, r, "failed", "")
	case r.lastStep != "":
		return t.line(t.sym.ok, r, r.lastStep, "")
	}
	return t.line(" ", r, "waiting", "")
}

func lastPull(r *row) *runningCommand {
	for i := len(r.running) - 1; i >= 0; i-- {
		if r.running[i].pull {
			return r.running[i]
		}
	}
	return nil
}

// redraw prints the queued lines and the live lines over the previous
// live lines, in one write.
func (t *TTY) redraw() {
	if t.paused != "" || t.opt.Static {
		return
	}
	var b strings.Builder
	t.moveUp(&b)
	width := t.opt.Width()
	for _, l := range t.pending {
		b.WriteString(fit(l, width))
		b.WriteString("\x1b[K\n")
	}
	t.pending = t.pending[:0]
	now := t.opt.Now()
	t.drawn = 0
	for _, r := range t.rows {
		b.WriteString(fit(t.live(r, now), width))
		b.WriteString("\x1b[K\n")
		t.drawn++
	}
	for hook, start := range t.hooks {
		b.WriteString(fit(fmt.Sprintf("%s hook %s  %s", t.sym.spinner[t.frame%len(t.sym.spinner)], hook, duration(now.Sub(start))), width))
		b.WriteString("\x1b[K\n")
		t.drawn++
	}
	b.WriteString("\x1b[J")
	_, _ = io.WriteString(t.w, b.String())
}

// moveUp puts the cursor at the start of the live lines.
func (t *TTY) moveUp(b *strings.Builder) {
	if t.drawn > 0 {
		fmt.Fprintf(b, "\x1b[%dA", t.drawn)
	}
	b.WriteString("\r")
}

// clear removes the live lines (before a command takes the terminal).
func (t *TTY) clear() {
	if t.opt.Static || t.drawn == 0 {
		return
	}
	var b strings.Builder
	t.moveUp(&b)
	b.WriteString("\x1b[J")
	_, _ = io.WriteString(t.w, b.String())
	t.drawn = 0
}

// flush prints the queued lines (static mode).
func (t *TTY) flush() {
	if len(t.pending) == 0 {
		return
	}
	width := t.opt.Width()
	var b strings.Builder
	for _, l := range t.pending {
		b.WriteString(fit(l, width))
		b.WriteByte('\n')
	}
	t.pending = t.pending[:0]
	_, _ = io.WriteString(t.w, b.String())
}

// Close stops redrawing and prints, in place of the live lines, the
// summary: per host and role its outcome, versions and duration, then the
// total time.
func (t *TTY) Close() error {
	if t.stop != nil {
		close(t.stop)
		<-t.done
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.result != nil && !t.result.OK {
		t.showRunFailures(t.result.Error)
	}
	if len(t.rows) > 0 {
		t.print(t.summary())
	}
	if t.opt.Static {
		t.flush()
		return nil
	}
	var b strings.Builder
	if t.paused == "" {
		t.moveUp(&b)
		b.WriteString("\x1b[J")
	}
	width := t.opt.Width()
	for _, l := range t.pending {
		b.WriteString(fit(l, width))
		b.WriteString("\x1b[K\n")
	}
	t.pending, t.drawn = nil, 0
	_, err := io.WriteString(t.w, b.String())
	return err
}

// summary is the table printed at the end.
func (t *TTY) summary() string {
	ok := t.result == nil || t.result.OK
	var hosts []HostResult
	if t.result != nil {
		hosts = t.result.Hosts
	}
	header := []string{"", "HOST", "ROLE", "VERSION", "DURATION"}
	table := [][]string{header}
	for _, r := range t.rows {
		mark := t.sym.ok
		if r.failed || (!ok && r.step != "") {
			mark = t.sym.fail
		}
		version := ""
		for _, h := range hosts {
			if h.Host == r.host && (h.Role == r.role || r.role == "") {
				version = h.Version
				if h.VersionBefore != "" && h.VersionBefore != h.Version {
					version = h.VersionBefore + " " + t.sym.arrow + " " + h.Version
				}
				if !h.OK {
					mark = t.sym.fail
				}
				break
			}
		}
		table = append(table, []string{mark, r.host, r.role, version, duration(r.last.Sub(r.first))})
	}
	total := "Total " + duration(t.opt.Now().Sub(t.start))
	if !ok {
		total = t.sym.fail + " Failed after " + duration(t.opt.Now().Sub(t.start))
	}
	return formatTable(table) + "\n" + total
}

// formatTable aligns columns with two spaces between them, dropping
// columns that are empty below the header.
func formatTable(rows [][]string) string {
	cols := len(rows[0])
	widths := make([]int, cols)
	used := make([]bool, cols)
	for i, r := range rows {
		for c, cell := range r {
			widths[c] = max(widths[c], utf8.RuneCountInString(cell))
			if i > 0 && cell != "" {
				used[c] = true
			}
		}
	}
	var lines []string
	for _, r := range rows {
		var cells []string
		for c, cell := range r {
			if used[c] {
				cells = append(cells, cell+strings.Repeat(" ", widths[c]-utf8.RuneCountInString(cell)))
			}
		}
		lines = append(lines, strings.TrimRight(strings.Join(cells, "  "), " "))
	}
	return strings.Join(lines, "\n")
}

// fit cuts s to fit a line of width columns without wrapping.
func fit(s string, width int) string {
	if width <= 1 || utf8.RuneCountInString(s) < width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1])
}

// duration is d as "0.4s", "12.3s" or "2m05s".
func duration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
