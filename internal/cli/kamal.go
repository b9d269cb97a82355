package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
	"github.com/kamalgo/kamal/internal/remote"
)

// kamalState is the once-built run state of one App.
type kamalState struct {
	once    sync.Once
	k       *deploy.Kamal
	err     error
	command string // top-level command and subcommand, for hooks
	sub     string
	// built is k once built, for the signal handler's goroutine.
	built atomic.Pointer[deploy.Kamal]
}

// Kamal returns the run state built from the configuration and the global
// options (filters, verbosity, hooks, lock waiting). It is created on first
// use; its SSH connections are closed when the command ends.
func (a *App) Kamal() (*deploy.Kamal, error) {
	st := &a.kamal
	st.once.Do(func() {
		cfg, err := a.Config()
		if err != nil {
			st.err = err
			return
		}
		g := a.Globals
		level := remote.LevelDefault
		switch {
		case g.Verbose:
			level = remote.LevelVerbose
		case g.Quiet:
			level = remote.LevelQuiet
		}
		st.k, st.err = deploy.New(cfg, deploy.Options{
			Hosts:            splitList(g.Hosts),
			Roles:            splitList(g.Roles),
			Primary:          g.Primary,
			Level:            level,
			SkipHooks:        g.SkipHooks,
			LockWait:         g.LockWait,
			LockWaitTimeout:  lockWaitTimeout(g.LockWaitTimeout),
			LockWaitInterval: time.Duration(g.LockWaitInterval) * time.Second,
			Command:          st.command,
			Subcommand:       st.sub,
			Stdout:           a.rawStdout(),
			Progress:         a.renderer(),
			Stdin:            a.Stdin,
		})
		if st.k != nil {
			st.built.Store(st.k)
		}
		a.onClose(func() {
			if st.k != nil {
				_ = st.k.Close()
			}
		})
	})
	return st.k, st.err
}

// redactor returns a function hiding the secrets the run has registered
// (none when no run state was built).
func (a *App) redactor() func(string) string {
	if k := a.kamal.k; k != nil {
		return k.Out.Redactor().Redact
	}
	return func(s string) string { return s }
}

// splitList drops empty entries and surrounding spaces of a comma list.
func splitList(items []string) []string {
	var out []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// RunContext records which command runs (KAMAL_COMMAND/KAMAL_SUBCOMMAND
// for hooks) and returns a context cancelled by Ctrl-C or SIGTERM, so
// running commands stop and the deploy lock is released. Call it first
// in a command's RunE, before Kamal.
func (a *App) RunContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	path := strings.Fields(cmd.CommandPath()) // kamal <command> [<subcommand>]
	st := &a.kamal
	if len(path) > 1 {
		st.command = path[1]
	}
	if len(path) > 2 {
		st.sub = path[2]
	}
	return a.signalContext(commandContext(cmd))
}

// signalContext returns a context cancelled by the first Ctrl-C or
// SIGTERM. Later ones do not kill kamal (what runs after the cancel, such
// as an automatic rollback or the lock release, must finish); the run is
// told, so that it can say so.
func (a *App) signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
			if n == 0 {
				cancel()
			} else if k := a.kamal.built.Load(); k != nil {
				k.Interrupted()
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// runError maps orchestration errors to kamal's exit behaviour.
func runError(err error) error {
	var status *deploy.ExitStatusError
	if errors.As(err, &status) {
		return &ExitError{Code: status.Status}
	}
	return err
}

// lockWaitTimeout maps --lock-wait-timeout to deploy's option, where 0
// means "default": an explicit 0 (or less) must not wait at all.
func lockWaitTimeout(seconds int) time.Duration {
	if seconds <= 0 {
		return -1
	}
	return time.Duration(seconds) * time.Second
}

// runKamal is the body of most commands: the run context (Ctrl-C releases
// the lock), the run state, then fn.
func (a *App) runKamal(cmd *cobra.Command, fn func(ctx context.Context, k *deploy.Kamal) error) error {
	ctx, cancel := a.RunContext(cmd)
	defer cancel()
	k, err := a.Kamal()
	if err != nil {
		return err
	}
	return runError(fn(ctx, k))
}

// confirm asks question with Kamal's `[y, N] (N)` prompt unless yes is
// set; anything but "y" prints "Aborted" and returns false.
func (a *App) confirm(question string, yes bool) bool {
	if yes {
		return true
	}
	fmt.Fprintf(a.Stdout, "%s [y, N] (N) ", question)
	line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
	if strings.TrimSpace(line) == "y" {
		return true
	}
	fmt.Fprintln(a.Stdout, "Aborted")
	return false
}
