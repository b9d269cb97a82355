package deploy

import (
	"context"
	"errors"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/remote"
)

// Queries about the app's containers on a host, and docker objects the
// app, kamal-proxy and accessories share.

// appFor is the app command builder of role on host at the run's version.
func (k *Session) appFor(role *config.Role, host string) (*commands.App, error) {
	v, err := k.Version()
	if err != nil {
		return nil, err
	}
	return commands.NewApp(k.Config, role, host, v), nil
}

// currentVersion is the version of role's current running container on host
// ("" when none runs). Like Kamal it ignores a failing lookup.
func (k *Session) currentVersion(ctx context.Context, host string, role *config.Role) (string, error) {
	app := commands.NewApp(k.Config, role, host, "")
	if v, ok, err := k.viaAPI(ctx, host, app.CurrentRunningVersion(), remote.Info, func(api *dockerapi.Client) (string, error) {
		return runningVersion(ctx, api, app)
	}); ok {
		return v, unreachable(err)
	}
	res, err := k.Exec(ctx, host, app.CurrentRunningVersion(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
	if err != nil {
		return "", err
	}
	if res.ExitStatus != 0 {
		return "", nil
	}
	return strings.TrimSpace(res.Stdout), nil
}

// ContainerIDForVersion returns the id of role's container of version on
// host ("" when there is none).
func (k *Session) ContainerIDForVersion(ctx context.Context, host string, role *config.Role, version string) (string, error) {
	app := commands.NewApp(k.Config, role, host, version)
	if id, ok, err := k.viaAPI(ctx, host, app.ContainerID(), remote.Info, func(api *dockerapi.Client) (string, error) {
		return containerIDOf(ctx, api, app, version)
	}); ok {
		return id, err
	}
	return k.capture(ctx, host, app.ContainerID(), remote.Info)
}

// capturedVersion is the version of role's current running container on
// host, failing when it cannot be looked up.
func (k *Session) capturedVersion(ctx context.Context, host string, role *config.Role) (string, error) {
	app := commands.NewApp(k.Config, role, host, "")
	if v, ok, err := k.viaAPI(ctx, host, app.CurrentRunningVersion(), remote.Info, func(api *dockerapi.Client) (string, error) {
		return runningVersion(ctx, api, app)
	}); ok {
		return v, err
	}
	return k.capture(ctx, host, app.CurrentRunningVersion(), remote.Info)
}

// createNetwork creates the `kamal` network; "already exists" is fine.
func (k *Session) createNetwork(ctx context.Context, host string) error {
	_, ok, err := k.viaAPI(ctx, host, commands.CreateNetwork(), remote.Info, func(api *dockerapi.Client) (string, error) {
		// A network that exists already is what this step wants.
		if err := api.CreateNetwork(ctx, config.DefaultNetwork); !cerrdefs.IsConflict(err) {
			return "", err
		}
		return "", nil
	})
	if !ok {
		err = k.Execute(ctx, host, commands.CreateNetwork(), remote.Info)
	}
	if err != nil && (commandFailedWith(err, "already exists") || cerrdefs.IsConflict(err)) {
		return nil
	}
	return err
}

// unreachable keeps only the errors that mean the host's Docker could not
// be reached: a query Kamal runs allowing failure ignores the rest.
func unreachable(err error) error {
	var u *dockerapi.UnreachableError
	if errors.As(err, &u) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
