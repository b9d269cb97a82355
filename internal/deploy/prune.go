package deploy

import (
	"context"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// Pruner is `kamal prune`: old containers and unused images of the app.
type Pruner struct {
	*Session
	lock *Lock
}

// retainOrDefault validates --retain (0 means retain_containers).
func (k *Pruner) retainOrDefault(retain int) (int, error) {
	if retain == 0 {
		retain = k.Config.RetainContainers
	}
	if retain < 1 {
		return 0, &ArgumentError{"retain must be at least 1"}
	}
	return retain, nil
}

// All is `kamal prune all`: old containers, then unused images, on
// every targeted host in one command each, under the lock. retain 0 means
// retain_containers.
func (k *Pruner) All(ctx context.Context, retain int) error {
	retain, err := k.retainOrDefault(retain)
	if err != nil {
		return err
	}
	p := commands.NewPrune(k.Config)
	a := k.auditor()
	return k.prune(ctx, commands.Combine(
		a.Record("Pruned containers"), p.AppContainers(retain),
		a.Record("Pruned images"), p.DanglingImages(), p.TaggedImages()))
}

// Images is `kamal prune images`.
func (k *Pruner) Images(ctx context.Context) error {
	p := commands.NewPrune(k.Config)
	return k.prune(ctx, commands.Combine(k.auditor().Record("Pruned images"), p.DanglingImages(), p.TaggedImages()))
}

// Containers is `kamal prune containers [--retain N]`.
func (k *Pruner) Containers(ctx context.Context, retain int) error {
	retain, err := k.retainOrDefault(retain)
	if err != nil {
		return err
	}
	p := commands.NewPrune(k.Config)
	return k.prune(ctx, commands.Combine(k.auditor().Record("Pruned containers"), p.AppContainers(retain)))
}

func (k *Pruner) prune(ctx context.Context, cmd commands.Cmd) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
			return k.step(h, "", "prune", func() error { return k.Execute(ctx, h, cmd, remote.Info) })
		})
	})
}
