package testhosts

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// acquireLock takes an exclusive flock on path, waiting while another
// process holds it. The kernel drops the lock when the holder dies, so a
// killed run never blocks the next one.
func acquireLock(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testhosts: opening lock %s: %w", path, err)
	}
	// flock cannot be interrupted by a context; retrying a non-blocking
	// attempt keeps cancellation working while another run finishes.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for announced := false; ; announced = true {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("testhosts: locking %s: %w", path, err)
		}
		if !announced {
			// Say why a test run seems to hang.
			fmt.Fprintf(os.Stderr, "testhosts: another environment is up (lock %s); waiting for it\n", path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("testhosts: waiting for another environment to finish (lock %s): %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}
