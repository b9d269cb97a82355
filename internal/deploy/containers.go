package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

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

// runningVersions reads the current version of each role on host in one
// command ("" for a role with no running container).
func (k *Session) runningVersions(ctx context.Context, h string, roles []*config.Role) ([]string, error) {
	if len(roles) == 0 {
		return nil, nil
	}
	var cmds []commands.Cmd
	for i, role := range roles {
		if i > 0 {
			cmds = append(cmds, commands.New("echo", staleSeparator))
		}
		cmds = append(cmds, commands.NewApp(k.Config, role, h, "").CurrentRunningVersion())
	}
	res, err := k.Exec(ctx, h, commands.Chain(cmds...), remote.ExecOptions{Severity: remote.Debug, AllowFailure: true})
	if err != nil {
		return nil, err
	}
	parts := strings.Split(res.Stdout, staleSeparator+"\n")
	if len(parts) != len(roles) {
		return nil, fmt.Errorf("reading the running versions on %s: unexpected output %q", h, res.Stdout)
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// roleVersions are the versions of one role's containers on one host.
type roleVersions struct {
	host    string
	role    *config.Role
	all     []string // every container's version, newest first
	current string   // the running one ("" none)
}

func (v roleVersions) String() string { return v.role.Name + " on " + v.host }

// containerVersions reads, in one command per host, the versions of every
// targeted role's containers and the one running.
func (k *Session) containerVersions(ctx context.Context) ([]roleVersions, error) {
	hosts := k.AppHosts()
	found := make([][]roleVersions, len(hosts))
	var mu sync.Mutex
	err := k.On(ctx, hosts, func(ctx context.Context, h string) error {
		roles := k.rolesOn(h)
		var cmds []commands.Cmd
		for i, role := range roles {
			app := commands.NewApp(k.Config, role, h, "")
			if i > 0 {
				cmds = append(cmds, commands.New("echo", staleSeparator))
			}
			cmds = append(cmds, app.ListVersions("--all"), commands.New("echo", staleSeparator), app.CurrentRunningVersion())
		}
		res, err := k.Exec(ctx, h, commands.Chain(cmds...), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
		if err != nil {
			return err
		}
		parts := strings.Split(res.Stdout, staleSeparator+"\n")
		if len(parts) != 2*len(roles) {
			return fmt.Errorf("listing the containers on %s: unexpected output %q", h, res.Stdout)
		}
		var out []roleVersions
		for i, role := range roles {
			rv := roleVersions{host: h, role: role, current: strings.TrimSpace(parts[2*i+1])}
			for _, v := range strings.Fields(parts[2*i]) {
				if !slices.Contains(rv.all, v) {
					rv.all = append(rv.all, v)
				}
			}
			out = append(out, rv)
		}
		mu.Lock()
		found[slices.Index(hosts, h)] = out
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Concat(found...), nil
}

// missingContainers names the targeted roles and hosts without a
// container of version ("web on 10.0.0.1").
func (k *Session) missingContainers(ctx context.Context, version string) ([]string, error) {
	var mu sync.Mutex
	var missing []string
	err := k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		for _, role := range k.rolesOn(h) {
			id, err := k.ContainerIDForVersion(ctx, h, role, version)
			if err != nil {
				return err
			}
			if id == "" {
				mu.Lock()
				missing = append(missing, role.Name+" on "+h)
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Hosts answer in any order; report them in the run's order.
	order := func(s string) int {
		role, host, _ := strings.Cut(s, " on ")
		return slices.Index(k.hosts, host)*1000 + slices.IndexFunc(k.roles, func(r *config.Role) bool { return r.Name == role })
	}
	slices.SortFunc(missing, func(a, b string) int { return order(a) - order(b) })
	return missing, nil
}
