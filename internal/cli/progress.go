package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/progress"
)

// progressFlag is --progress: auto (also when empty), tty or plain.
type progressFlag string

func (p *progressFlag) String() string {
	if *p == "" {
		return "auto"
	}
	return string(*p)
}
func (p *progressFlag) Type() string { return "string" }
func (p *progressFlag) Set(v string) error {
	switch v {
	case "auto", "tty", "plain":
		*p = progressFlag(v)
		return nil
	}
	return fmt.Errorf("must be auto, tty or plain, not %q", v)
}

// progressState is the renderer of one invocation, chosen from the
// flags on first use (after cobra parsed them).
type progressState struct {
	once     sync.Once
	r        *progress.Collector
	stdout   io.Writer // the process's standard output
	getenv   func(string) string
	started  time.Time
	finished bool
}

// addProgressFlags defines --progress and --json on the root command.
func (a *App) addProgressFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.Var(&a.Globals.Progress, "progress", "Output: auto (a live view at a terminal, the plain log otherwise), tty or plain")
	f.BoolVar(&a.Globals.JSON, "json", false, "Print newline-delimited JSON events on stdout, and nothing else")
	_ = root.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions([]string{"auto", "tty", "plain"}, cobra.ShellCompDirectiveNoFileComp))
}

// startProgress routes everything kamal writes to stdout through the
// renderer: a.Stdout becomes a writer of plain messages.
func (a *App) startProgress(getenv func(string) string) {
	a.progress.stdout, a.progress.getenv, a.progress.started = a.Stdout, getenv, time.Now()
	a.Stdout = messageWriter{a}
}

// messageWriter hands what commands print to the renderer as it is.
type messageWriter struct{ a *App }

func (w messageWriter) Write(p []byte) (int, error) {
	w.a.renderer().Emit(progress.Message{Text: string(p), Shown: true})
	return len(p), nil
}

// rawStdout is the process's standard output, for a command that needs
// the terminal itself (app exec -i).
func (a *App) rawStdout() io.Writer {
	if a.progress.stdout != nil {
		return a.progress.stdout
	}
	return a.Stdout
}

// renderer is the run's renderer: JSON with --json; with --progress=auto
// the live view when stdout is a terminal, CI is not set and neither -v
// nor -q is given; the plain log otherwise.
func (a *App) renderer() progress.Renderer {
	st := &a.progress
	st.once.Do(func() {
		if st.getenv == nil {
			st.getenv = os.Getenv
		}
		out := a.rawStdout()
		g := a.Globals
		var r progress.Renderer
		switch {
		case g.JSON:
			r = progress.NewJSON(out)
		case g.Progress == "tty" || (g.Progress == "" || g.Progress == "auto") && progress.IsTerminal(out) && st.getenv("CI") == "" && !g.Verbose && !g.Quiet:
			opt := progress.TTYOptions{}
			if f, ok := out.(*os.File); ok {
				opt = progress.TerminalOptions(f, st.getenv)
			}
			r = progress.NewTTY(out, opt)
		default:
			r = progress.NewPlain(out)
		}
		st.r = progress.Collect(r)
	})
	return st.r
}

// finishProgress ends the output with the run's result: the last JSON
// line, the live view's summary.
func (a *App) finishProgress(cmd *cobra.Command, err error, redact func(string) string) {
	st := &a.progress
	if st.finished {
		return
	}
	st.finished = true
	res := progress.Result{SchemaVersion: progress.SchemaVersion, OK: err == nil,
		DurationMS: time.Since(st.started).Milliseconds()}
	if cmd != nil {
		res.Command = strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()), " ")
	}
	if err != nil {
		res.Error = redact(resultError(err))
	}
	if k := a.kamal.k; k != nil {
		res.Hosts = k.HostResults()
	}
	r := a.renderer()
	if queryCommands[res.Command] {
		res.Data = a.progress.r.Output()
	}
	r.Emit(res)
	_ = r.Close()
}

// queryCommands are the commands whose result carries what they printed.
var queryCommands = map[string]bool{
	"app version": true, "app containers": true, "app details": true, "app images": true,
	"details": true, "lock status": true, "audit": true, "config": true, "version": true,
	"proxy details": true, "accessory details": true, "build details": true,
}

// resultError is the message of err for the result event.
func resultError(err error) string {
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Message != "" {
			return exit.Message
		}
		return fmt.Sprintf("exit status %d", exit.Code)
	}
	return err.Error()
}
