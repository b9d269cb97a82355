package deploy

import (
	"context"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// AppDetails is `kamal app details`: `docker ps` of each role's
// containers on each app host.
func (k *Session) AppDetails(ctx context.Context) error {
	return k.On(ctx, k.AppHosts(), func(ctx context.Context, h string) error {
		for _, role := range k.RolesOn(h) {
			out, err := k.Capture(ctx, h, commands.NewApp(k.Config, role, h, "").Info(), remote.Info)
			if err != nil {
				return err
			}
			k.PutsByHost("App", h, out)
		}
		return nil
	})
}

// Details is `kamal details`: the proxy, app and accessory containers.
func (k *Kamal) Details(ctx context.Context) error {
	if err := k.ProxyDetails(ctx); err != nil {
		return err
	}
	if err := k.AppDetails(ctx); err != nil {
		return err
	}
	return k.Accessories.Details(ctx, AllAccessories)
}
