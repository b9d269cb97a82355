package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// This file holds the operational `kamal app` subcommands: start, version,
// containers, images, live, maintenance, exec, logs and the hidden removal
// steps. Boot, stop, remove, details and stale_containers live next to the
// deploy they are part of.

// primaryRole is the role `app exec -i` and `app logs -f` use: the first
// targeted role on the primary host (the primary role unless -r says
// otherwise).
func (k *Session) primaryRole() *config.Role {
	if roles := k.RolesOn(k.primaryHost); len(roles) > 0 {
		return roles[0]
	}
	if len(k.roles) > 0 {
		return k.roles[0]
	}
	return k.Config.PrimaryRole()
}

// forRoles runs fn for each targeted role of each app host, hosts in
// parallel and a host's roles one after another.
func (k *Session) forRoles(ctx context.Context, hosts []string, fn func(ctx context.Context, h string, role *config.Role) error) error {
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		for _, role := range k.RolesOn(h) {
			if err := fn(ctx, h, role); err != nil {
				return err
			}
		}
		return nil
	})
}

// AppStart is `kamal app start`: under the lock, start each role's
// container of the run's version and, for roles behind kamal-proxy, point
// the proxy at the role's current container again.
func (k *Session) AppStart(ctx context.Context) error {
	version, err := k.Version()
	if err != nil {
		return err
	}
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.AppHosts(), func(ctx context.Context, h string, role *config.Role) error {
			app := commands.NewApp(k.Config, role, h, version)
			if err := k.RecordOn(ctx, h, "Started app version "+version); err != nil {
				return err
			}
			if _, err := k.Exec(ctx, h, app.Start(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
				return err
			}
			if !role.RunsProxy() {
				return nil
			}
			current, err := k.CurrentVersion(ctx, h, role)
			if err != nil {
				return err
			}
			// The proxy gets the container that actually runs, which may
			// be another version than the one started.
			return k.ProxyDeploy(ctx, h, commands.NewApp(k.Config, role, h, current))
		})
	})
}

// AppVersion is `kamal app version`: the current running version of the
// first targeted role of each app host.
func (k *Session) AppVersion(ctx context.Context) error {
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		roles := k.RolesOn(h)
		if len(roles) == 0 {
			return nil
		}
		v, err := k.Capture(ctx, h, commands.NewApp(k.Config, roles[0], h, "").CurrentRunningVersion(), remote.Info)
		if err != nil {
			return err
		}
		k.PutsByHost("App", h, v)
		return nil
	})
}

// AppContainers is `kamal app containers`: every container of the app (all
// roles, all states) on each app host.
func (k *Session) AppContainers(ctx context.Context) error {
	return k.hostCapture(ctx, commands.NewApp(k.Config, nil, "", "").ListContainers())
}

// AppImages is `kamal app images`: the app's images on each app host.
func (k *Session) AppImages(ctx context.Context) error {
	return k.hostCapture(ctx, commands.NewApp(k.Config, nil, "", "").ListImages())
}

// hostCapture runs cmd on each app host and prints the output as host blocks.
func (k *Session) hostCapture(ctx context.Context, cmd commands.Cmd) error {
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		out, err := k.Capture(ctx, h, cmd, remote.Info)
		if err != nil {
			return err
		}
		k.PutsByHost("App", h, out)
		return nil
	})
}

// AppLive is `kamal app live`: under the lock, resume every proxy role on
// the targeted proxy hosts.
func (k *Session) AppLive(ctx context.Context) error {
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.ProxyHosts(), func(ctx context.Context, h string, role *config.Role) error {
			if !role.RunsProxy() {
				return nil
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, role, h, "").ProxyLive(), remote.Info)
		})
	})
}

// MaintenanceOptions are the flags of `app maintenance`.
type MaintenanceOptions struct {
	// DrainTimeout in seconds; nil means drain_timeout from the config.
	DrainTimeout *int
	// Message is shown to clients while the app is in maintenance.
	Message string
}

// AppMaintenance is `kamal app maintenance`: under the lock, kamal-proxy
// drains every proxy role and answers 503 (with the message) until `app
// live`.
func (k *Session) AppMaintenance(ctx context.Context, o MaintenanceOptions) error {
	drain := k.Config.DrainTimeout
	if o.DrainTimeout != nil {
		if *o.DrainTimeout < 0 {
			return &ArgumentError{fmt.Sprintf("drain timeout must not be negative (got %d)", *o.DrainTimeout)}
		}
		drain = *o.DrainTimeout
	}
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.ProxyHosts(), func(ctx context.Context, h string, role *config.Role) error {
			if !role.RunsProxy() {
				return nil
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, role, h, "").ProxyMaintenance(drain, o.Message), remote.Info)
		})
	})
}

// AppExecOptions are the flags of `app exec`.
type AppExecOptions struct {
	// Version is --version ("" when not given): new containers then use
	// the latest tag and --reuse the version running on the primary host.
	Version     string
	Interactive bool // -i: one TTY session on the primary host
	Reuse       bool // run in the current container (docker exec)
	Detach      bool // leave the new container running in the background
	Env         []shell.KV
	Raw         bool // print the bytes of the output only
}

