package deploy

import (
	"context"
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/dockerapi"
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
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
			return k.step(h, "", "prune", func() error {
				if k.docker(ctx, h) != nil {
					return k.pruneThroughAPI(ctx, h, p, retain)
				}
				return k.Execute(ctx, h, commands.Combine(
					a.Record("Pruned containers"), p.AppContainers(retain),
					a.Record("Pruned images"), p.DanglingImages(), p.TaggedImages()), remote.Info)
			})
		})
	})
}

// pruneThroughAPI is `prune all` on a host reached through the Docker API:
// the same removals as the commands, without a docker process per step;
// the audit lines wait for the host's next session.
func (k *Pruner) pruneThroughAPI(ctx context.Context, h string, p *commands.Prune, retain int) error {
	a := k.auditor()
	service := "label=service=" + k.Config.Service
	if err := k.deferOn(ctx, h, a.Record("Pruned containers"), remote.Info); err != nil {
		return err
	}
	if _, _, err := k.viaAPI(ctx, h, p.AppContainers(retain), remote.Info, func(api *dockerapi.Client) (string, error) {
		stopped, err := api.Containers(ctx, dockerapi.ListOptions{All: true, Filters: []string{service, "status=created", "status=exited", "status=dead"}})
		if err != nil {
			return "", err
		}
		var removed []string
		for _, c := range stopped[min(retain, len(stopped)):] {
			if err := api.Remove(ctx, c.ID, false); err != nil {
				return strings.Join(removed, "\n"), err
			}
			removed = append(removed, shortID(c.ID))
		}
		return strings.Join(removed, "\n"), nil
	}); err != nil {
		return err
	}
	if err := k.deferOn(ctx, h, a.Record("Pruned images"), remote.Info); err != nil {
		return err
	}
	if _, _, err := k.viaAPI(ctx, h, p.DanglingImages(), remote.Info, func(api *dockerapi.Client) (string, error) {
		return "", api.PruneImages(ctx, false, []string{service})
	}); err != nil {
		return err
	}
	_, _, err := k.viaAPI(ctx, h, p.TaggedImages(), remote.Info, func(api *dockerapi.Client) (string, error) {
		return removeUnusedTags(ctx, api, service, []string{k.Config.LatestImage(), k.Config.Repository() + ":<none>"})
	})
	return err
}

// removeUnusedTags removes the tags of the service's images that no
// container of the service uses and that are not among keep; like the
// command's `grep -v -w`, a tag is kept when a used image name appears in
// it as a whole word. The last failed removal is the error, as the
// command's loop reports it.
func removeUnusedTags(ctx context.Context, api *dockerapi.Client, service string, keep []string) (string, error) {
	containers, err := api.Containers(ctx, dockerapi.ListOptions{All: true, Filters: []string{service}})
	if err != nil {
		return "", err
	}
	for _, c := range containers {
		keep = append(keep, c.Image)
	}
	images, err := api.Images(ctx, []string{service})
	if err != nil {
		return "", err
	}
	var removed []string
	var last error
	for _, img := range images {
		for _, tag := range img.RepoTags {
			if tag == "<none>:<none>" || slices.ContainsFunc(keep, func(used string) bool { return containsWord(shortID(img.ID)+" "+tag, used) }) {
				continue
			}
			if last = api.RemoveImage(ctx, tag, false); last == nil {
				removed = append(removed, "Untagged: "+tag)
			}
		}
	}
	return strings.Join(removed, "\n"), last
}

// containsWord reports whether word occurs in line between non-word
// characters (grep -w).
func containsWord(line, word string) bool {
	if word == "" {
		return false
	}
	isWord := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(line[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isWord(line[start-1])) && (end == len(line) || !isWord(line[end])) {
			return true
		}
		i = start + 1
	}
}

// shortID is the 12-character form of an id.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
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
		// On hosts reached through the Docker API this goes with the audit
		// lines still waiting, in one session before the lock is released.
		return k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
			return k.step(h, "", "prune", func() error { return k.deferOn(ctx, h, cmd, remote.Info) })
		})
	})
}
