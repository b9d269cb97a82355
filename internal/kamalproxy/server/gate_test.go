package server

import (
	"testing"
	"time"
)

func TestCommandGate(t *testing.T) {
	g := newCommandGate()
	if err := g.enter(); err != nil {
		t.Fatal(err)
	}
	// A running command keeps a freeze from completing.
	if err := g.freeze(20 * time.Millisecond); err == nil {
		t.Fatal("freeze completed while a command runs")
	}
	froze := make(chan error)
	go func() { froze <- g.freeze(5 * time.Second) }()
	time.Sleep(10 * time.Millisecond)
	g.leave()
	if err := <-froze; err != nil {
		t.Fatalf("freeze after the command ended: %v", err)
	}
	// While frozen, commands wait; closing refuses them.
	entered := make(chan error)
	go func() { entered <- g.enter() }()
	select {
	case err := <-entered:
		t.Fatalf("a command entered a frozen gate: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	g.close("handed over")
	if err := <-entered; err == nil || err.Error() != "handed over" {
		t.Fatalf("command after close: %v", err)
	}

	g = newCommandGate()
	if err := g.freeze(time.Second); err != nil {
		t.Fatal(err)
	}
	go func() { entered <- g.enter() }()
	g.thaw()
	if err := <-entered; err != nil {
		t.Fatalf("command after thaw: %v", err)
	}
}
