package server

import (
	"errors"
	"sync"
	"time"
)

// commandGate lets the commands that change routing run, except while the
// traffic is handed over (they wait, so that the state the new process
// reads is final) and after it (they are refused: the new process owns the
// state).
type commandGate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running int
	frozen  bool
	closed  string // why commands are refused; "" while open
}

func newCommandGate() *commandGate {
	g := &commandGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter admits one command; leave must follow.
func (g *commandGate) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.frozen && g.closed == "" {
		g.cond.Wait()
	}
	if g.closed != "" {
		return errors.New(g.closed)
	}
	g.running++
	return nil
}

func (g *commandGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	g.cond.Broadcast()
}

// freeze holds new commands and waits up to timeout for running ones.
func (g *commandGate) freeze(timeout time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frozen = true
	expired := false
	t := time.AfterFunc(timeout, func() {
		g.mu.Lock()
		expired = true
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	defer t.Stop()
	for g.running > 0 && !expired {
		g.cond.Wait()
	}
	if g.running > 0 {
		g.frozen = false
		g.cond.Broadcast()
		return errors.New("a command (deploy, rollout...) is still running; try again when it is done")
	}
	return nil
}

// thaw admits commands again after a freeze.
func (g *commandGate) thaw() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frozen = false
	g.cond.Broadcast()
}

// close refuses every command from now on, with reason.
func (g *commandGate) close(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = reason
	g.frozen = false
	g.cond.Broadcast()
}
