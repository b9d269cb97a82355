package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
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

	Stdout io.Writer // default os.Stdout
	Stdin  io.Reader // default os.Stdin

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

	specificRoles []*config.Role // nil unless -r
	specificHosts []string       // nil unless -h or -p
	roles         []*config.Role
	hosts         []string
	primaryHost   string

	connectMu sync.Mutex
	exec      remote.Executor
	pool      *remote.Pool
	connected bool

	mu          sync.Mutex
	holdingLock bool
	gitUser     *string
	gitEmail    *string
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
	k := &Session{Config: cfg, opts: opts, stdout: opts.Stdout, started: opts.Now()}
	k.Out = remote.NewOutput(opts.Stdout, opts.Level, remote.NewRedactor())
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

func (k *Session) applyFilters() error {
	cfg := k.Config
	if len(k.opts.Roles) > 0 {
		names := filterItems(k.opts.Roles, cfg.RoleNames())
		if len(names) == 0 {
			return &ArgumentError{"No --roles match for " + strings.Join(k.opts.Roles, ",")}
		}
		for _, n := range names {
			k.specificRoles = append(k.specificRoles, cfg.Role(n))
		}
	}
	if len(k.opts.Hosts) > 0 {
		k.specificHosts = filterItems(k.opts.Hosts, cfg.AllHosts())
		if len(k.specificHosts) == 0 {
			return &ArgumentError{"No --hosts match for " + strings.Join(k.opts.Hosts, ",")}
		}
	}
	if k.opts.Primary {
		if r := k.primarySpecificRole(); r != nil && len(r.Hosts) > 0 {
			k.specificHosts = []string{r.Hosts[0]}
		} else if p := cfg.PrimaryHost(); p != "" {
			k.specificHosts = []string{p}
		}
	}

	// The roles that still have a host, and the hosts of the selected roles.
	hostScope := k.specificHosts
	if hostScope == nil {
		hostScope = cfg.AllHosts()
	}
	roleScope := k.specificRoles
	if roleScope == nil {
		roleScope = cfg.Servers
	}
	for _, r := range roleScope {
		if intersects(r.Hosts, hostScope) {
			k.roles = append(k.roles, r)
		}
	}
	hosts := slices.Clone(hostScope)
	if k.specificRoles != nil {
		var roleHosts []string
		for _, r := range k.specificRoles {
			roleHosts = append(roleHosts, r.Hosts...)
		}
		hosts = slices.DeleteFunc(hosts, func(h string) bool { return !slices.Contains(roleHosts, h) })
	}

	switch {
	case len(k.specificHosts) > 0:
		k.primaryHost = k.specificHosts[0]
	case k.primarySpecificRole() != nil && len(k.primarySpecificRole().Hosts) > 0:
		k.primaryHost = k.primarySpecificRole().Hosts[0]
	default:
		k.primaryHost = cfg.PrimaryHost()
	}

	// Hosts of the primary role first, as Kamal orders them.
	var primaryRole *config.Role
	for _, r := range cfg.RolesOnHost(k.primaryHost) {
		if primaryRole == nil || r.Name == cfg.PrimaryRoleName {
			primaryRole = r
		}
	}
	if primaryRole != nil {
		slices.SortStableFunc(hosts, func(a, b string) int {
			return boolRank(!slices.Contains(primaryRole.Hosts, a)) - boolRank(!slices.Contains(primaryRole.Hosts, b))
		})
		slices.SortStableFunc(k.roles, func(a, b *config.Role) int {
			return boolRank(a != primaryRole) - boolRank(b != primaryRole)
		})
	}
	k.hosts = hosts
	return nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (k *Session) primarySpecificRole() *config.Role {
	if len(k.specificRoles) == 0 {
		return nil
	}
	for _, r := range k.specificRoles {
		if r.Name == k.Config.PrimaryRoleName {
			return r
		}
	}
	return k.specificRoles[0]
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Hosts are the hosts this run targets (roles' and accessories' hosts
// after the filters), primary-role hosts first.
func (k *Session) Hosts() []string { return slices.Clone(k.hosts) }

// Roles are the roles this run targets, the primary role first.
func (k *Session) Roles() []*config.Role { return slices.Clone(k.roles) }

// SpecificRoles are the roles named with -r (nil without -r).
func (k *Session) SpecificRoles() []*config.Role { return slices.Clone(k.specificRoles) }

// RoleHosts are the targeted hosts of role.
func (k *Session) RoleHosts(role *config.Role) []string {
	var out []string
	for _, h := range k.hosts {
		if slices.Contains(role.Hosts, h) {
			out = append(out, h)
		}
	}
	return out
}

// AppHosts are the targeted hosts that run at least one targeted role.
func (k *Session) AppHosts() []string {
	var out []string
	for _, h := range k.hosts {
		for _, r := range k.roles {
			if slices.Contains(r.Hosts, h) {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// PrimaryHost is the host holding the lock (and the primary for -p).
func (k *Session) PrimaryHost() string { return k.primaryHost }

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

// PutsByHost prints output the way Kamal's puts_by_host does.
func (k *Session) PutsByHost(kind, host, text string) {
	k.write(fmt.Sprintf("%s Host: %s\n%s\n\n", kind, host, text))
}

var writeMu sync.Mutex

func (k *Session) write(s string) {
	writeMu.Lock()
	defer writeMu.Unlock()
	_, _ = io.WriteString(k.stdout, k.Out.Redactor().Redact(s))
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

// SSHOptions maps the ssh and sshkit sections to the pool's options,
// resolving key_data from secrets.
func (k *Session) SSHOptions() (remote.SSHOptions, error) {
	s, kit := k.Config.SSH, k.Config.SSHKit
	o := remote.SSHOptions{
		User:                s.User,
		Port:                s.Port,
		Proxy:               s.Proxy,
		ProxyCommand:        s.ProxyCommand,
		Keys:                s.Keys,
		LogLevel:            s.LogLevel,
		MaxConcurrentStarts: kit.MaxConcurrentStarts,
		DNSRetries:          kit.DNSRetries,
	}
	if kit.PoolIdleTimeout > 0 {
		o.PoolIdleTimeout = time.Duration(kit.PoolIdleTimeout) * time.Second
	}
	if kit.DNSRetries == 0 && kit.Raw != nil {
		if _, set := kit.Raw["dns_retries"]; set {
			o.DNSRetries = -1 // explicitly 0: no retries
		}
	}
	if s.KeysOnly != nil {
		o.KeysOnly = *s.KeysOnly
	}
	if s.ForwardAgent != nil {
		o.ForwardAgent = *s.ForwardAgent
	}
	o.UseConfig = s.LoadConfig == nil || *s.LoadConfig || len(s.ConfigFiles) > 0
	o.ConfigFiles = s.ConfigFiles
	for _, name := range s.KeyData {
		v, err := k.Secret(name)
		if err != nil {
			return o, fmt.Errorf("ssh key_data: %w", err)
		}
		o.KeyData = append(o.KeyData, v)
	}
	return o, nil
}

// connect opens the executor on first use: it runs the pre-connect hook
// once, then prepares the SSH pool (connections are made per host on
// their first command).
func (k *Session) connect(ctx context.Context) (remote.Executor, error) {
	k.connectMu.Lock()
	defer k.connectMu.Unlock()
	if k.connected {
		return k.exec, nil
	}
	if err := k.RunHook(ctx, "pre-connect"); err != nil {
		return nil, err
	}
	if k.opts.Executor != nil {
		k.exec = k.opts.Executor
	} else {
		o, err := k.SSHOptions()
		if err != nil {
			return nil, err
		}
		p, err := remote.NewPool(o, k.Out)
		if err != nil {
			return nil, fmt.Errorf("preparing SSH connections: %w", err)
		}
		k.pool, k.exec = p, p
	}
	k.connected = true
	return k.exec, nil
}

// Pool is the SSH pool once connected (nil before, or with an Executor).
func (k *Session) Pool() *remote.Pool {
	k.connectMu.Lock()
	defer k.connectMu.Unlock()
	return k.pool
}

// Close closes the SSH connections.
func (k *Session) Close() error {
	k.connectMu.Lock()
	defer k.connectMu.Unlock()
	if k.pool != nil {
		return k.pool.Close()
	}
	return nil
}

// On runs fn on every host in parallel (one goroutine per host, like
// SSHKit), waits for all and aggregates the failures. The pre-connect
// hook runs before the first connection of the run.
func (k *Session) On(ctx context.Context, hosts []string, fn func(ctx context.Context, host string) error) error {
	if _, err := k.connect(ctx); err != nil {
		return err
	}
	r := &remote.Runner{Redactor: k.Out.Redactor()}
	return r.On(ctx, hosts, fn)
}

// Exec runs cmd on host. The command is rendered as SSHKit renders Kamal's
// token arrays (`/usr/bin/env` in front of anything but docker).
func (k *Session) Exec(ctx context.Context, host string, cmd commands.Cmd, o remote.ExecOptions) (remote.Result, error) {
	x, err := k.connect(ctx)
	if err != nil {
		return remote.Result{Host: host}, err
	}
	return x.Exec(ctx, host, shell.Command(cmd...), o)
}

// ExecRaw runs a command line given by the user as it is (no mapping).
func (k *Session) ExecRaw(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	x, err := k.connect(ctx)
	if err != nil {
		return remote.Result{Host: host}, err
	}
	return x.Exec(ctx, host, cmd, o)
}

// Execute runs cmd on host and fails on a non-zero exit (SSHKit execute).
func (k *Session) Execute(ctx context.Context, host string, cmd commands.Cmd, sev remote.Severity) error {
	_, err := k.Exec(ctx, host, cmd, remote.ExecOptions{Severity: sev})
	return err
}

// Test runs cmd on host and reports whether it succeeded (SSHKit execute
// with raise_on_non_zero_exit: false). Connection errors are returned.
func (k *Session) Test(ctx context.Context, host string, cmd commands.Cmd, sev remote.Severity) (bool, error) {
	res, err := k.Exec(ctx, host, cmd, remote.ExecOptions{Severity: sev, AllowFailure: true})
	if err != nil {
		return false, err
	}
	return res.ExitStatus == 0, nil
}

// Capture runs cmd on host and returns its stripped standard output.
func (k *Session) Capture(ctx context.Context, host string, cmd commands.Cmd, sev remote.Severity) (string, error) {
	res, err := k.Exec(ctx, host, cmd, remote.ExecOptions{Severity: sev})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(res.Stdout), nil
}

// Upload writes data to path on host with mode.
func (k *Session) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	x, err := k.connect(ctx)
	if err != nil {
		return err
	}
	return x.Upload(ctx, host, path, data, mode)
}

// HoldingLock reports whether this run holds the deploy lock (or inherited
// it through KAMAL_LOCK=true).
func (k *Session) HoldingLock() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.holdingLock
}

func (k *Session) setHoldingLock(v bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.holdingLock = v
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

// LockedBy is `git config user.name`, or "Unknown".
func (k *Session) LockedBy() string {
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

// Performer is `git config user.email`, or the local user name.
func (k *Session) Performer() string {
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

// Started is when the run began (audit and hook timestamps).
func (k *Session) Started() time.Time { return k.started }

// commandFailedWith reports whether err is a command's non-zero exit whose
// output matches one of the fragments.
func commandFailedWith(err error, fragments ...string) bool {
	var ce *remote.CommandError
	if !errors.As(err, &ce) {
		return false
	}
	text := ce.Stdout + "\n" + ce.Stderr
	for _, f := range fragments {
		if strings.Contains(text, f) {
			return true
		}
	}
	return false
}
