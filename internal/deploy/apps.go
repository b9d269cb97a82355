package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// Apps is `kamal app` apart from boot (see Booter): start, stop, version,
// containers, images, live, maintenance, exec, logs, details,
// stale_containers and the removal steps.
type Apps struct {
	*Session
	lock     *Lock
	proxy    *Proxy
	registry *Registry
}

// primaryRole is the role `app exec -i` and `app logs -f` use: the first
// targeted role on the primary host (the primary role unless -r says
// otherwise).
func (k *Apps) primaryRole() *config.Role {
	if roles := k.rolesOn(k.primaryHost); len(roles) > 0 {
		return roles[0]
	}
	if len(k.roles) > 0 {
		return k.roles[0]
	}
	return k.Config.PrimaryRole()
}

// forRoles runs fn for each targeted role of each app host, hosts in
// parallel and a host's roles one after another.
func (k *Apps) forRoles(ctx context.Context, hosts []string, fn func(ctx context.Context, h string, role *config.Role) error) error {
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		for _, role := range k.rolesOn(h) {
			if err := fn(ctx, h, role); err != nil {
				return err
			}
		}
		return nil
	})
}

// Start is `kamal app start`: under the lock, start each role's
// container of the run's version and, for roles behind kamal-proxy, point
// the proxy at the role's current container again.
func (k *Apps) Start(ctx context.Context) error {
	version, err := k.Version()
	if err != nil {
		return err
	}
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.AppHosts(), func(ctx context.Context, h string, role *config.Role) error {
			app := commands.NewApp(k.Config, role, h, version)
			if err := k.recordOn(ctx, h, "Started app version "+version); err != nil {
				return err
			}
			if _, err := k.Exec(ctx, h, app.Start(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
				return err
			}
			if !role.RunsProxy() {
				return nil
			}
			current, err := k.currentVersion(ctx, h, role)
			if err != nil {
				return err
			}
			// The proxy gets the container that actually runs, which may
			// be another version than the one started.
			return k.proxy.Deploy(ctx, h, commands.NewApp(k.Config, role, h, current))
		})
	})
}

// RunningVersion is `kamal app version`: the current running version of the
// first targeted role of each app host.
func (k *Apps) RunningVersion(ctx context.Context) error {
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		roles := k.rolesOn(h)
		if len(roles) == 0 {
			return nil
		}
		v, err := k.capturedVersion(ctx, h, roles[0])
		if err != nil {
			return err
		}
		k.putsByHost("App", h, v)
		return nil
	})
}

// Containers is `kamal app containers`: every container of the app (all
// roles, all states) on each app host.
func (k *Apps) Containers(ctx context.Context) error {
	app := commands.NewApp(k.Config, nil, "", "")
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		out, err := k.psTable(ctx, h, app.ListContainers(), dockerapi.ListOptions{All: true, Filters: app.Filters(nil)})
		if err != nil {
			return err
		}
		k.putsByHost("App", h, out)
		return nil
	})
}

// Images is `kamal app images`: the app's images on each app host.
func (k *Apps) Images(ctx context.Context) error {
	return k.hostCapture(ctx, commands.NewApp(k.Config, nil, "", "").ListImages())
}

// hostCapture runs cmd on each app host and prints the output as host blocks.
func (k *Apps) hostCapture(ctx context.Context, cmd commands.Cmd) error {
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		out, err := k.capture(ctx, h, cmd, remote.Info)
		if err != nil {
			return err
		}
		k.putsByHost("App", h, out)
		return nil
	})
}