// ParseEnvPairs parses `-e` values. Kamal (Thor hashes) takes KEY:VALUE;
// KEY=VALUE is accepted too. The first ':' or '=' separates key and value.
func ParseEnvPairs(values []string) ([]shell.KV, error) {
	out := make([]shell.KV, 0, len(values))
	for _, v := range values {
		i := strings.IndexAny(v, ":=")
		if i <= 0 {
			return nil, &ArgumentError{fmt.Sprintf("invalid --env %q: expected KEY=VALUE or KEY:VALUE", v)}
		}
		key := v[:i]
		if strings.ContainsAny(key, " \t\n") {
			return nil, &ArgumentError{fmt.Sprintf("invalid --env name %q", key)}
		}
		out = append(out, shell.KV{Key: key, Value: v[i+1:]})
	}
	return out, nil
}

// AppExec is `kamal app exec`: cmd (shell text) runs in a new container of
// the image, or in the running container with Reuse, on every targeted app
// host (each host's output as a block), or interactively on the primary
// host with a TTY through the SSH pool.
func (k *Session) AppExec(ctx context.Context, cmd string, o AppExecOptions) error {
	if o.Detach {
		var with []string
		if o.Interactive {
			with = append(with, "interactive")
		}
		if o.Reuse {
			with = append(with, "reuse")
		}
		if len(with) > 0 {
			return &ArgumentError{"Detach is not compatible with " + strings.Join(with, " or ")}
		}
	}
	if strings.TrimSpace(cmd) == "" {
		return &ArgumentError{"No command provided. You must specify a command to execute."}
	}
	say := func(format string, args ...any) {
		if !o.Raw {
			k.Say(format, args...)
		}
	}

	version := o.Version
	if o.Reuse {
		if version == "" {
			say("Get current version of running container...")
			v, err := k.primaryCurrentVersion(ctx)
			if err != nil {
				return err
			}
			version = v
		}
	} else if version == "" {
		say("Get most recent version available as an image...")
		version = k.Config.LatestTag()
	}
	if version == "" {
		// Nothing runs on the primary host: fall back to the run's version,
		// as Kamal does.
		v, err := k.Version()
		if err != nil {
			return err
		}
		version = v
	}
	k.Config.SetVersion(version)

	if o.Interactive {
		return k.appExecInteractive(ctx, cmd, version, o)
	}
	if o.Reuse {
		say("Launching command with version %s from existing container...", version)
	} else {
		say("Launching command with version %s from new container...", version)
	}
	eo := commands.ExecOptions{Detach: o.Detach, Env: o.Env}
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		if !o.Reuse {
			if err := k.RegistryLoginOn(ctx, h, k.Config.Registry); err != nil {
				return err
			}
		}
		for _, role := range k.RolesOn(h) {
			app := commands.NewApp(k.Config, role, h, version)
			message := fmt.Sprintf("Executed cmd '%s' on app version %s", cmd, version)
			var run commands.Cmd
			var err error
			if o.Reuse {
				err = k.RecordOn(ctx, h, message, roleTag(role))
				run = app.ExecReuse(cmd, eo)
			} else {
				err = k.RecordOn(ctx, h, message)
				run = app.ExecNew(cmd, randomHex(3), eo)
			}
			if err != nil {
				return err
			}
			res, err := k.Exec(ctx, h, run, remote.ExecOptions{Severity: remote.Info})
			if err != nil {
				return err
			}
			k.putsExecOutput(h, res.Stdout, o.Raw)
		}
		return nil
	})
}

// putsExecOutput prints the output of an exec on host: byte for byte with
// raw, else as an `App Host:` block.
func (k *Session) putsExecOutput(host, stdout string, raw bool) {
	if raw {
		k.write(stdout)
		return
	}
	k.PutsByHost("App", host, strings.TrimSpace(stdout))
}

// primaryCurrentVersion is the version running on the primary host for its
// first targeted role ("" when none runs).
func (k *Session) primaryCurrentVersion(ctx context.Context) (string, error) {
	var version string
	err := k.On(ctx, []string{k.primaryHost}, func(ctx context.Context, h string) error {
		roles := k.RolesOn(h)
		if len(roles) == 0 {
			return nil
		}
		v, err := k.Capture(ctx, h, commands.NewApp(k.Config, roles[0], h, "").CurrentRunningVersion(), remote.Info)
		version = v
		return err
	})
	return version, err
}

