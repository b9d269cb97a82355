package server

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// PauseState is running, paused or stopped (persisted as 0, 1, 2).
type PauseState int

const (
	PauseRunning PauseState = iota
	PausePaused
	PauseStopped
)

func (s PauseState) String() string { return [...]string{"running", "paused", "stopped"}[s] }

type pauseAction int

const (
	pauseProceed pauseAction = iota
	pauseWasStopped
	pauseTimedOut
)

// PauseController holds requests while paused and rejects them when stopped.
type PauseController struct {
	mu        sync.Mutex
	state     PauseState
	message   string
	failAfter time.Duration
	changed   chan struct{}
	waiting   atomic.Int64 // requests currently held (observability, tests)
}

// NewPauseController starts in the running state.
func NewPauseController() *PauseController {
	return &PauseController{changed: make(chan struct{})}
}

type pauseJSON struct {
	State     PauseState    `json:"state"`
	Message   string        `json:"stop_message"`
	FailAfter time.Duration `json:"fail_after"`
}

func (p *PauseController) MarshalJSON() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return json.Marshal(pauseJSON{p.state, p.message, p.failAfter})
}

func (p *PauseController) UnmarshalJSON(b []byte) error {
	var v pauseJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.State < PauseRunning || v.State > PauseStopped {
		return errors.New("invalid pause state")
	}
	p.state, p.message, p.failAfter = v.State, v.Message, v.FailAfter
	p.changed = make(chan struct{})
	return nil
}

// State returns the current state.
func (p *PauseController) State() PauseState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *PauseController) set(s PauseState, msg string, failAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.message, p.failAfter = s, msg, failAfter
	close(p.changed)
	p.changed = make(chan struct{})
}

// Pause holds new requests for up to failAfter.
func (p *PauseController) Pause(failAfter time.Duration) { p.set(PausePaused, "", failAfter) }

// Stop rejects every request with a 503 showing msg.
func (p *PauseController) Stop(msg string) { p.set(PauseStopped, msg, 0) }

// Resume goes back to running.
func (p *PauseController) Resume() { p.set(PauseRunning, "", 0) }

// wait returns what to do with a request; it blocks while paused.
func (p *PauseController) wait(done <-chan struct{}) (pauseAction, string) {
	p.mu.Lock()
	state, msg, failAfter, ch := p.state, p.message, p.failAfter, p.changed
	p.mu.Unlock()
	switch state {
	case PauseRunning:
		return pauseProceed, ""
	case PauseStopped:
		return pauseWasStopped, msg
	}
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	timer := time.NewTimer(failAfter)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return pauseTimedOut, ""
		case <-done:
			return pauseTimedOut, ""
		case <-ch:
		}
		p.mu.Lock()
		state, msg, ch = p.state, p.message, p.changed
		p.mu.Unlock()
		switch state {
		case PauseRunning:
			return pauseProceed, ""
		case PauseStopped:
			return pauseWasStopped, msg
		}
	}
}
