package deploy

import (
	"context"
	"errors"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// Speaking to the hosts' Docker. Where a host's Docker socket can be reached
// over its SSH connection, queries and simple actions go through the Docker
// Engine API: no SSH session and no docker CLI process on the server. Each
// is logged with the docker command it stands for, and leaves the same
// state that command would. Elsewhere (and with KAMAL_DOCKER_CLI=1, or with
// an Executor that is not the SSH pool) the docker CLI runs as before.

// docker returns host's Engine API client, or nil when the docker CLI is to
// be used there.
func (k *Session) docker(ctx context.Context, host string) *dockerapi.Client {
	if _, err := k.connect(ctx); err != nil {
		return nil
	}
	k.connectMu.Lock()
	engines := k.engines
	k.connectMu.Unlock()
	if engines == nil {
		return nil
	}
	return engines.API(ctx, host)
}

// newEngines prepares the per-host choice between the API and the CLI.
func (k *Session) newEngines(p *remote.Pool) *dockerapi.Engines {
	forced := false
	if v, ok := k.opts.LookupEnv(dockerapi.ForceCLIEnv); ok {
		forced = v == "1" || strings.EqualFold(v, "true")
	}
	return dockerapi.NewEngines(p, k.Out, forced)
}

// viaAPI runs fn with host's API client, logged at sev as the command cmd
// it stands for (fn's output is logged at DEBUG, as a command's). ok is
// false, and nothing runs, when host uses the docker CLI.
func (k *Session) viaAPI(ctx context.Context, host string, cmd commands.Cmd, sev remote.Severity, fn func(api *dockerapi.Client) (string, error)) (out string, ok bool, err error) {
	api := k.docker(ctx, host)
	if api == nil {
		return "", false, nil
	}
	op := k.Out.Operation(sev, host, shell.Command(cmd...))
	out, err = fn(api)
	if err == nil {
		op.Output(out)
	}
	return out, true, op.Done(err)
}

// dockerUnusable names both failures when a docker command failed on a
// host whose API could not be reached either (the daemon is down, or the
// user may not use it).
func (k *Session) dockerUnusable(host string, err error) error {
	k.connectMu.Lock()
	engines := k.engines
	k.connectMu.Unlock()
	if engines == nil || !commandFailedWith(err, "Cannot connect to the Docker daemon", "permission denied while trying to connect to the Docker daemon") {
		return err
	}
	var ce *remote.CommandError
	if errors.As(err, &ce) && !strings.HasPrefix(ce.Command, "docker") {
		return err
	}
	return engines.Unusable(host, err)
}

// runningVersion is CurrentRunningVersion through the API: the newest
// running (or restarting) container of the role made from the latest
// image, else the newest running one; "" when none runs.
func runningVersion(ctx context.Context, api *dockerapi.Client, app *commands.App) (string, error) {
	name, err := runningContainer(ctx, api, app)
	if err != nil || name == "" {
		return "", err
	}
	return strings.TrimPrefix(name, app.Role().ContainerPrefix()+"-"), nil
}

func runningContainer(ctx context.Context, api *dockerapi.Client, app *commands.App) (string, error) {
	filters := app.RunningFilters()
	images, err := api.Images(ctx, []string{"reference=" + app.LatestImage()})
	if err != nil {
		return "", err
	}
	if len(images) > 0 {
		list, err := api.Containers(ctx, dockerapi.ListOptions{Latest: true, Filters: append(filters, "ancestor="+images[0].ID)})
		if err != nil {
			return "", err
		}
		if len(list) > 0 {
			return containerName(list[0].Names), nil
		}
	}
	list, err := api.Containers(ctx, dockerapi.ListOptions{Latest: true, Filters: filters})
	if err != nil || len(list) == 0 {
		return "", err
	}
	return containerName(list[0].Names), nil
}

// containerIDOf is ContainerIDForVersion through the API: the short id of
// the role's container of version, "" when there is none.
func containerIDOf(ctx context.Context, api *dockerapi.Client, app *commands.App, version string) (string, error) {
	list, err := api.Containers(ctx, dockerapi.ListOptions{All: true, Filters: []string{"name=^" + app.ContainerNameFor(version) + "$"}})
	if err != nil || len(list) == 0 {
		return "", err
	}
	return shortID(list[0].ID), nil
}

// versionsOf is ListVersions through the API: the versions of the role's
// running containers, newest first.
func versionsOf(ctx context.Context, api *dockerapi.Client, app *commands.App) ([]string, error) {
	list, err := api.Containers(ctx, dockerapi.ListOptions{Filters: app.Filters(nil)})
	if err != nil {
		return nil, err
	}
	var versions []string
	for _, c := range list {
		versions = append(versions, strings.TrimPrefix(containerName(c.Names), app.Role().ContainerPrefix()+"-"))
	}
	return versions, nil
}

// healthStatus is Status through the API: the container's health status, or
// its state when it has no health check.
func healthStatus(ctx context.Context, api *dockerapi.Client, app *commands.App) (string, error) {
	id, err := containerIDOf(ctx, api, app, app.Version())
	if err != nil || id == "" {
		return "", err
	}
	c, err := api.Inspect(ctx, id)
	if err != nil || c.State == nil {
		return "", err
	}
	if c.State.Health != nil {
		return string(c.State.Health.Status), nil
	}
	return string(c.State.Status), nil
}

// containerName is a container's own name, without the leading slash.
func containerName(names []string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if !strings.Contains(n, "/") {
			return n
		}
	}
	return ""
}

