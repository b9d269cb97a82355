package server

import (
	"errors"
	"testing"
	"time"
)

// TestCertFailuresBackOff: a failure is news once per attempt (handshakes
// that waited on the same attempt neither log again nor lengthen the wait),
// the wait doubles from one attempt to the next up to the maximum, and a
// success forgets it.
func TestCertFailuresBackOff(t *testing.T) {
	f := newCertFailures()
	if _, failed := f.failed("a.test"); failed {
		t.Fatal("fresh name failed")
	}
	boom := errors.New("boom")
	if wait, news := f.record("a.test", boom); wait != acmeRetryFirst || !news {
		t.Fatalf("first failure: %s %v", wait, news)
	}
	if wait, news := f.record("a.test", boom); news || wait > acmeRetryFirst {
		t.Fatalf("same attempt again: %s %v", wait, news)
	}
	if err, failed := f.failed("a.test"); !failed || err != boom {
		t.Fatalf("failed = %v %v", err, failed)
	}
	// The retry is due: the next failure doubles the wait, up to the maximum.
	for _, want := range []time.Duration{2 * acmeRetryFirst, 4 * acmeRetryFirst, 8 * acmeRetryFirst, acmeRetryMax, acmeRetryMax} {
		f.mu.Lock()
		c := f.names["a.test"]
		c.retryAt = time.Now().Add(-time.Second)
		f.names["a.test"] = c
		f.mu.Unlock()
		if _, failed := f.failed("a.test"); failed {
			t.Fatal("a due retry still counts as failed")
		}
		if wait, news := f.record("a.test", boom); wait != want || !news {
			t.Fatalf("wait %s %v, want %s", wait, news, want)
		}
	}
	if !f.clear("a.test") || f.clear("a.test") {
		t.Fatal("clear")
	}
	if _, failed := f.failed("a.test"); failed {
		t.Fatal("cleared name failed")
	}
}