// appExecInteractive runs cmd on the primary host in a TTY session of the
// SSH pool (host keys, agent and jump hosts as for every other command);
// the remote exit status becomes kamal's.
func (k *Session) appExecInteractive(ctx context.Context, cmd, version string, o AppExecOptions) error {
	host, role := k.primaryHost, k.primaryRole()
	app := commands.NewApp(k.Config, role, host, version)
	// The session always has a PTY, so docker gets -it.
	eo := commands.ExecOptions{Interactive: true, TTY: true, Env: o.Env}
	var run commands.Cmd
	if o.Reuse {
		k.Say("Launching interactive command with version %s via SSH from existing container on %s...", version, host)
		run = app.ExecReuse(cmd, eo)
	} else {
		k.Say("Launching interactive command with version %s via SSH from new container on %s...", version, host)
		err := k.On(ctx, []string{host}, func(ctx context.Context, h string) error {
			return k.RegistryLoginOn(ctx, h, k.Config.Registry)
		})
		if err != nil {
			return err
		}
		run = app.ExecNew(cmd, randomHex(3), eo)
	}
	return k.interactive(ctx, host, run)
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

// AppLogsOptions are the flags of `app logs`.
type AppLogsOptions struct {
	Since          string
	Lines          int // 0: the default (100, or 10 with Follow; none with Since or Grep)
	Grep           string
	GrepOptions    string
	Follow         bool
	SkipTimestamps bool
	ContainerID    string
}

// AppLogs is `kamal app logs`: the current container's log lines of each
// role on each app host ("Nothing found" when the command fails, e.g. no
// container or no grep match); with Follow, the log of the primary host's
// first role streams until the remote command ends or the user interrupts.
func (k *Session) AppLogs(ctx context.Context, o AppLogsOptions) error {
	lo := commands.AppLogOptions{
		Since: o.Since, Lines: o.Lines, Grep: o.Grep, GrepOptions: o.GrepOptions,
		NoTimestamp: o.SkipTimestamps, ContainerID: o.ContainerID,
	}
	if lo.Lines <= 0 && o.Since == "" && o.Grep == "" {
		lo.Lines = 100
		if o.Follow {
			lo.Lines = 10
		}
	}
	if o.Follow {
		host := k.primaryHost
		app := commands.NewApp(k.Config, k.primaryRole(), host, "")
		cmd := app.FollowLogs(lo)
		k.Out.Infof("Following logs on %s...", host)
		k.Out.Infof("%s", cmd.String())
		err := k.interactive(ctx, host, cmd)
		if errors.Is(err, context.Canceled) {
			// Ctrl-C is how a follow ends.
			return nil
		}
		return err
	}
	return k.forRoles(ctx, k.AppHosts(), func(ctx context.Context, h string, role *config.Role) error {
		res, err := k.Exec(ctx, h, commands.NewApp(k.Config, role, h, "").Logs(lo), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
		if err != nil {
			return err
		}
		if res.ExitStatus != 0 {
			k.PutsByHost("App", h, "Nothing found")
			return nil
		}
		k.PutsByHost("App", h, strings.TrimSpace(res.Stdout))
		return nil
	})
}

// AppRemoveContainer is the hidden `app remove_container VERSION`.
func (k *Session) AppRemoveContainer(ctx context.Context, version string) error {
	if strings.TrimSpace(version) == "" {
		return &ArgumentError{"No version provided"}
	}
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.AppHosts(), func(ctx context.Context, h string, role *config.Role) error {
			if err := k.RecordOn(ctx, h, "Removed app container with version "+version, roleTag(role)); err != nil {
				return err
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, role, h, "").RemoveContainer(version), remote.Info)
		})
	})
}

// AppRemoveContainers is the hidden `app remove_containers`: prune every
// stopped container of the targeted roles.
func (k *Session) AppRemoveContainers(ctx context.Context) error {
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.AppHosts(), func(ctx context.Context, h string, role *config.Role) error {
			if err := k.RecordOn(ctx, h, "Removed all app containers", roleTag(role)); err != nil {
				return err
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, role, h, "").RemoveContainers(), remote.Info)
		})
	})
}

// AppRemoveImages is the hidden `app remove_images`: prune the app's
// images unused by containers on each app host.
func (k *Session) AppRemoveImages(ctx context.Context) error {
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			if err := k.RecordOn(ctx, h, "Removed all app images"); err != nil {
				return err
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, nil, h, "").RemoveImages(), remote.Info)
		})
	})
}

// AppRemoveAppDirectories is the hidden `app remove_app_directories`: the
// app directory and its proxy config directory on each app host (a missing
// directory is fine).
func (k *Session) AppRemoveAppDirectories(ctx context.Context) error {
	dir := commands.AppDirectory(k.Config)
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			for _, role := range k.RolesOn(h) {
				if err := k.RecordOn(ctx, h, "Removed "+dir, roleTag(role)); err != nil {
					return err
				}
				app := commands.NewApp(k.Config, role, h, "")
				if _, err := k.Exec(ctx, h, app.RemoveAppDirectory(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
					return err
				}
			}
			if err := k.RecordOn(ctx, h, "Removed "+dir); err != nil {
				return err
			}
			_, err := k.Exec(ctx, h, commands.RemoveProxyAppDirectory(k.Config), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
			return err
		})
	})
}
