package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Defaults of the request body timeout: a body must arrive within the
// timeout plus one second for every DefaultRequestBodyMinRate bytes received,
// so a large upload on a slow link goes through and a client that sends a
// byte every few seconds is cut.
const (
	DefaultRequestBodyTimeout = 30 * time.Second
	DefaultRequestBodyMinRate = 500 // bytes per second
)

var errRequestBodyTimeout = errors.New("timed out reading the request body")

// bodyTimeout arms a read deadline on requests that carry a body and moves
// it on as bytes arrive. The deadline is on the connection (HTTP/1) or the
// stream (HTTP/2, HTTP/3), so a stalled read fails in place.
type bodyTimeout struct {
	next    http.Handler
	timeout time.Duration
	minRate int64
	log     *slog.Logger
	warned  atomic.Bool
}

// withBodyTimeout returns next unchanged when the timeout is off.
func withBodyTimeout(next http.Handler, timeout time.Duration, minRate int64, log *slog.Logger) http.Handler {
	if timeout <= 0 {
		return next
	}
	return &bodyTimeout{next: next, timeout: timeout, minRate: minRate, log: log}
}

func (h *bodyTimeout) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		h.next.ServeHTTP(w, r)
		return
	}
	b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), timeout: h.timeout, minRate: h.minRate}
	if err := b.arm(b.start.Add(h.timeout)); err != nil {
		if !h.warned.Swap(true) {
			h.log.Warn("Request body timeout cannot be enforced on this connection", "proto", r.Proto, "error", err)
		}
		h.next.ServeHTTP(w, r)
		return
	}
	stateOf(r).body = b
	r.Body = b
	h.next.ServeHTTP(w, r)
	b.disarm()
}

// deadlineBody is a request body read under a moving deadline.
type deadlineBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	timeout  time.Duration
	minRate  int64
	received atomic.Int64
	deadline atomic.Int64 // Unix ns of the armed deadline, 0 when none
	timedOut atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	received := b.received.Add(int64(n))
	switch {
	case err == io.EOF:
		b.disarm()
	case err != nil && isTimeout(err):
		b.timedOut.Store(true)
		err = errors.Join(errRequestBodyTimeout, err)
	case n > 0 && b.minRate > 0:
		_ = b.arm(b.start.Add(b.timeout + time.Duration(received)*time.Second/time.Duration(b.minRate)))
	}
	return n, err
}

func (b *deadlineBody) arm(t time.Time) error {
	if err := b.rc.SetReadDeadline(t); err != nil {
		return err
	}
	b.deadline.Store(t.UnixNano())
	return nil
}

// disarm clears the deadline once the body is read or the handler is done,
// so a streamed response or the next request on the connection is not cut.
func (b *deadlineBody) disarm() {
	if b.deadline.Swap(0) != 0 {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

// expired reports whether the body read failed, or is about to, because the
// client was too slow. The deadline is checked too: on HTTP/1 the server
// cancels the request as soon as the read fails, which the forwarding code
// can see before the failed read has returned here.
func (b *deadlineBody) expired() bool {
	if b.timedOut.Load() {
		return true
	}
	d := b.deadline.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// bodyTimedOut reports whether r failed because its body came too slowly.
func bodyTimedOut(r *http.Request) bool {
	b := stateOf(r).body
	return b != nil && b.expired()
}

// writeBodyTimeout answers a client whose body came too slowly with 408.
func writeBodyTimeout(w http.ResponseWriter, r *http.Request, log *slog.Logger) {
	b := stateOf(r).body
	log.Info("Request body timed out", "path", r.URL.Path, "received", b.received.Load(), "elapsed", time.Since(b.start).Round(time.Millisecond).String())
	w.Header().Set("Connection", "close")
	writeErrorPage(w, r, http.StatusRequestTimeout, nil)
}
