package deploy

import (
	"context"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// retainOrDefault validates --retain (0 means retain_containers).
func (k *Session) retainOrDefault(retain int) (int, error) {
	if retain == 0 {
		retain = k.Config.RetainContainers
	}
	if retain < 1 {
		return 0, &ArgumentError{"retain must be at least 1"}
	}
	return retain, nil
}

// PruneAll is `kamal prune all`: old containers, then unused images, on
// every targeted host in one command each, under the lock. retain 0 means
// retain_containers.
func (k *Session) PruneAll(ctx context.Context, retain int) error {
	retain, err := k.retainOrDefault(retain)
	if err != nil {
		return err
	}
	p := commands.NewPrune(k.Config)
	a := k.Auditor()
	return k.prune(ctx, commands.Combine(
		a.Record("Pruned containers"), p.AppContainers(retain),
		a.Record("Pruned images"), p.DanglingImages(), p.TaggedImages()))
}

// PruneImages is `kamal prune images`.
func (k *Session) PruneImages(ctx context.Context) error {
	p := commands.NewPrune(k.Config)
	return k.prune(ctx, commands.Combine(k.Auditor().Record("Pruned images"), p.DanglingImages(), p.TaggedImages()))
}

// PruneContainers is `kamal prune containers [--retain N]`.
func (k *Session) PruneContainers(ctx context.Context, retain int) error {
	retain, err := k.retainOrDefault(retain)
	if err != nil {
		return err
	}
	p := commands.NewPrune(k.Config)
	return k.prune(ctx, commands.Combine(k.Auditor().Record("Pruned containers"), p.AppContainers(retain)))
}

func (k *Session) prune(ctx context.Context, cmd commands.Cmd) error {
	return k.WithLock(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
			return k.Execute(ctx, h, cmd, remote.Info)
		})
	})
}
