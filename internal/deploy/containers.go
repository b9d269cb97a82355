package deploy

import (
	"context"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
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
	return k.capture(ctx, host, app.ContainerID(), remote.Info)
}

// createNetwork creates the `kamal` network; "already exists" is fine.
func (k *Session) createNetwork(ctx context.Context, host string) error {
	err := k.Execute(ctx, host, commands.CreateNetwork(), remote.Info)
	if err != nil && commandFailedWith(err, "already exists") {
		return nil
	}
	return err
}
