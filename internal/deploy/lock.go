package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// Lock is the deploy lock on the primary host (`kamal lock`, and the
// automatic lock that With takes around every orchestration that changes
// the servers, waiting for it with --lock-wait).
type Lock struct {
	*Session
}

// LockError is raised when the deploy lock cannot be taken.
type LockError struct{ Msg string }

func (e *LockError) Error() string { return e.Msg }

// Kind names the error in kamal's `ERROR (<Kind>)` line.
func (e *LockError) Kind() string { return "Kamal::Cli::LockError" }

// ErrLockHeld is the error when another run holds the lock.
var ErrLockHeld = &LockError{"Deploy lock found. Run 'kamal lock help' for more information"}

// ErrNoLock is returned by LockStatus and ReleaseLock when there is no lock.
//
//lint:ignore ST1005 Kamal's message, word for word
var ErrNoLock = errors.New("There is no deploy lock")

// Messages mkdir prints when the lock directory exists (GNU, BusyBox).
var lockExistsOutput = []string{"cannot create directory", "can't create directory"}

// Messages printed when the lock directory or its details file is missing.
var noLockOutput = []string{"No such file or directory", "can't open", "can't stat"}

// ensureRunDirectory runs `mkdir -p .kamal` on hosts.
func (k *Lock) ensureRunDirectory(ctx context.Context, hosts []string) error {
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		return k.deferOn(ctx, h, commands.EnsureRunDirectory(), remote.Info)
	})
}

// Acquire takes the lock on the primary host with message, after creating
// .kamal on every host, as Kamal does. When it is held by someone else it
// prints the holder's details and returns ErrLockHeld.
func (k *Lock) Acquire(ctx context.Context, message string) error {
	if err := k.ensureRunDirectory(ctx, k.hosts); err != nil {
		return err
	}
	return k.tryLock(ctx, message)
}

func (k *Lock) tryLock(ctx context.Context, message string) error {
	version, err := k.Version()
	if err != nil {
		return err
	}
	lock := commands.NewLock(k.Config)
	details := commands.LockDetails(k.lockedBy(), k.opts.Now(), version, message)
	err = k.On(ctx, []string{k.primaryHost}, func(ctx context.Context, h string) error {
		return k.Execute(ctx, h, lock.Acquire(details), remote.Debug)
	})
	if err == nil {
		k.setHoldingLock(true)
		k.Out.Lock("acquired", k.primaryHost, message)
		return nil
	}
	if !commandFailedWith(err, lockExistsOutput...) {
		return err
	}
	k.Say("Deploy lock already in place!")
	if status, serr := k.Status(ctx); serr == nil {
		k.Puts(status)
	} else if !errors.Is(serr, ErrNoLock) {
		k.Say("%s", serr)
	}
	return ErrLockHeld
}

// Release removes the lock on the primary host; ErrNoLock when there is none.
func (k *Lock) Release(ctx context.Context) error {
	lock := commands.NewLock(k.Config)
	err := k.On(ctx, []string{k.primaryHost}, func(ctx context.Context, h string) error {
		return k.Execute(ctx, h, lock.Release(), remote.Debug)
	})
	if commandFailedWith(err, noLockOutput...) {
		// A lock directory without details (an acquire interrupted between
		// mkdir and writing the file) would block every deploy: remove it.
		exists, terr := k.Test(ctx, k.primaryHost, lock.Exists(), remote.Debug)
		if terr != nil || !exists {
			return ErrNoLock
		}
		if err := k.Execute(ctx, k.primaryHost, lock.RemoveDir(), remote.Debug); err != nil {
			return err
		}
		err = nil
	}
	if err == nil {
		k.setHoldingLock(false)
		k.Out.Lock("released", k.primaryHost, "")
	}
	return err
}

