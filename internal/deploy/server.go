package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// Servers is `kamal server`: commands on the hosts themselves (exec,
// bootstrap).
type Servers struct {
	*Session
	lock *Lock
}

// ExitStatusError carries the exit status of an interactive command, which
// kamal passes on as its own, like `ssh -t` does.
type ExitStatusError struct{ Status int }

func (e *ExitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.Status) }

// JoinCommand joins the words of a command given on the command line,
// each stripped, as Kamal does.
func JoinCommand(words []string) string {
	parts := make([]string, 0, len(words))
	for _, w := range words {
		parts = append(parts, strings.TrimSpace(w))
	}
	return strings.Join(parts, " ")
}

// ServerExecOptions tune ServerExec.
type ServerExecOptions struct {
	Interactive bool // run on the primary host with a TTY
	Raw         bool // write the output bytes unchanged: no headers, no logging
}

// ExecCommand runs a user command on the targeted hosts (or interactively
// on the primary host) and prints each host's output.
func (k *Servers) ExecCommand(ctx context.Context, cmd string, o ServerExecOptions) error {
	// SSHKit maps a command without spaces (`date` -> /usr/bin/env date)
	// and runs any other line as it is.
	line := shell.Command(cmd)
	if o.Interactive {
		host := k.primaryHost
		k.Say("Running '%s' on %s interactively...", cmd, host)
		res, err := k.ExecRaw(ctx, host, line, remote.ExecOptions{Interactive: true, AllowFailure: true, Severity: remote.Debug})
		if err != nil {
			return err
		}
		if res.ExitStatus != 0 {
			return &ExitStatusError{Status: res.ExitStatus}
		}
		return nil
	}
	hosts := k.hosts
	eo := remote.ExecOptions{}
	if o.Raw {
		// Raw output is the command's bytes only: no headers, no logging
		// besides errors (shown with -v).
		eo.Severity = remote.Debug
	} else {
		k.Say("Running '%s' on %s...", cmd, strings.Join(hosts, ", "))
	}
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		if err := k.recordOn(ctx, h, fmt.Sprintf("Executed cmd '%s' on %s", cmd, h)); err != nil {
			return err
		}
		res, err := k.ExecRaw(ctx, h, line, eo)
		if err != nil {
			return err
		}
		if o.Raw {
			k.write(res.Stdout)
		} else {
			k.putsByHost("App", h, strings.TrimSpace(res.Stdout))
		}
		return nil
	})
}

// installDocker installs Docker on h, adds a non-root user to the docker
// group, and creates the run directory.
func (k *Servers) installDocker(ctx context.Context, h string) error {
	k.Out.Infof("Missing Docker on %s. Installing…", h)
	if err := k.Execute(ctx, h, commands.DockerInstall(), remote.Info); err != nil {
		return err
	}
	root, err := k.Test(ctx, h, commands.Root(), remote.Info)
	if err != nil {
		return err
	}
	if !root {
		inGroup, err := k.Test(ctx, h, commands.InDockerGroup(), remote.Info)
		if err != nil {
			return err
		}
		if !inGroup {
			if err := k.Execute(ctx, h, commands.AddToDockerGroup(), remote.Info); err != nil {
				return err
			}
			// Ends this connection's session so the next one has the
			// group; its failure is expected.
			_, _ = k.Test(ctx, h, commands.RefreshSession(), remote.Info)
		}
	}
	return k.Execute(ctx, h, commands.EnsureRunDirectory(), remote.Info)
}

// Bootstrap installs Docker where it is missing and possible (then adds a
// non-root user to the docker group and creates .kamal) and runs the
// docker-setup hook, all under the deploy lock.
func (k *Servers) Bootstrap(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		var mu sync.Mutex
		var missing []string
		err := k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
			ok, err := k.Test(ctx, h, commands.DockerInstalled(), remote.Info)
			if err != nil || ok {
				return err
			}
			super, err := k.Test(ctx, h, commands.DockerSuperuser(), remote.Info)
			if err != nil {
				return err
			}
			if !super {
				mu.Lock()
				missing = append(missing, h)
				mu.Unlock()
				return nil
			}
			// As in Kamal, the group and run directory steps belong to the
			// install: a host with Docker is left as it is.
			return k.installDocker(ctx, h)
		})
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			// In host order, not in the order the parallel checks ended.
			ordered := slices.DeleteFunc(slices.Clone(k.hosts), func(h string) bool { return !slices.Contains(missing, h) })
			//lint:ignore ST1005 Kamal's message, word for word
			return fmt.Errorf("Docker is not installed on %s and can't be automatically installed without having root access and either `wget` or `curl`. Install Docker manually: https://docs.docker.com/engine/install/",
				strings.Join(ordered, ", "))
		}
		return k.runHook(ctx, "docker-setup")
	})
}
