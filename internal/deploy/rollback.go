package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RollbackOptions tune Rollback.
type RollbackOptions struct {
	// Version to go back to; "" picks the version that ran before the
	// current one (PreviousVersion).
	Version string
	// NoRollback leaves a failed boot as it is, instead of going back to
	// the version that ran before the rollback.
	NoRollback bool
}

// Rollback is `kamal rollback [VERSION]`: boot an existing container's
// version again, between the deploy hooks. Every targeted role on every
// host must still have a container of that version.
func (k *Kamal) Rollback(ctx context.Context, o RollbackOptions) (err error) {
	defer func() { err = k.reportRollback(err) }()
	version := o.Version
	if version == "" {
		v, current, err := k.PreviousVersion(ctx)
		if err != nil {
			return err
		}
		k.Say("Rolling back from %s to %s, the newest older version on every host", current, v)
		version = v
	}
	var runtime time.Duration
	// The version is set first: the lock records it.
	k.Config.SetVersion(version)
	err = k.printRuntime(&runtime, func() error {
		return k.Lock.With(ctx, func(ctx context.Context) error {
			if err := k.requireContainers(ctx, version); err != nil {
				return err
			}
			if err := k.runHook(ctx, "pre-deploy"); err != nil {
				return err
			}
			return k.Booter.boot(ctx, AppBootOptions{NoRollback: o.NoRollback})
		})
	})
	if err != nil {
		return err
	}
	return k.runHook(ctx, "post-deploy", runtimeTag(runtime))
}

// PreviousVersion finds the version to roll back to: the newest version
// older than the one running on the primary host that still exists as a
// container of every targeted role on every host. It returns that
// version and the current one.
func (k *Session) PreviousVersion(ctx context.Context) (version, current string, err error) {
	all, err := k.containerVersions(ctx)
	if err != nil {
		return "", "", err
	}
	return previousVersion(all)
}

// previousVersion picks the version to roll back to from the containers
// of every targeted role on every host (the primary host's first).
func previousVersion(all []roleVersions) (version, current string, err error) {
	if len(all) == 0 {
		return "", "", &ArgumentError{"No app host to roll back"}
	}
	// The first role that runs a version orders the versions.
	ref := all[0]
	for _, rv := range all {
		if rv.current != "" {
			ref = rv
			break
		}
	}
	current = ref.current
	if current == "" {
		return "", "", fmt.Errorf("no version of the app is running on %s, so there is nothing to roll back from; name the version: kamal rollback VERSION", ref.host)
	}
	var older []string
	if i := slices.Index(ref.all, current); i >= 0 {
		older = ref.all[i+1:]
	}
	var candidates []string
	for _, v := range older {
		// Containers renamed aside by a redeploy of their version are not
		// versions of their own.
		if v != current && !strings.Contains(v, "_replaced_") {
			candidates = append(candidates, v)
		}
	}
	if len(candidates) == 0 {
		return "", current, fmt.Errorf("no version older than %s exists as a container of %s (use 'kamal app containers' to see them)", current, ref)
	}
	var missing []string
	for _, v := range candidates {
		var lack []string
		for _, rv := range all {
			if !slices.Contains(rv.all, v) {
				lack = append(lack, rv.String())
			}
		}
		if len(lack) == 0 {
			return v, current, nil
		}
		if len(missing) < 3 {
			missing = append(missing, fmt.Sprintf("%s is missing for %s", v, strings.Join(lack, ", ")))
		}
	}
	return "", current, fmt.Errorf("no version older than %s exists as a container on every host: %s (use 'kamal app containers' to see them)", current, strings.Join(missing, "; "))
}

// requireContainers fails, naming them, unless every targeted role on
// every app host has a container of version.
func (k *Kamal) requireContainers(ctx context.Context, version string) error {
	missing, err := k.missingContainers(ctx, version)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		//lint:ignore ST1005 Kamal's message, word for word, with where it is missing
		return fmt.Errorf("The app version '%s' is not available as a container for %s (use 'kamal app containers' for available versions)", version, strings.Join(missing, ", "))
	}
	return nil
}