// Status returns the decoded details of the lock; ErrNoLock when
// there is none. Details that do not decode give a clear error naming the
// file, since only a manual release can clear such a lock.
func (k *Lock) Status(ctx context.Context) (string, error) {
	lock := commands.NewLock(k.Config)
	var out string
	err := k.On(ctx, []string{k.primaryHost}, func(ctx context.Context, h string) error {
		var err error
		out, err = k.capture(ctx, h, lock.Status(), remote.Debug)
		return err
	})
	switch {
	case err == nil && out == "":
		// cat failed (no details file) or the file is empty; the pipeline
		// still succeeds because base64 decodes nothing.
		return "", fmt.Errorf("the deploy lock %s on %s has no details file (or it is empty); if no deploy is running, remove the lock with `kamal lock release`",
			lock.Dir(), k.primaryHost)
	case err == nil:
		if _, ok := commands.LockMessage(out); !ok {
			return out, fmt.Errorf("the deploy lock details in %s on %s are not in the expected format (%q); if no deploy is running, remove the lock with `kamal lock release`",
				lock.DetailsFile(), k.primaryHost, truncate(out, 80))
		}
		return out, nil
	case commandFailedWith(err, noLockOutput...):
		return "", ErrNoLock
	case commandFailedWith(err, "base64", "invalid"):
		return "", fmt.Errorf("the deploy lock details in %s on %s are corrupt (not base64); if no deploy is running, remove the lock with `kamal lock release`",
			lock.DetailsFile(), k.primaryHost)
	default:
		return "", err
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// With runs fn holding the deploy lock: it takes the lock (waiting
// for it with --lock-wait), runs fn, and releases the lock, also when fn
// fails or ctx is cancelled (Ctrl-C). When the lock is already held by
// this run or inherited (KAMAL_LOCK=true), fn simply runs.
func (k *Lock) With(ctx context.Context, fn func(ctx context.Context) error) error {
	if k.holdsLock() {
		return fn(ctx)
	}
	if err := k.acquireAutomaticLock(ctx); err != nil {
		return err
	}
	err := fn(ctx)
	// Release even when ctx was cancelled: the lock must not outlive us.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockReleaseTimeout)
	defer cancel()
	// What waited for a session (audit lines, prune) runs before the lock
	// goes.
	if ferr := k.flushDeferred(rctx, k.allDeferred()); err == nil {
		err = ferr
	}
	k.Say("Releasing the deploy lock...")
	if rerr := k.Release(rctx); rerr != nil {
		if err != nil {
			k.Say("Error releasing the deploy lock: %s", rerr)
			return err
		}
		return rerr
	}
	return err
}

// lockReleaseTimeout bounds the release after an interruption.
const lockReleaseTimeout = time.Minute

func (k *Lock) acquireAutomaticLock(ctx context.Context) error {
	if err := k.ensureRunDirectory(ctx, k.hosts); err != nil {
		return err
	}
	deadline := k.opts.Now().Add(k.opts.LockWaitTimeout)
	for {
		k.Say("Acquiring the deploy lock...")
		err := k.tryLock(ctx, commands.AutomaticLockMessage)
		if !errors.Is(err, ErrLockHeld) || !k.opts.LockWait {
			return err
		}
		status, serr := k.Status(ctx)
		switch {
		case errors.Is(serr, ErrNoLock):
			continue // released meanwhile: try again at once
		case serr != nil:
			return serr
		}
		if msg, _ := commands.LockMessage(status); msg != commands.AutomaticLockMessage {
			return &LockError{"Deploy lock held manually, not waiting. Run 'kamal lock help' for more information"}
		}
		if !k.opts.Now().Before(deadline) {
			return &LockError{"Timed out waiting for deploy lock"}
		}
		k.Say("Waiting %d seconds for the deploy lock to be released...", int(k.opts.LockWaitInterval.Seconds()))
		if err := k.opts.Sleep(ctx, k.opts.LockWaitInterval); err != nil {
			return err
		}
	}
}
