package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/progress"
	"github.com/kamalgo/kamal/internal/remote"
)

// Options are the global choices of one kamal run (the CLI's global flags).
type Options struct {
	Hosts   []string // -h: host filters, `*` wildcards
	Roles   []string // -r: role filters, `*` wildcards
	Primary bool     // -p: only the primary host

	Level     remote.Level // -q / default / -v; the zero value is remote.LevelQuiet
	SkipHooks bool         // -H

	LockWait         bool          // --lock-wait
	LockWaitTimeout  time.Duration // 0 = default 900s; negative = give up at the first held lock
	LockWaitInterval time.Duration // default 15s

	// Command and Subcommand name what runs, for hooks (KAMAL_COMMAND...).
	Command, Subcommand string

	Stdout   io.Writer         // default os.Stdout; the terminal of interactive commands
	Stdin    io.Reader         // default os.Stdin
	Progress progress.Renderer // shows the run's events; default Kamal's plain log on Stdout

	// Executor replaces the SSH pool (tests, benchmarks). The pre-connect
	// hook still runs before its first use.
	Executor remote.Executor
	// Local makes the executor of commands run on this machine (builds,
	// local registry login) in dir with env added; default remote.Local.
	Local func(out *remote.Output, dir string, env []string) remote.Executor
	// LookupEnv reads the environment (KAMAL_LOCK); default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Now and Sleep are the clock, replaceable in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Session is the core of one run that every orchestration shares: the
// configuration, the hosts and roles selected by the filters, the output
// and secrets, the lazily opened SSH pool through which every remote
// command goes, hooks, audit lines and whether the deploy lock is held. Its
// methods are safe for concurrent use.
type Session struct {
	Config *config.Config
	Out    *remote.Output

	opts    Options
	stdout  io.Writer
	started time.Time
	results *hostResults // shared with scoped runs

	specificRoles []*config.Role // nil unless -r
	specificHosts []string       // nil unless -h or -p
	roles         []*config.Role
	hosts         []string
	primaryHost   string

	connectMu sync.Mutex
	exec      remote.Executor
	pool      *remote.Pool
	engines   *dockerapi.Engines // nil without the SSH pool
	connected bool

	mu          sync.Mutex
	holdingLock bool
	rollingBack bool
	gitUser     *string
	gitEmail    *string
	deferred    map[string][]remote.Step // per host, see deferOn
	loggedIn    map[string]bool          // host and registry logins done
}

// newSession prepares a run. It applies the filters (failing with Kamal's
// `No --hosts match for x` errors) but opens no connection.
func newSession(cfg *config.Config, opts Options) (*Session, error) {
	switch {
	case opts.LockWaitTimeout == 0:
		opts.LockWaitTimeout = 900 * time.Second
	case opts.LockWaitTimeout < 0:
		opts.LockWaitTimeout = 0
	}
	if opts.LockWaitInterval <= 0 {
		opts.LockWaitInterval = 15 * time.Second
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Local == nil {
		opts.Local = newLocal
	}
	if opts.Progress == nil {
		opts.Progress = progress.NewPlain(opts.Stdout)
	}
	k := &Session{Config: cfg, opts: opts, stdout: opts.Stdout, started: opts.Now(), results: &hostResults{}}
	k.Out = remote.NewOutputTo(opts.Progress, opts.Level, remote.NewRedactor())
	// A literal registry password is as sensitive as a secret one; secrets
	// are added when resolved. (The user name is not redacted everywhere:
	// names such as "root" would garble every line.)
	if p := cfg.Registry.Password; !p.IsSecret() {
		k.Redact(p.Literal)
	}
	if v, ok := opts.LookupEnv("KAMAL_LOCK"); ok && v == "true" {
		k.holdingLock = true
	}
	if err := k.applyFilters(); err != nil {
		return nil, err
	}
	return k, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ArgumentError is a bad command line value (Kamal raises ArgumentError).
type ArgumentError struct{ Msg string }

func (e *ArgumentError) Error() string { return e.Msg }

// Kind names the error in kamal's `ERROR (<Kind>)` line.
func (e *ArgumentError) Kind() string { return "ArgumentError" }

// Say prints a plain line (Kamal's `say`), redacted; it is shown at every
// verbosity, as Thor's say is.
func (k *Session) Say(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	k.write(line + "\n")
}

// Puts prints text followed by a newline unless it ends with one.
func (k *Session) Puts(text string) {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	k.write(text)
}

// putsByHost prints output the way Kamal's puts_by_host does.
func (k *Session) putsByHost(kind, host, text string) { k.Out.PrintHost(kind, host, text) }

func (k *Session) write(s string) { k.Out.Print(s) }

// hostResults are where each booted host and role ended up.
type hostResults struct {
	mu   sync.Mutex
	list []progress.HostResult
}

// recordResult notes where a host and role ended up after a boot; a later
// result of the same host and role (a rollback's) replaces the earlier.
func (k *Session) recordResult(r progress.HostResult) {
	k.results.mu.Lock()
	defer k.results.mu.Unlock()
	for i, e := range k.results.list {
		if e.Host == r.Host && e.Role == r.Role {
			k.results.list[i] = r
			return
		}
	}
	k.results.list = append(k.results.list, r)
}

// HostResults are the versions each booted host and role ended up with,
// in the order they finished.
func (k *Session) HostResults() []progress.HostResult {
	k.results.mu.Lock()
	defer k.results.mu.Unlock()
	return slices.Clone(k.results.list)
}

// step runs fn as a step of an orchestration on host (for role, or the
// whole host when role is empty) and reports its start and its end.
func (k *Session) step(host, role, name string, fn func() error) error {
	done := k.Out.Step(host, role, name)
	err := fn()
	done(err)
	return err
}

// Redact registers a secret value used by the run, so it never shows in
// output or errors, and returns it.
func (k *Session) Redact(secret string) string {
	k.Out.Redactor().Add(secret)
	return secret
}

// Secret returns a secret by name, registered for redaction.
func (k *Session) Secret(name string) (string, error) {
	v, err := k.Config.Secrets.Get(name)
	if err != nil {
		return "", err
	}
	return k.Redact(v), nil
}

// Resolve returns a config value, looking up (and redacting) secrets.
func (k *Session) Resolve(v config.Value) (string, error) {
	if !v.IsSecret() {
		return v.Literal, nil
	}
	return k.Secret(v.Secret)
}

// holdsLock reports whether this run holds the deploy lock (or inherited
// it through KAMAL_LOCK=true).
func (k *Session) holdsLock() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.holdingLock
}

func (k *Session) setHoldingLock(v bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.holdingLock = v
}

func (k *Session) setRollingBack(v bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rollingBack = v
}

// Interrupted is told of a Ctrl-C after the first one (which cancelled the
// run's context). An automatic rollback in progress finishes: stopping it
// would leave the hosts half-switched, so the user is told.
func (k *Session) Interrupted() {
	k.mu.Lock()
	rolling := k.rollingBack
	k.mu.Unlock()
	if rolling {
		k.Say("Rollback in progress: it will finish first, so that no host is left half-switched (Ctrl-C is ignored until then)")
	}
}

// Version is the app version of the run.
func (k *Session) Version() (string, error) { return k.Config.Version() }

// gitConfig reads a local git setting, "" when unset or git is missing.
func gitConfig(key string) string {
	out, err := exec.Command("git", "config", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// lockedBy is `git config user.name`, or "Unknown".
func (k *Session) lockedBy() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gitUser == nil {
		v := gitConfig("user.name")
		if v == "" {
			v = "Unknown"
		}
		k.gitUser = &v
	}
	return *k.gitUser
}

// performer is `git config user.email`, or the local user name.
func (k *Session) performer() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gitEmail == nil {
		v := gitConfig("user.email")
		if v == "" {
			if out, err := exec.Command("whoami").Output(); err == nil {
				v = strings.TrimSpace(string(out))
			}
		}
		k.gitEmail = &v
	}
	return *k.gitEmail
}