// Live is `kamal app live`: under the lock, resume every proxy role on
// the targeted proxy hosts.
func (k *Apps) Live(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
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

// Maintenance is `kamal app maintenance`: under the lock, kamal-proxy
// drains every proxy role and answers 503 (with the message) until `app
// live`.
func (k *Apps) Maintenance(ctx context.Context, o MaintenanceOptions) error {
	drain := k.Config.DrainTimeout
	if o.DrainTimeout != nil {
		if *o.DrainTimeout < 0 {
			return &ArgumentError{fmt.Sprintf("drain timeout must not be negative (got %d)", *o.DrainTimeout)}
		}
		drain = *o.DrainTimeout
	}
	return k.lock.With(ctx, func(ctx context.Context) error {
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

// ExecCommand is `kamal app exec`: cmd (shell text) runs in a new container of
// the image, or in the running container with Reuse, on every targeted app
// host (each host's output as a block), or interactively on the primary
// host with a TTY through the SSH pool.
func (k *Apps) ExecCommand(ctx context.Context, cmd string, o AppExecOptions) error {
	// As in Kamal, pre-connect runs first, so its KAMAL_VERSION is the
	// run's version, not the "latest" tag the exec may use.
	if _, err := k.connect(ctx); err != nil {
		return err
	}
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
			if err := k.registry.loginOn(ctx, h, k.Config.Registry); err != nil {
				return err
			}
		}
		for _, role := range k.rolesOn(h) {
			app := commands.NewApp(k.Config, role, h, version)
			message := fmt.Sprintf("Executed cmd '%s' on app version %s", cmd, version)
			var run commands.Cmd
			var err error
			if o.Reuse {
				err = k.recordOn(ctx, h, message, roleTag(role))
				run = app.ExecReuse(cmd, eo)
			} else {
				err = k.recordOn(ctx, h, message)
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

// primaryCurrentVersion is the version running on the primary host for its
// first targeted role ("" when none runs).
func (k *Apps) primaryCurrentVersion(ctx context.Context) (string, error) {
	var version string
	err := k.On(ctx, []string{k.primaryHost}, func(ctx context.Context, h string) error {
		roles := k.rolesOn(h)
		if len(roles) == 0 {
			return nil
		}
		v, err := k.capturedVersion(ctx, h, roles[0])
		version = v
		return err
	})
	return version, err
}

// appExecInteractive runs cmd on the primary host in a TTY session of the
// SSH pool (host keys, agent and jump hosts as for every other command);
// the remote exit status becomes kamal's.
func (k *Apps) appExecInteractive(ctx context.Context, cmd, version string, o AppExecOptions) error {
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
			return k.registry.loginOn(ctx, h, k.Config.Registry)
		})
		if err != nil {
			return err
		}
		run = app.ExecNew(cmd, randomHex(3), eo)
	}
	return k.interactive(ctx, host, run)
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

// Logs is `kamal app logs`: the current container's log lines of each
// role on each app host ("Nothing found" when the command fails, e.g. no
// container or no grep match); with Follow, the log of the primary host's
// first role streams until the remote command ends or the user interrupts.
func (k *Apps) Logs(ctx context.Context, o AppLogsOptions) error {
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
			k.putsByHost("App", h, "Nothing found")
			return nil
		}
		k.putsByHost("App", h, strings.TrimSpace(res.Stdout))
		return nil
	})
}

// RemoveContainer is the hidden `app remove_container VERSION`.
func (k *Apps) RemoveContainer(ctx context.Context, version string) error {
	if strings.TrimSpace(version) == "" {
		return &ArgumentError{"No version provided"}
	}
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.AppHosts(), func(ctx context.Context, h string, role *config.Role) error {
			if err := k.recordOn(ctx, h, "Removed app container with version "+version, roleTag(role)); err != nil {
				return err
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, role, h, "").RemoveContainer(version), remote.Info)
		})
	})
}

// RemoveContainers is the hidden `app remove_containers`: prune every
// stopped container of the targeted roles.
func (k *Apps) RemoveContainers(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.forRoles(ctx, k.AppHosts(), func(ctx context.Context, h string, role *config.Role) error {
			if err := k.recordOn(ctx, h, "Removed all app containers", roleTag(role)); err != nil {
				return err
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, role, h, "").RemoveContainers(), remote.Info)
		})
	})
}

// RemoveImages is the hidden `app remove_images`: prune the app's
// images unused by containers on each app host.
func (k *Apps) RemoveImages(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			if err := k.recordOn(ctx, h, "Removed all app images"); err != nil {
				return err
			}
			return k.Execute(ctx, h, commands.NewApp(k.Config, nil, h, "").RemoveImages(), remote.Info)
		})
	})
}

// RemoveAppDirectories is the hidden `app remove_app_directories`: the
// app directory and its proxy config directory on each app host (a missing
// directory is fine).
func (k *Apps) RemoveAppDirectories(ctx context.Context) error {
	dir := commands.AppDirectory(k.Config)
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			for _, role := range k.rolesOn(h) {
				if err := k.recordOn(ctx, h, "Removed "+dir, roleTag(role)); err != nil {
					return err
				}
				app := commands.NewApp(k.Config, role, h, "")
				if _, err := k.Exec(ctx, h, app.RemoveAppDirectory(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
					return err
				}
			}
			if err := k.recordOn(ctx, h, "Removed "+dir); err != nil {
				return err
			}
			_, err := k.Exec(ctx, h, commands.RemoveProxyAppDirectory(k.Config), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
			return err
		})
	})
}

