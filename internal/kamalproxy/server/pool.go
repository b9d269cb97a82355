package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a set of writer and reader targets that is deployed, swapped and
// drained as a unit.
type Pool struct {
	writers []*Target
	readers []*Target

	affinityTimeout time.Duration
	readersAcceptWS bool

	mu       sync.Mutex
	ready    chan struct{} // closed once every target has passed a check
	isReady  bool
	healthyW atomic.Pointer[[]*Target]
	healthyR atomic.Pointer[[]*Target]
	rr       atomic.Uint64
}

// NewPool builds targets for the given addresses.
func NewPool(writers, readers []string, so ServiceOptions, to TargetOptions, log *slog.Logger) (*Pool, error) {
	p := &Pool{affinityTimeout: so.WriterAffinityTimeout, readersAcceptWS: so.ReadTargetsAcceptWebsockets, ready: make(chan struct{})}
	for _, a := range writers {
		t, err := NewTarget(a, false, to, log)
		if err != nil {
			return nil, err
		}
		t.onChange = p.refresh
		p.writers = append(p.writers, t)
	}
	for _, a := range readers {
		t, err := NewTarget(a, true, to, log)
		if err != nil {
			return nil, err
		}
		t.onChange = p.refresh
		p.readers = append(p.readers, t)
	}
	p.refresh()
	return p, nil
}

func (p *Pool) all() []*Target {
	return append(append([]*Target(nil), p.writers...), p.readers...)
}

// WriterNames and ReaderNames list addresses for state and `list`.
func (p *Pool) WriterNames() []string { return names(p.writers) }
func (p *Pool) ReaderNames() []string { return names(p.readers) }

func names(ts []*Target) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.addr)
	}
	return out
}

func (p *Pool) refresh() {
	p.mu.Lock()
	defer p.mu.Unlock()
	w, allW := healthySet(p.writers)
	r, allR := healthySet(p.readers)
	p.healthyW.Store(&w)
	p.healthyR.Store(&r)
	if allW && allR && !p.isReady {
		p.isReady = true
		close(p.ready)
	}
}

// healthySet returns the targets to use. When none is healthy, targets that
// have passed a check before stay in use (fail open) so a single flaky check
// does not take a whole service down.
func healthySet(ts []*Target) ([]*Target, bool) {
	var out []*Target
	all := true
	for _, t := range ts {
		if t.usable() {
			out = append(out, t)
		} else {
			all = false
		}
	}
	if len(out) == 0 {
		for _, t := range ts {
			if t.fallbackUsable() {
				out = append(out, t)
			}
		}
	}
	return out, all
}

// StartHealthChecks begins probing every target.
func (p *Pool) StartHealthChecks() {
	for _, t := range p.all() {
		t.startHealthChecks()
	}
}

// MarkAllHealthy trusts every target (used when restoring state).
func (p *Pool) MarkAllHealthy() {
	for _, t := range p.all() {
		t.markHealthy()
	}
}

// WaitHealthy blocks until every target is healthy or ctx ends.
func (p *Pool) WaitHealthy(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop ends health checks without draining (used for discarded pools).
func (p *Pool) Stop() {
	for _, t := range p.all() {
		t.stop()
	}
}

// Drain permanently drains every target concurrently.
func (p *Pool) Drain(timeout time.Duration) { p.drain(timeout, true) }

// WaitIdle waits for in-flight requests without retiring the targets.
func (p *Pool) WaitIdle(timeout time.Duration) { p.drain(timeout, false) }

func (p *Pool) drain(timeout time.Duration, permanent bool) {
	var wg sync.WaitGroup
	for _, t := range p.all() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.drain(timeout, permanent)
		}()
	}
	wg.Wait()
}

func (p *Pool) isRead(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if isUpgrade(r) && !p.readersAcceptWS {
		return false
	}
	return true
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

const writerCookie = "kamal-writer"

func (p *Pool) hasAffinity(r *http.Request) bool {
	c, err := r.Cookie(writerCookie)
	if err != nil {
		return false
	}
	ms, err := strconv.ParseInt(c.Value, 10, 64)
	return err == nil && time.UnixMilli(ms).After(time.Now())
}

// pick chooses a target for r; st records whether the response should set
// the writer-affinity cookie.
func (p *Pool) pick(r *http.Request, st *reqState) *Target {
	readers := *p.healthyR.Load()
	if len(p.readers) > 0 && len(readers) > 0 && p.isRead(r) && !(p.affinityTimeout > 0 && p.hasAffinity(r)) {
		return readers[int(p.rr.Add(1)%uint64(len(readers)))]
	}
	if len(p.readers) > 0 && p.affinityTimeout > 0 && !p.isRead(r) && len(*p.healthyW.Load()) > 0 {
		st.setAffinity = true
		st.affinityUntil = time.Now().Add(p.affinityTimeout)
	}
	return p.pickWriter()
}

// pickWriter chooses a healthy writer, round robin; nil when none is.
func (p *Pool) pickWriter() *Target {
	writers := *p.healthyW.Load()
	if len(writers) == 0 {
		return nil
	}
	if len(writers) == 1 {
		return writers[0]
	}
	return writers[int(p.rr.Add(1)%uint64(len(writers)))]
}