// stopVersion is Stop(version) through the API: stop the role's container
// of version, with the role's stop timeout.
func stopVersion(ctx context.Context, api *dockerapi.Client, app *commands.App, version string) error {
	id, err := containerIDOf(ctx, api, app, version)
	if err != nil || id == "" {
		return err
	}
	return api.Stop(ctx, id, app.StopSeconds())
}

// execInContainer runs a `docker exec CONTAINER ARGS...` command (such as a
// kamal-proxy call) through the API: done is false, and nothing runs, when
// host uses the docker CLI or an argument needs a shell to be read. A
// non-zero exit is the *remote.CommandError the CLI would have given.
func (k *Session) execInContainer(ctx context.Context, host string, cmd commands.Cmd, sev remote.Severity) (done bool, err error) {
	if len(cmd) < 4 || cmd[0] != "docker" || cmd[1] != "exec" {
		return false, nil
	}
	var argv []string
	for _, w := range cmd[3:] {
		arg, ok := shell.Unquote(w)
		if !ok {
			return false, nil
		}
		argv = append(argv, arg)
	}
	api := k.docker(ctx, host)
	if api == nil {
		return false, nil
	}
	line := shell.Command(cmd...)
	op := k.Out.Operation(sev, host, line)
	res, err := api.Exec(ctx, cmd[2], argv)
	if err != nil {
		return true, op.Done(err)
	}
	op.Output(res.Stdout)
	op.Output(res.Stderr)
	op.Exited(res.ExitCode)
	if res.ExitCode != 0 {
		red := k.Out.Redactor()
		return true, &remote.CommandError{Host: host, Command: red.Redact(line), ExitStatus: res.ExitCode,
			Stdout: red.Redact(res.Stdout), Stderr: red.Redact(res.Stderr)}
	}
	return true, nil
}

// deferOn runs cmd on host, or, where the host's Docker is reached through
// the API (so that the run may need no other session there for a while),
// keeps it to go in the same session as the host's next shell command or
// upload. Only commands whose output nobody reads qualify: audit lines and
// directories that must exist. flushDeferred runs what is left.
func (k *Session) deferOn(ctx context.Context, host string, cmd commands.Cmd, sev remote.Severity) error {
	if k.docker(ctx, host) == nil {
		return k.Execute(ctx, host, cmd, sev)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.deferred == nil {
		k.deferred = map[string][]remote.Step{}
	}
	k.deferred[host] = append(k.deferred[host], remote.Step{Command: shell.Command(cmd...), Severity: sev})
	return nil
}

// takeDeferred returns and forgets host's deferred commands.
func (k *Session) takeDeferred(host string) []remote.Step {
	k.mu.Lock()
	defer k.mu.Unlock()
	steps := k.deferred[host]
	delete(k.deferred, host)
	return steps
}

// flushDeferred runs the deferred commands of hosts, one session each.
func (k *Session) flushDeferred(ctx context.Context, hosts []string) error {
	var pending []string
	k.mu.Lock()
	for _, h := range hosts {
		if len(k.deferred[h]) > 0 {
			pending = append(pending, h)
		}
	}
	k.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	return k.On(ctx, pending, func(ctx context.Context, h string) error {
		_, err := k.batch(ctx, h)
		return err
	})
}

// allDeferred lists the hosts with deferred commands.
func (k *Session) allDeferred() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var hosts []string
	for h := range k.deferred {
		hosts = append(hosts, h)
	}
	return hosts
}

// loginOnce reports whether host still needs a login to server as user in
// this run, and notes that it gets one. A second login to the same
// registry (Kamal logs in again before booting kamal-proxy) changes nothing
// on the host. Only with the SSH pool: tests that replace the executor see
// every command.
func (k *Session) loginOnce(host, server, user string) bool {
	k.connectMu.Lock()
	pooled := k.pool != nil
	k.connectMu.Unlock()
	if !pooled {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	key := host + "\x00" + server + "\x00" + user
	if k.loggedIn[key] {
		return false
	}
	if k.loggedIn == nil {
		k.loggedIn = map[string]bool{}
	}
	k.loggedIn[key] = true
	return true
}

// psTable is a `docker ps` listing (cmd) of host: through the API, the
// containers o selects rendered as the docker CLI prints them.
func (k *Session) psTable(ctx context.Context, host string, cmd commands.Cmd, o dockerapi.ListOptions) (string, error) {
	if out, ok, err := k.viaAPI(ctx, host, cmd, remote.Info, func(api *dockerapi.Client) (string, error) {
		list, err := api.Containers(ctx, o)
		if err != nil {
			return "", err
		}
		return dockerapi.PSTable(list, k.opts.Now()), nil
	}); ok {
		return out, err
	}
	return k.capture(ctx, host, cmd, remote.Info)
}
