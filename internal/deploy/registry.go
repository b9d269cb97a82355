package deploy

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// Registry is `kamal registry`: logins to the image registry here and on
// the hosts (the app's and each accessory's), and the local registry with
// its SSH port forwards (forward.go).
type Registry struct {
	*Session
}

// RegistryOptions choose where `kamal registry …` acts.
type RegistryOptions struct {
	SkipLocal  bool // -L: not on this machine
	SkipRemote bool // -R: not on the hosts
}

// ErrLocalRegistryLogin is returned by Login and Logout
// when the registry is a local one (localhost:<port>).
//
//lint:ignore ST1005 Kamal's message, word for word
var ErrLocalRegistryLogin = errors.New("Cannot use login command with a local registry. Use `kamal registry setup` instead.")

// DependencyError is a missing local tool (docker, buildx).
type DependencyError struct{ Msg string }

func (e *DependencyError) Error() string { return e.Msg }

// Kind names the error in kamal's `ERROR (<Kind>)` line.
func (e *DependencyError) Kind() string { return "Kamal::Cli::DependencyError" }

// EnsureLocalDocker fails with Kamal's "Docker is not installed locally"
// when the docker CLI is missing or broken.
func (k *Registry) EnsureLocalDocker(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return &DependencyError{"Docker is not installed locally"}
	}
	b := commands.NewBuilder(k.Config, "", localArch())
	if _, err := k.local("", nil).Exec(ctx, "localhost", b.EnsureLocalDockerOnly().String(), remote.ExecOptions{Severity: remote.Debug}); err != nil {
		return &DependencyError{"Docker is not installed locally"}
	}
	return nil
}

// Setup is `kamal registry setup`: with a local registry it
// starts the registry container here; otherwise it logs in to the
// registry here and on every targeted host (accessories with their own
// registry log in to theirs on their hosts).
func (k *Registry) Setup(ctx context.Context, o RegistryOptions) error {
	if !o.SkipLocal {
		if err := k.EnsureLocalDocker(ctx); err != nil {
			return err
		}
	}
	if k.Config.Registry.Local {
		if o.SkipLocal {
			return nil
		}
		return k.localRun(ctx, commands.NewRegistry(k.Config.Registry).LocalRun(), remote.Info)
	}
	if !o.SkipLocal {
		if err := k.loginLocally(ctx); err != nil {
			return err
		}
	}
	if !o.SkipRemote {
		return k.loginOnHosts(ctx, k.Hosts())
	}
	return nil
}

// Remove is `kamal registry remove`: it removes a local registry
// container, or logs out here and on the hosts.
func (k *Registry) Remove(ctx context.Context, o RegistryOptions) error {
	if k.Config.Registry.Local {
		if o.SkipLocal {
			return nil
		}
		// Kamal ignores the failure (no registry running).
		_, err := k.local("", nil).Exec(ctx, "localhost", commands.NewRegistry(k.Config.Registry).LocalRemove().String(),
			remote.ExecOptions{AllowFailure: true})
		return err
	}
	reg := commands.NewRegistry(k.Config.Registry)
	if !o.SkipLocal {
		if err := k.localRun(ctx, reg.Logout(), remote.Info); err != nil {
			return err
		}
	}
	if o.SkipRemote {
		return nil
	}
	if err := k.On(ctx, k.Hosts(), func(ctx context.Context, h string) error {
		return k.Execute(ctx, h, reg.Logout(), remote.Info)
	}); err != nil {
		return err
	}
	return k.forAccessoryRegistries(ctx, k.Hosts(), func(ctx context.Context, h string, r config.Registry) error {
		return k.Execute(ctx, h, commands.NewRegistry(r).Logout(), remote.Info)
	})
}

// Login is `kamal registry login`; it refuses a local registry.
func (k *Registry) Login(ctx context.Context, o RegistryOptions) error {
	if k.Config.Registry.Local {
		return ErrLocalRegistryLogin
	}
	return k.Setup(ctx, o)
}

// Logout is `kamal registry logout`; it refuses a local registry.
func (k *Registry) Logout(ctx context.Context, o RegistryOptions) error {
	if k.Config.Registry.Local {
		return ErrLocalRegistryLogin
	}
	return k.Remove(ctx, o)
}

// loginLocally logs the local docker in to the app's registry (a
// local registry needs none). The password goes on stdin.
func (k *Registry) loginLocally(ctx context.Context) error {
	l, ok, err := k.login(k.Config.Registry)
	if err != nil || !ok {
		return err
	}
	_, err = k.local("", nil).Exec(ctx, "localhost", l.Cmd.String(),
		remote.ExecOptions{Stdin: strings.NewReader(string(l.Stdin))})
	return err
}

// loginOnHosts logs in to the app's registry on hosts, and to each
// accessory's own registry on that accessory's hosts among them.
func (k *Registry) loginOnHosts(ctx context.Context, hosts []string) error {
	if !k.Config.Registry.Local {
		if err := k.On(ctx, hosts, func(ctx context.Context, h string) error {
			return k.step(h, "", "login", func() error { return k.loginOn(ctx, h, k.Config.Registry) })
		}); err != nil {
			return err
		}
	}
	return k.forAccessoryRegistries(ctx, hosts, func(ctx context.Context, h string, r config.Registry) error {
		return k.loginOn(ctx, h, r)
	})
}

// loginOn logs host in to reg (inside an On); a local registry
// needs no login.
func (k *Registry) loginOn(ctx context.Context, host string, reg config.Registry) error {
	l, ok, err := k.login(reg)
	if err != nil || !ok {
		return err
	}
	if !k.loginOnce(host, reg.Server, shell.Command(l.Cmd...)) {
		return nil
	}
	_, err = k.Exec(ctx, host, l.Cmd, remote.ExecOptions{Stdin: strings.NewReader(string(l.Stdin))})
	return err
}

// login resolves the credentials of reg (secrets are redacted from then
// on) and returns the login command.
func (k *Registry) login(reg config.Registry) (commands.Login, bool, error) {
	if reg.Local {
		return commands.Login{}, false, nil
	}
	user, err := k.Resolve(reg.Username)
	if err != nil {
		return commands.Login{}, false, fmt.Errorf("registry username: %w", err)
	}
	password, err := k.Resolve(reg.Password)
	if err != nil {
		return commands.Login{}, false, fmt.Errorf("registry password: %w", err)
	}
	k.Redact(password)
	// Kamal prints the login as `docker login -u [REDACTED] …`: only that
	// word is hidden, the user name stays readable in image names.
	k.Out.Redactor().AddShownAs("-u "+shell.Escape(user), "-u "+remote.Redacted)
	l, ok := commands.NewRegistry(reg).Login(user, password)
	return l, ok, nil
}

// forAccessoryRegistries calls fn for every host among hosts of each
// accessory that has its own registry.
func (k *Registry) forAccessoryRegistries(ctx context.Context, hosts []string, fn func(ctx context.Context, host string, reg config.Registry) error) error {
	for _, a := range k.Config.Accessories {
		if a.Registry == nil {
			continue
		}
		var on []string
		for _, h := range a.Hosts {
			if slices.Contains(hosts, h) {
				on = append(on, h)
			}
		}
		reg := *a.Registry
		if err := k.On(ctx, on, func(ctx context.Context, h string) error { return fn(ctx, h, reg) }); err != nil {
			return fmt.Errorf("accessory %s registry: %w", a.Name, err)
		}
	}
	return nil
}
