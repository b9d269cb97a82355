package deploy

import (
	"context"
)

// Details is `kamal details`: the proxy, app and accessory containers.
func (k *Kamal) Details(ctx context.Context) error {
	if err := k.Proxy.Details(ctx); err != nil {
		return err
	}
	if err := k.Apps.Details(ctx); err != nil {
		return err
	}
	return k.Accessories.Details(ctx, AllAccessories)
}
