package remote

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// HostError is a failure of a step on one host.
type HostError struct {
	Host string
	Err  error
}

func (e *HostError) Error() string {
	return fmt.Sprintf("Exception while executing on host %s: %s", e.Host, e.Err)
}

func (e *HostError) Unwrap() error { return e.Err }

// HostErrors aggregates failures on several hosts, in host order.
type HostErrors []*HostError

func (e HostErrors) Error() string {
	lines := make([]string, 0, len(e)+1)
	lines = append(lines, fmt.Sprintf("Exceptions on %d hosts:", len(e)))
	for _, he := range e {
		lines = append(lines, he.Error())
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes every host's error to errors.Is/As.
func (e HostErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, he := range e {
		out[i] = he
	}
	return out
}

// Runner runs one step on many hosts at once, like SSHKit's parallel
// runner with Kamal's "complete all" patch: every host runs to the end even
// when others fail, then the failures are reported together.
type Runner struct {
	// Redactor, if set, is applied to the aggregated error message.
	Redactor *Redactor
	// Limit bounds how many hosts run at once; 0 means all of them (one
	// goroutine per host, as Kamal does).
	Limit int
}

// On runs fn for every host in parallel and waits for all. It returns nil,
// a *HostError when exactly one host failed (Kamal re-raises that error as
// is), or HostErrors when several did.
func (r *Runner) On(ctx context.Context, hosts []string, fn func(ctx context.Context, host string) error) error {
	errs := make([]error, len(hosts))
	var sem chan struct{}
	if r != nil && r.Limit > 0 {
		sem = make(chan struct{}, r.Limit)
	}
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sem != nil {
				sem <- struct{}{}
				defer func() { <-sem }()
			}
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			errs[i] = fn(ctx, h)
		}()
	}
	wg.Wait()
	var failed HostErrors
	for i, err := range errs {
		if err != nil {
			if r != nil && r.Redactor != nil {
				err = r.Redactor.Error(err)
			}
			failed = append(failed, &HostError{Host: hosts[i], Err: err})
		}
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return failed[0]
	default:
		return failed
	}
}

// Parallel is (&Runner{}).On.
func Parallel(ctx context.Context, hosts []string, fn func(ctx context.Context, host string) error) error {
	return (&Runner{}).On(ctx, hosts, fn)
}
