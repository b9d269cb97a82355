package deploy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/remote"
)

// fakeClock advances only when the code under test sleeps.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func newFakeKamal(t *testing.T, f *fakeHosts, opts Options) (*Kamal, *bytes.Buffer, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var out bytes.Buffer
	opts.Executor, opts.Stdout, opts.Now, opts.Sleep = f, &out, clock.Now, clock.Sleep
	opts.LookupEnv = func(string) (string, bool) { return "", false }
	opts.SkipHooks = true
	k, err := New(loadConfig(t, multiYAML), opts)
	if err != nil {
		t.Fatal(err)
	}
	return k, &out, clock
}

func TestAcquireLockWhenHeldPrintsHolder(t *testing.T) {
	f := &fakeHosts{}
	f.lockWith("Maintenance")
	k, out, _ := newFakeKamal(t, f, Options{})
	err := k.Lock.Acquire(context.Background(), "mine")
	if !errors.Is(err, ErrLockHeld) || err.Error() != "Deploy lock found. Run 'kamal lock help' for more information" {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"Deploy lock already in place!", "Message: Maintenance"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestAcquireAndReleaseOnPrimaryOnly(t *testing.T) {
	f := &fakeHosts{}
	k, _, _ := newFakeKamal(t, f, Options{})
	ctx := context.Background()
	if err := k.Lock.Acquire(ctx, "deploying"); err != nil {
		t.Fatal(err)
	}
	if !k.holdsLock() || !strings.Contains(f.details, "Message: deploying") || !strings.Contains(f.details, "Version: 999") {
		t.Fatalf("holding=%v details=%q", k.holdsLock(), f.details)
	}
	status, err := k.Lock.Status(ctx)
	if err != nil || !strings.Contains(status, "Message: deploying") {
		t.Fatalf("status = %q, %v", status, err)
	}
	if err := k.Lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k.Lock.Release(ctx); !errors.Is(err, ErrNoLock) {
		t.Fatalf("second release: %v", err)
	}
	if _, err := k.Lock.Status(ctx); !errors.Is(err, ErrNoLock) {
		t.Fatalf("status without lock: %v", err)
	}
	// As in Kamal, acquire creates .kamal on every host (status and
	// release create nothing); the lock itself lives on the primary.
	mkdirs := map[string]int{}
	for _, c := range f.log() {
		if host, ok := strings.CutSuffix(c, ": /usr/bin/env mkdir -p .kamal"); ok {
			mkdirs[host]++
			continue
		}
		if !strings.HasPrefix(c, "1.1.1.1: ") {
			t.Errorf("lock command ran on another host than the primary: %s", c)
		}
	}
	for _, h := range k.Hosts() {
		if mkdirs[h] != 1 {
			t.Errorf("mkdir -p .kamal ran %d times on %s, want once", mkdirs[h], h)
		}
	}
}

func TestCorruptLockDetails(t *testing.T) {
	f := &fakeHosts{}
	f.lockWith("x")
	f.rawDetails = "!!!"
	k, _, _ := newFakeKamal(t, f, Options{})
	_, err := k.Lock.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), ".kamal/lock-app/details") {
		t.Fatalf("err = %v", err)
	}
}

func TestWithLockReleasesAfterFailure(t *testing.T) {
	f := &fakeHosts{}
	k, out, _ := newFakeKamal(t, f, Options{})
	ctx := context.Background()
	err := k.Lock.With(ctx, func(ctx context.Context) error {
		if !f.isLocked() || !k.holdsLock() {
			t.Error("lock not held inside WithLock")
		}
		_, err := k.ExecRaw(ctx, k.PrimaryHost(), "false", remote.ExecOptions{})
		return err
	})
	var ce *remote.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want the command's error", err)
	}
	if f.isLocked() || k.holdsLock() {
		t.Error("lock not released after failure")
	}
	if !strings.Contains(out.String(), "Acquiring the deploy lock...") || !strings.Contains(out.String(), "Releasing the deploy lock...") {
		t.Errorf("output:\n%s", out)
	}
	// run directory created on every host first
	var mkdirs int
	for _, c := range f.log() {
		if strings.HasSuffix(c, "/usr/bin/env mkdir -p .kamal") {
			mkdirs++
		}
	}
	if mkdirs != len(k.Hosts()) {
		t.Errorf("mkdir -p .kamal ran %d times, want %d", mkdirs, len(k.Hosts()))
	}
}