// Stop is `kamal app stop`: per host and role, take the role out of
// kamal-proxy, then stop its current container (failures are ignored, as
// in Kamal).
func (k *Apps) Stop(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			for _, role := range k.rolesOn(h) {
				if err := k.stopRoleOn(ctx, h, role); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// stopRoleOn stops role's current container on host (inside an On),
// removing it from kamal-proxy first when the role runs behind it.
func (k *Apps) stopRoleOn(ctx context.Context, h string, role *config.Role) error {
	app := commands.NewApp(k.Config, role, h, "")
	if err := k.recordOn(ctx, h, "Stopped app", roleTag(role)); err != nil {
		return err
	}
	if role.RunsProxy() {
		version, err := k.currentVersion(ctx, h, role)
		if err != nil {
			return err
		}
		if version != "" {
			if id, err := k.ContainerIDForVersion(ctx, h, role, version); err != nil {
				return err
			} else if id != "" {
				if _, err := k.Exec(ctx, h, app.ProxyRemove(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
					return err
				}
			}
		}
	}
	_, err := k.Exec(ctx, h, app.Stop(""), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
	return err
}

// Remove is `kamal app remove`: stop, then remove the roles' containers,
// the app images and, on hosts where every role of the app is removed, the
// app and proxy-config directories.
func (k *Apps) Remove(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		if err := k.Stop(ctx); err != nil {
			return err
		}
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			roles := k.rolesOn(h)
			var cmds []commands.Cmd
			for _, role := range roles {
				app := commands.NewApp(k.Config, role, h, "")
				cmds = append(cmds, k.auditor().Record("Removed all app containers", roleTag(role)), app.RemoveContainers())
			}
			if len(roles) == 0 {
				return nil
			}
			first := commands.NewApp(k.Config, roles[0], h, "")
			cmds = append(cmds, k.auditor().Record("Removed all app images"), first.RemoveImages())
			if err := k.Execute(ctx, h, commands.Combine(cmds...), remote.Info); err != nil {
				return err
			}
			if !k.allRolesOf(h) {
				return nil
			}
			_, err := k.Exec(ctx, h, commands.Chain(
				first.RemoveAppDirectory(),
				commands.RemoveProxyAppDirectory(k.Config),
				k.auditor().Record("Removed "+commands.AppDirectory(k.Config))),
				remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
			return err
		})
	})
}

// allRolesOf reports whether every role of the app on host is targeted.
func (k *Apps) allRolesOf(h string) bool {
	targeted := k.rolesOn(h)
	for _, r := range k.Config.RolesOnHost(h) {
		if !slices.Contains(targeted, r) {
			return false
		}
	}
	return true
}

// Details is `kamal app details`: `docker ps` of each role's
// containers on each app host.
func (k *Apps) Details(ctx context.Context) error {
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		for _, role := range k.rolesOn(h) {
			app := commands.NewApp(k.Config, role, h, "")
			out, err := k.psTable(ctx, h, app.Info(), dockerapi.ListOptions{Filters: app.Filters(nil)})
			if err != nil {
				return err
			}
			k.putsByHost("App", h, out)
		}
		return nil
	})
}

// StaleContainers is `kamal app stale_containers [--stop]`: running
// containers of a role other than its current version are reported, or
// stopped.
func (k *Apps) StaleContainers(ctx context.Context, stop bool) error {
	run := func(ctx context.Context) error {
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			for _, role := range k.rolesOn(h) {
				app := commands.NewApp(k.Config, role, h, "")
				versions, current, err := k.runningVersions(ctx, h, app)
				if err != nil {
					return err
				}
				for _, v := range strings.Split(strings.TrimSpace(versions), "\n") {
					v = strings.TrimSpace(v)
					if v == "" || v == current {
						continue
					}
					if !stop {
						k.putsByHost("App", h, fmt.Sprintf("Detected stale container for role %s with version %s (use `kamal app stale_containers --stop` to stop)", role.Name, v))
						continue
					}
					k.putsByHost("App", h, fmt.Sprintf("Stopping stale container for role %s with version %s", role.Name, v))
					if _, err := k.Exec(ctx, h, app.Stop(v), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	if stop {
		return k.lock.With(ctx, run)
	}
	return run(ctx)
}

const staleSeparator = "--kamal-current--"

// runningVersions are the versions of the role's running containers (one
// per line) and the current one.
func (k *Apps) runningVersions(ctx context.Context, h string, app *commands.App) (versions, current string, err error) {
	if api := k.docker(ctx, h); api != nil {
		list, _, err := k.viaAPI(ctx, h, app.ListVersions(), remote.Info, func(api *dockerapi.Client) (string, error) {
			v, err := versionsOf(ctx, api, app)
			return strings.Join(v, "\n"), err
		})
		if err = unreachable(err); err != nil {
			return "", "", err
		}
		current, err := k.currentVersion(ctx, h, app.Role())
		return list, current, err
	}
	// One round trip: the running versions, a separator, the current one.
	res, err := k.Exec(ctx, h, commands.Chain(app.ListVersions(), commands.New("echo", staleSeparator), app.CurrentRunningVersion()),
		remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
	if err != nil {
		return "", "", err
	}
	versions, current, _ = strings.Cut(res.Stdout, staleSeparator+"\n")
	return versions, strings.TrimSpace(current), nil
}
