package deploy

import (
	"context"
	"slices"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/remote"
)

// Remove is `kamal remove` (after the confirmation): under the lock, the
// app (containers, images, directories), the proxy unless other apps use
// it, the accessories, and the registry login on the hosts.
func (k *Kamal) Remove(ctx context.Context) error {
	return k.WithLock(ctx, func(ctx context.Context) error {
		if err := k.AppRemove(ctx); err != nil {
			return err
		}
		if err := k.ProxyRemove(ctx, ProxyRemoveOptions{}); err != nil {
			return err
		}
		if err := k.Accessories.Remove(ctx, AllAccessories); err != nil {
			return err
		}
		return k.RegistryRemove(ctx, RegistryOptions{SkipLocal: true})
	})
}

// AppStop is `kamal app stop`: per host and role, take the role out of
// kamal-proxy, then stop its current container (failures are ignored, as
// in Kamal).
func (k *Session) AppStop(ctx context.Context) error {
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			for _, role := range k.RolesOn(h) {
				if err := k.StopRoleOn(ctx, h, role); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// StopRoleOn stops role's current container on host (inside an On),
// removing it from kamal-proxy first when the role runs behind it.
func (k *Session) StopRoleOn(ctx context.Context, h string, role *config.Role) error {
	app := commands.NewApp(k.Config, role, h, "")
	if err := k.RecordOn(ctx, h, "Stopped app", roleTag(role)); err != nil {
		return err
	}
	if role.RunsProxy() {
		version, err := k.CurrentVersion(ctx, h, role)
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

// AppRemove is `kamal app remove`: stop, then remove the roles' containers,
// the app images and, on hosts where every role of the app is removed, the
// app and proxy-config directories.
func (k *Session) AppRemove(ctx context.Context) error {
	return k.WithLock(ctx, func(ctx context.Context) error {
		if err := k.AppStop(ctx); err != nil {
			return err
		}
		return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
			roles := k.RolesOn(h)
			var cmds []commands.Cmd
			for _, role := range roles {
				app := commands.NewApp(k.Config, role, h, "")
				cmds = append(cmds, k.Auditor().Record("Removed all app containers", roleTag(role)), app.RemoveContainers())
			}
			if len(roles) == 0 {
				return nil
			}
			first := commands.NewApp(k.Config, roles[0], h, "")
			cmds = append(cmds, k.Auditor().Record("Removed all app images"), first.RemoveImages())
			if err := k.Execute(ctx, h, commands.Combine(cmds...), remote.Info); err != nil {
				return err
			}
			if !k.allRolesOf(h) {
				return nil
			}
			_, err := k.Exec(ctx, h, commands.Chain(
				first.RemoveAppDirectory(),
				commands.RemoveProxyAppDirectory(k.Config),
				k.Auditor().Record("Removed "+commands.AppDirectory(k.Config))),
				remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
			return err
		})
	})
}

// allRolesOf reports whether every role of the app on host is targeted.
func (k *Session) allRolesOf(h string) bool {
	targeted := k.RolesOn(h)
	for _, r := range k.Config.RolesOnHost(h) {
		if !slices.Contains(targeted, r) {
			return false
		}
	}
	return true
}
