package deploy

import (
	"context"
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// scopedTo returns a run limited to hosts (Kamal's with_specific_hosts):
// it shares this run's configuration, output, connections and lock state.
func (k *Kamal) scopedTo(ctx context.Context, hosts []string) (*Kamal, error) {
	x, err := k.connect(ctx)
	if err != nil {
		return nil, err
	}
	o := k.opts
	o.Hosts, o.Primary, o.Executor = hosts, false, x
	sub, err := New(k.Config, o)
	if err != nil {
		return nil, err
	}
	sub.Out = k.Out
	sub.started = k.started
	sub.results = k.results
	sub.exec, sub.connected = x, true // the pre-connect hook ran already
	sub.holdingLock = k.holdsLock()
	return sub, nil
}

// UpgradeOptions tune Upgrade and ProxyUpgrade.
type UpgradeOptions struct {
	Rolling bool // one host at a time
}

// ProxyUpgrade is `kamal proxy upgrade` (after the confirmation): on each
// host (all at once, or one by one) remove a Kamal 1 Traefik and replace
// the proxy (a hand-over, or stop and remove it), then boot kamal-proxy,
// boot the app at its latest tag and prune, between the
// pre/post-proxy-reboot hooks.
func (k *Kamal) ProxyUpgrade(ctx context.Context, o UpgradeOptions) error {
	return k.Lock.With(ctx, func(ctx context.Context) error {
		k.Config.SetVersion(k.Config.LatestTag())
		groups := rollingGroups(k.Hosts(), o.Rolling)
		for _, group := range groups {
			list := strings.Join(group, ",")
			k.Say("Upgrading proxy on %s...", list)
			if err := k.runHook(ctx, "pre-proxy-reboot", commands.Tag{Key: "hosts", Value: list}); err != nil {
				return err
			}
			err := k.On(ctx, group, func(ctx context.Context, h string) error {
				p := commands.NewProxy(k.Config, h)
				if err := k.recordOn(ctx, h, "Rebooted proxy"); err != nil {
					return err
				}
				if err := k.Registry.loginOn(ctx, h, k.Config.Registry); err != nil {
					return err
				}
				k.Out.Infof("Stopping and removing Traefik on %s, if running...", h)
				if _, err := k.Test(ctx, h, commands.CleanupTraefik(), remote.Info); err != nil {
					return err
				}
				// A kamal-proxy of ours hands its traffic to the new one; the
				// boot below then finds it running.
				return k.Proxy.replaceProxyOn(ctx, h, p, commands.Combine(p.RemoveContainer(), p.RemoveImage()))
			})
			if err != nil {
				return err
			}
			sub, err := k.scopedTo(ctx, group)
			if err != nil {
				return err
			}
			if err := sub.Proxy.Boot(ctx); err != nil {
				return err
			}
			// The app reboots on the version it runs: nothing to roll back to.
			if err := sub.Booter.boot(ctx, AppBootOptions{NoRollback: true}); err != nil {
				return err
			}
			if err := sub.Pruner.All(ctx, 0); err != nil {
				return err
			}
			if err := k.runHook(ctx, "post-proxy-reboot", commands.Tag{Key: "hosts", Value: list}); err != nil {
				return err
			}
			k.Say("Upgraded proxy on %s", list)
		}
		return nil
	})
}

// Upgrade is `kamal upgrade` (after the confirmation): move a Kamal 1
// installation to Kamal 2 — Traefik replaced by kamal-proxy, the app
// booted behind it, accessories rebooted onto the kamal network — on all
// hosts at once or one host at a time.
func (k *Kamal) Upgrade(ctx context.Context, o UpgradeOptions) error {
	return k.Lock.With(ctx, func(ctx context.Context) error {
		if !o.Rolling {
			k.Say("Upgrading all hosts...")
			if err := k.ProxyUpgrade(ctx, UpgradeOptions{}); err != nil {
				return err
			}
			if len(k.Config.Accessories) > 0 {
				if err := k.Accessories.Upgrade(ctx, AllAccessories, AccessoryUpgradeOptions{}); err != nil {
					return err
				}
			}
			k.Say("Upgraded all hosts")
			return nil
		}
		appHosts := k.AppHosts()
		for _, h := range k.hosts {
			sub, err := k.scopedTo(ctx, []string{h})
			if err != nil {
				return err
			}
			k.Say("Upgrading %s...", h)
			if slices.Contains(appHosts, h) {
				if err := sub.ProxyUpgrade(ctx, UpgradeOptions{}); err != nil {
					return err
				}
			}
			if slices.Contains(sub.allAccessoryHosts(), h) {
				if err := sub.Accessories.Upgrade(ctx, AllAccessories, AccessoryUpgradeOptions{}); err != nil {
					return err
				}
			}
			k.Say("Upgraded %s", h)
		}
		return nil
	})
}
