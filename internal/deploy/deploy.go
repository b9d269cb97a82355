package deploy

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
)

// DeployOptions tune Deploy, Redeploy and Setup.
type DeployOptions struct {
	SkipPush bool // -P: pull the already pushed version
	NoCache  bool // --no-cache
	// NoRollback (--no-rollback) leaves a failed boot as it is instead of
	// rolling every host back to the version that ran before.
	NoRollback bool
}

func (o DeployOptions) boot() AppBootOptions { return AppBootOptions{NoRollback: o.NoRollback} }

// Deploy is `kamal deploy`: build and deliver the image (before the lock),
// then under the lock the pre-deploy hook, proxy boot, stale container
// stop, app boot and prune; then the post-deploy hook with KAMAL_RUNTIME.
func (k *Kamal) Deploy(ctx context.Context, o DeployOptions) error {
	return k.reportRollback(k.deploy(ctx, o, false))
}

func (k *Kamal) deploy(ctx context.Context, o DeployOptions, bootAccessories bool) error {
	var runtime time.Duration
	err := k.printRuntime(&runtime, func() error {
		if err := k.deliver(ctx, o); err != nil {
			return err
		}
		return k.Lock.With(ctx, func(ctx context.Context) error {
			if err := k.runHook(ctx, "pre-deploy"); err != nil {
				return err
			}
			k.Say("Ensure kamal-proxy is running...")
			if err := k.Proxy.Boot(ctx); err != nil {
				return err
			}
			if bootAccessories {
				if err := k.Accessories.Boot(ctx, AllAccessories); err != nil {
					return err
				}
			}
			k.Say("Detect stale containers...")
			if err := k.Apps.StaleContainers(ctx, true); err != nil {
				return err
			}
			// The boot step: every role on every host (boot.go).
			if err := k.Booter.boot(ctx, o.boot()); err != nil {
				return err
			}
			k.Say("Prune old containers and images...")
			return k.Pruner.All(ctx, 0)
		})
	})
	if err != nil {
		return err
	}
	return k.runHook(ctx, "post-deploy", runtimeTag(runtime))
}

func (k *Kamal) deliver(ctx context.Context, o DeployOptions) error {
	if o.SkipPush {
		k.Say("Pull app image...")
		return k.Builder.Pull(ctx)
	}
	k.Say("Build and push app image...")
	return k.Builder.Deliver(ctx, BuildOptions{NoCache: o.NoCache})
}

func runtimeTag(d time.Duration) commands.Tag {
	return commands.Tag{Key: "runtime", Value: fmt.Sprintf("%d", int(math.Round(d.Seconds())))}
}

// printRuntime runs fn and prints how long it took, also when it fails.
func (k *Kamal) printRuntime(runtime *time.Duration, fn func() error) error {
	start := k.opts.Now()
	err := fn()
	*runtime = k.opts.Now().Sub(start)
	k.Say("  Finished all in %.1f seconds", runtime.Seconds())
	return err
}

// Redeploy is `kamal redeploy`: deploy without proxy boot and prune.
func (k *Kamal) Redeploy(ctx context.Context, o DeployOptions) (err error) {
	defer func() { err = k.reportRollback(err) }()
	var runtime time.Duration
	err = k.printRuntime(&runtime, func() error {
		if err := k.deliver(ctx, o); err != nil {
			return err
		}
		return k.Lock.With(ctx, func(ctx context.Context) error {
			if err := k.runHook(ctx, "pre-deploy"); err != nil {
				return err
			}
			k.Say("Detect stale containers...")
			if err := k.Apps.StaleContainers(ctx, true); err != nil {
				return err
			}
			return k.Booter.boot(ctx, o.boot())
		})
	})
	if err != nil {
		return err
	}
	return k.runHook(ctx, "post-deploy", runtimeTag(runtime))
}

// Setup is `kamal setup`: under the lock, bootstrap the servers, then
// deploy with the accessories booted.
func (k *Kamal) Setup(ctx context.Context, o DeployOptions) (err error) {
	defer func() { err = k.reportRollback(err) }()
	var runtime time.Duration
	return k.printRuntime(&runtime, func() error {
		return k.Lock.With(ctx, func(ctx context.Context) error {
			k.Say("Ensure Docker is installed...")
			if err := k.Servers.Bootstrap(ctx); err != nil {
				return err
			}
			return k.deploy(ctx, o, true)
		})
	})
}
