package deploy

import (
	"context"
)

// Remove is `kamal remove` (after the confirmation): under the lock, the
// app (containers, images, directories), the proxy unless other apps use
// it, the accessories, and the registry login on the hosts.
func (k *Kamal) Remove(ctx context.Context) error {
	return k.Lock.With(ctx, func(ctx context.Context) error {
		if err := k.Apps.Remove(ctx); err != nil {
			return err
		}
		if err := k.Proxy.Remove(ctx, ProxyRemoveOptions{}); err != nil {
			return err
		}
		if err := k.Accessories.Remove(ctx, AllAccessories); err != nil {
			return err
		}
		return k.Registry.Remove(ctx, RegistryOptions{SkipLocal: true})
	})
}
