package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// Remote and local execution. Every command of a run goes through the
// Session: On runs a function per host in parallel, Exec and its variants
// run one command on a host through the remote.Executor (the SSH pool, or
// the one given in Options), local runs commands on this machine.

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
	persist, err := remote.ParsePersist(os.Getenv(remote.PersistEnv))
	if err != nil {
		return o, err
	}
	o.Persist = persist
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
	if err := k.runHook(ctx, "pre-connect"); err != nil {
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
		k.engines = k.newEngines(p)
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

// Close runs the deferred commands still waiting for a session (audit
// lines of a run that needed no other command on those hosts), then closes
// the Docker API clients and the SSH connections.
func (k *Session) Close() error {
	if hosts := k.allDeferred(); len(hosts) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := k.flushDeferred(ctx, hosts); err != nil {
			k.Out.Errorf("%s", err)
		}
		cancel()
	}
	k.connectMu.Lock()
	defer k.connectMu.Unlock()
	if k.engines != nil {
		k.engines.Close()
	}
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
	line := shell.Command(cmd...)
	if pending := k.takeDeferred(host); len(pending) > 0 {
		// The deferred commands go first, in the same session when the
		// command can run as a step (no terminal, no streamed output).
		if o.Interactive || o.Stdout != nil || o.Stderr != nil {
			if _, err := remote.RunBatch(ctx, x, host, pending); err != nil {
				return remote.Result{Host: host, Command: line}, k.dockerUnusable(host, err)
			}
		} else {
			step := remote.Step{Command: line, Severity: o.Severity, AllowFailure: o.AllowFailure}
			if o.Stdin != nil {
				if step.Stdin, err = io.ReadAll(o.Stdin); err != nil {
					return remote.Result{Host: host, Command: line}, err
				}
			}
			results, err := remote.RunBatch(ctx, x, host, append(pending, step))
			if len(results) == len(pending)+1 {
				return results[len(pending)], k.dockerUnusable(host, err)
			}
			return remote.Result{Host: host, Command: line}, k.dockerUnusable(host, err)
		}
	}
	res, err := x.Exec(ctx, host, line, o)
	return res, k.dockerUnusable(host, err)
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

// capture runs cmd on host and returns its stripped standard output.
func (k *Session) capture(ctx context.Context, host string, cmd commands.Cmd, sev remote.Severity) (string, error) {
	res, err := k.Exec(ctx, host, cmd, remote.ExecOptions{Severity: sev})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(res.Stdout), nil
}

// batch runs steps on host in one session (one at a time through an
// Executor that cannot batch), each logged as its own command.
func (k *Session) batch(ctx context.Context, host string, steps ...remote.Step) ([]remote.Result, error) {
	x, err := k.connect(ctx)
	if err != nil {
		return nil, err
	}
	pending := k.takeDeferred(host)
	if len(pending)+len(steps) == 0 {
		return nil, nil
	}
	results, err := remote.RunBatch(ctx, x, host, append(pending, steps...))
	return results[min(len(pending), len(results)):], k.dockerUnusable(host, err)
}

// Upload writes data to path on host with mode.
func (k *Session) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	if pending := k.takeDeferred(host); len(pending) > 0 {
		_, err := k.batch(ctx, host, append(pending, remote.UploadStep(path, data, mode))...)
		return err
	}
	x, err := k.connect(ctx)
	if err != nil {
		return err
	}
	return x.Upload(ctx, host, path, data, mode)
}

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

// local returns the executor for commands on this machine, running in dir
// with env added to the process environment (never to argv).
func (k *Session) local(dir string, env []string) remote.Executor {
	return k.opts.Local(k.Out, dir, env)
}

// newLocal makes the executor for commands run on this machine.
func newLocal(out *remote.Output, dir string, env []string) remote.Executor {
	return &remote.Local{Out: out, Dir: dir, Env: env}
}

// localRun runs cmd on this machine and fails on a non-zero exit.
func (k *Session) localRun(ctx context.Context, cmd commands.Cmd, sev remote.Severity) error {
	_, err := k.local("", nil).Exec(ctx, "localhost", shell.Command(cmd...), remote.ExecOptions{Severity: sev})
	return err
}

// interactive runs cmd on host with a TTY wired to the user's terminal.
func (k *Session) interactive(ctx context.Context, host string, cmd commands.Cmd) error {
	res, err := k.ExecRaw(ctx, host, cmd.String(), remote.ExecOptions{
		Interactive: true, AllowFailure: true, Severity: remote.Debug,
		Stdin: k.opts.Stdin, Stdout: k.stdout,
	})
	if err != nil {
		return err
	}
	if res.ExitStatus != 0 {
		return &ExitStatusError{Status: res.ExitStatus}
	}
	return nil
}

// putsExecOutput prints the output of an exec on host: byte for byte with
// raw, else as an `App Host:` block.
func (k *Session) putsExecOutput(host, stdout string, raw bool) {
	if raw {
		k.write(stdout)
		return
	}
	k.putsByHost("App", host, strings.TrimSpace(stdout))
}