func TestWithLockReleasesAfterCancel(t *testing.T) {
	f := &fakeHosts{}
	k, _, _ := newFakeKamal(t, f, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	err := k.Lock.With(ctx, func(ctx context.Context) error {
		cancel() // Ctrl-C while the step runs
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if f.isLocked() {
		t.Error("lock not released after cancellation")
	}
}

func TestWithLockNestedAndInherited(t *testing.T) {
	f := &fakeHosts{}
	f.lockWith(automatic)
	k, _, _ := newFakeKamal(t, f, Options{})
	k.setHoldingLock(true) // as with KAMAL_LOCK=true from a parent kamal
	ran := false
	if err := k.Lock.With(context.Background(), func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("err=%v ran=%v", err, ran)
	}
	if !f.isLocked() {
		t.Error("an inherited lock was released")
	}
}

const automatic = "Automatic deploy lock"

func TestLockWait(t *testing.T) {
	t.Run("waits for an automatic lock", func(t *testing.T) {
		f := &fakeHosts{}
		f.lockWith(automatic)
		polls := 0
		f.onStatus = func(f *fakeHosts) {
			polls++
			if polls == 3 {
				f.locked = false // called with f.mu held
			}
		}
		k, out, clock := newFakeKamal(t, f, Options{LockWait: true, LockWaitInterval: 15 * time.Second, LockWaitTimeout: 900 * time.Second})
		ran := false
		if err := k.Lock.With(context.Background(), func(context.Context) error { ran = true; return nil }); err != nil {
			t.Fatalf("err = %v\n%s", err, out)
		}
		if !ran || f.isLocked() {
			t.Errorf("ran=%v locked=%v", ran, f.isLocked())
		}
		if len(clock.sleeps) == 0 || clock.sleeps[0] != 15*time.Second {
			t.Errorf("sleeps = %v", clock.sleeps)
		}
	})
	t.Run("does not wait for a manual lock", func(t *testing.T) {
		f := &fakeHosts{}
		f.lockWith("Maintenance window")
		k, _, clock := newFakeKamal(t, f, Options{LockWait: true})
		err := k.Lock.With(context.Background(), func(context.Context) error { t.Error("ran"); return nil })
		if err == nil || err.Error() != "Deploy lock held manually, not waiting. Run 'kamal lock help' for more information" {
			t.Fatalf("err = %v", err)
		}
		if len(clock.sleeps) != 0 {
			t.Errorf("slept %v", clock.sleeps)
		}
		if !f.isLocked() {
			t.Error("someone else's lock was released")
		}
	})
	t.Run("times out", func(t *testing.T) {
		f := &fakeHosts{}
		f.lockWith(automatic)
		k, _, clock := newFakeKamal(t, f, Options{LockWait: true, LockWaitInterval: 10 * time.Second, LockWaitTimeout: 35 * time.Second})
		err := k.Lock.With(context.Background(), func(context.Context) error { t.Error("ran"); return nil })
		if err == nil || err.Error() != "Timed out waiting for deploy lock" {
			t.Fatalf("err = %v", err)
		}
		if len(clock.sleeps) != 4 {
			t.Errorf("sleeps = %v, want 4 intervals within 35s", clock.sleeps)
		}
		if !f.isLocked() {
			t.Error("someone else's lock was released")
		}
	})
	t.Run("a negative timeout (--lock-wait-timeout 0) does not wait", func(t *testing.T) {
		f := &fakeHosts{}
		f.lockWith(automatic)
		k, _, clock := newFakeKamal(t, f, Options{LockWait: true, LockWaitTimeout: -1})
		err := k.Lock.With(context.Background(), func(context.Context) error { t.Error("ran"); return nil })
		if err == nil || err.Error() != "Timed out waiting for deploy lock" {
			t.Fatalf("err = %v", err)
		}
		if len(clock.sleeps) != 0 {
			t.Errorf("slept %v", clock.sleeps)
		}
	})
	t.Run("without --lock-wait fails at once", func(t *testing.T) {
		f := &fakeHosts{}
		f.lockWith(automatic)
		k, _, clock := newFakeKamal(t, f, Options{})
		if err := k.Lock.With(context.Background(), func(context.Context) error { return nil }); !errors.Is(err, ErrLockHeld) {
			t.Fatalf("err = %v", err)
		}
		if len(clock.sleeps) != 0 {
			t.Errorf("slept %v", clock.sleeps)
		}
	})
}
