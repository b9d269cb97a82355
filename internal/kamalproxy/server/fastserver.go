package server

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The fast loop serves plain-HTTP connections itself as long as they carry
// simple requests: HTTP/1.1 requests without a body to a service that only
// forwards (fasthead.go, fastforward.go). net/http's server costs more CPU
// per request than the whole forwarding (a goroutine and a read beside
// every request, several deadline changes, header maps), and this is most
// of the proxy's traffic. The first request it does not serve, and all
// after it on that connection, go to the standard net/http server: the
// connection is handed over with the bytes already read replayed
// (handoffConn). TLS (HTTPS, HTTP/2) never comes here.

// fastServer accepts on a listener, runs the fast loop on each connection
// and hands connections to net/http through the listener Listener returns.
type fastServer struct {
	ln                net.Listener
	router            *Router
	log               *slog.Logger
	metrics           *Metrics
	port              int
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration

	handoffs  chan *handoffConn
	done      chan struct{} // closed with the listener net/http accepts from
	doneOnce  sync.Once
	lnOnce    sync.Once
	acceptErr error // why accepting failed, set before done is closed
	started   atomic.Bool
	accepted  chan struct{} // closed when serve stops accepting

	mu          sync.Mutex
	conns       map[*fastConn]struct{}
	down        atomic.Bool // shutting down: the listener is closed
	closed      atomic.Bool // closed: a connection accepted still is closed at once
	noKeepAlive atomic.Bool // each connection ends after its current request

	// connState, if set, hears of the connections handed to net/http
	// before net/http has them (StateNew), and of those it never got
	// (StateClosed): http.Server.ConnState reports the rest.
	connState func(net.Conn, http.ConnState)
}

func newFastServer(ln net.Listener, r *Router, log *slog.Logger, m *Metrics, port int, readHeaderTimeout, idleTimeout time.Duration) *fastServer {
	return &fastServer{
		ln: ln, router: r, log: log, metrics: m, port: port,
		readHeaderTimeout: readHeaderTimeout, idleTimeout: idleTimeout,
		handoffs: make(chan *handoffConn), done: make(chan struct{}), accepted: make(chan struct{}),
		conns: map[*fastConn]struct{}{},
	}
}

// listener is what net/http serves: the connections handed over.
func (s *fastServer) listener() net.Listener { return handoffListener{s} }

// connContext makes a handed-over request's pending exchange visible to
// the handlers (http.Server.ConnContext).
func (s *fastServer) connContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*handoffConn); ok && hc.pending != nil {
		return context.WithValue(ctx, pendingKey{}, hc.pending)
	}
	return ctx
}

// serve accepts connections until the listener closes.
func (s *fastServer) serve() {
	s.started.Store(true)
	defer close(s.accepted)
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.down.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// As net/http: wait and try again.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Error("Accept error; retrying", "error", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			s.acceptErr = err
			s.closeDone()
			return
		}
		delay = 0
		fc := &fastConn{s: s, conn: c, accepted: time.Now()}
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[fc] = struct{}{}
		s.mu.Unlock()
		go fc.serve()
	}
}

func (s *fastServer) closeDone() { s.doneOnce.Do(func() { close(s.done) }) }

func (s *fastServer) closeListener() error {
	var err error
	s.lnOnce.Do(func() { err = s.ln.Close() })
	return err
}

func (s *fastServer) forget(fc *fastConn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
}

// handOver passes a connection to net/http, or closes it when net/http
// no longer accepts.
func (s *fastServer) handOver(c *handoffConn) {
	if s.connState != nil {
		s.connState(c, http.StateNew)
	}
	select {
	case s.handoffs <- c:
	case <-s.done:
		c.Close()
		if s.connState != nil {
			s.connState(c, http.StateClosed)
		}
	}
}

// stopKeepAlives ends every connection after its current request and
// closes the idle ones, as http.Server.SetKeepAlivesEnabled(false) does;
// connections keep being accepted and their first request answered.
func (s *fastServer) stopKeepAlives() {
	s.noKeepAlive.Store(true)
	s.closeIdle()
}

// Shutdown stops accepting, closes idle connections and waits for the
// others to finish their request, as http.Server.Shutdown does.
func (s *fastServer) Shutdown(ctx context.Context) error {
	s.down.Store(true)
	s.noKeepAlive.Store(true)
	s.closeListener()
	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		// A connection accepted just before the listener closed is
		// served, as net/http does: it counts once the accept loop ends.
		ended := !s.started.Load()
		select {
		case <-s.accepted:
			ended = true
		default:
		}
		if s.closeIdle() && ended {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			wait = min(2*wait, 500*time.Millisecond)
			timer.Reset(wait)
		}
	}
}

// closeIdle closes the connections waiting for a request (new ones after
// 5 s, as net/http) and reports whether none is left.
func (s *fastServer) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for fc := range s.conns {
		st := fc.state.Load()
		if st == connNew && time.Since(fc.accepted) < 5*time.Second {
			continue
		}
		if (st == connIdle || st == connNew) && fc.state.CompareAndSwap(st, connClosing) {
			fc.conn.Close()
		}
	}
	return len(s.conns) == 0
}

// Close closes the listener and every connection at once.
func (s *fastServer) Close() error {
	s.down.Store(true)
	s.noKeepAlive.Store(true)
	err := s.closeListener()
	s.mu.Lock()
	s.closed.Store(true)
	for fc := range s.conns {
		fc.state.Store(connClosing)
		fc.conn.Close()
	}
	s.mu.Unlock()
	return err
}

// handoffListener gives net/http the connections the fast loop hands over.
type handoffListener struct{ s *fastServer }

func (l handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.s.handoffs:
		return c, nil
	case <-l.s.done:
		if l.s.acceptErr != nil {
			return nil, l.s.acceptErr
		}
		return nil, net.ErrClosed
	}
}

func (l handoffListener) Close() error {
	l.s.closeDone()
	return l.s.closeListener()
}

func (l handoffListener) Addr() net.Addr { return l.s.ln.Addr() }

// handoffConn is a connection net/http takes over: it first reads what the
// fast loop had read and not served.
type handoffConn struct {
	net.Conn
	replay  []byte
	pending *pendingExchange // the first request's exchange, if started
}

func (c *handoffConn) Read(p []byte) (int, error) {
	if len(c.replay) > 0 {
		n := copy(p, c.replay)
		c.replay = c.replay[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *handoffConn) Close() error {
	if c.pending != nil {
		c.pending.release()
	}
	return c.Conn.Close()
}

// CloseWrite lets net/http end an error response gracefully.
func (c *handoffConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Connection states, as net/http counts them for a shutdown.
const (
	connNew     int32 = iota // no request yet
	connIdle                 // waiting for the next request
	connActive               // serving a request
	connClosing              // closed by a shutdown
)

var errHandOver = errors.New("hand the connection to net/http")

// fastConn is one connection in the fast loop.
type fastConn struct {
	s        *fastServer
	conn     net.Conn
	accepted time.Time
	state    atomic.Int32
	br       *bufio.Reader
	bw       *bufio.Writer // nil between requests
	deadline time.Time     // the read deadline set on conn
	watch    clientWatch

	clientAddr, clientPort string
	clientIP               string // "" when the address has no port
}

var (
	fastReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	fastWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// Read is what the connection's reader reads from: a byte the client
// watch has read first, then the connection.
func (fc *fastConn) Read(p []byte) (int, error) {
	if w := &fc.watch; w.hasExtra && len(p) > 0 {
		p[0], w.hasExtra = w.extra[0], false
		return 1, nil
	}
	return fc.conn.Read(p)
}

func (fc *fastConn) serve() {
	fc.watch.fc = fc
	ra := fc.conn.RemoteAddr().String()
	var err error
	if fc.clientAddr, fc.clientPort, err = net.SplitHostPort(ra); err != nil {
		fc.clientAddr = ra
	} else {
		fc.clientIP = fc.clientAddr
	}
	fc.br = fastReaders.Get().(*bufio.Reader)
	fc.br.Reset(fc)
	passed := false
	defer func() {
		fc.watch.stop()
		if !passed {
			fc.conn.Close()
		}
		fc.s.forget(fc)
		fc.br.Reset(nil)
		fastReaders.Put(fc.br)
		fc.releaseWriter()
	}()
	for first := true; ; first = false {
		head, err := fc.nextHead(first)
		next := handOver
		switch {
		case err == nil:
			next = fc.forward(head)
		case err != errHandOver:
			next = closeConn
		}
		switch next {
		case nextRequest:
			fc.br.Discard(len(head))
			continue
		case closeConn:
			fc.flush()
		case handOver: // from this request on, net/http serves the connection
			fc.s.forget(fc)
			fc.handOver(nil, nil)
			passed = true
		case handedOver:
			passed = true
		}
		return
	}
}

// nextHead waits for the next request head, as net/http would: the idle
// timeout for its first byte (the header timeout for a new connection's
// first request), then the header timeout for the rest.
func (fc *fastConn) nextHead(first bool) ([]byte, error) {
	s := fc.s
	if fc.br.Buffered() == 0 && !fc.watch.hasExtra {
		if err := fc.flush(); err != nil {
			return nil, err
		}
		fc.releaseWriter()
		if first {
			fc.setDeadline(after(fc.accepted, s.readHeaderTimeout))
		} else {
			if !fc.state.CompareAndSwap(connActive, connIdle) || s.noKeepAlive.Load() {
				return nil, net.ErrClosed
			}
			fc.keepDeadline(s.idleTimeout)
		}
		if _, err := fc.br.Peek(1); err != nil {
			return nil, err
		}
	}
	if !fc.state.CompareAndSwap(connIdle, connActive) && !fc.state.CompareAndSwap(connNew, connActive) && fc.state.Load() != connActive {
		return nil, net.ErrClosed
	}
	timed := first
	for {
		n := fc.br.Buffered()
		b, _ := fc.br.Peek(n)
		switch end := headEnd(b); {
		case end > 0:
			return b[:end], nil
		case end < 0 || n == fc.br.Size():
			return nil, errHandOver // net/http judges odd and large heads
		}
		if !timed {
			fc.setDeadline(after(time.Now(), s.readHeaderTimeout))
			timed = true
		}
		// Answers held back for a pipelined request go out before waiting
		// for the rest of it: the client may wait for them first (a stray
		// CRLF after a request, a byte the client watch read).
		if err := fc.flush(); err != nil {
			return nil, err
		}
		if _, err := fc.br.Peek(n + 1); err != nil {
			if isTimeout(err) {
				return nil, err // net/http closes without an answer, too
			}
			return nil, errHandOver // it answers an incomplete head with 400
		}
	}
}

func (fc *fastConn) setDeadline(t time.Time) {
	fc.conn.SetReadDeadline(t)
	fc.deadline = t
}

// after is t+d, or no deadline for a zero d (as in http.Server).
func after(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return t.Add(d)
}

// keepDeadline sets the read deadline d from now, unless the one set is
// at most a 64th of d (and a second) earlier: resetting it for every
// request costs more than the precision is worth.
func (fc *fastConn) keepDeadline(d time.Duration) {
	if d <= 0 {
		if !fc.deadline.IsZero() {
			fc.setDeadline(time.Time{})
		}
		return
	}
	want := time.Now().Add(d)
	if fc.deadline.IsZero() || fc.deadline.After(want) || want.Sub(fc.deadline) > min(d/64, time.Second) {
		fc.setDeadline(want)
	}
}

func (fc *fastConn) writer() *bufio.Writer {
	if fc.bw == nil {
		fc.bw = fastWriters.Get().(*bufio.Writer)
		fc.bw.Reset(fc.conn)
	}
	return fc.bw
}

func (fc *fastConn) flush() error {
	if fc.bw == nil || fc.bw.Buffered() == 0 {
		return nil
	}
	return fc.bw.Flush()
}

func (fc *fastConn) releaseWriter() {
	if fc.bw != nil {
		fc.bw.Reset(nil)
		fastWriters.Put(fc.bw)
		fc.bw = nil
	}
}

// handOver gives the connection to net/http from the current request on,
// replaying what was read and not served. With p, the current request was
// sent as head plus the header lines inject already, and net/http must see
// it the same way.
func (fc *fastConn) handOver(p *pendingExchange, inject []byte) {
	fc.watch.stop()
	_ = fc.flush() // answers to earlier pipelined requests go first
	fc.releaseWriter()
	b, _ := fc.br.Peek(fc.br.Buffered())
	replay := make([]byte, 0, len(b)+len(inject)+1)
	if len(inject) > 0 {
		end := headEnd(b)
		replay = append(replay, b[:end-2]...)
		replay = append(replay, inject...)
		replay = append(replay, b[end-2:]...)
	} else {
		replay = append(replay, b...)
	}
	if fc.watch.hasExtra {
		replay = append(replay, fc.watch.extra[0])
		fc.watch.hasExtra = false
	}
	fc.s.handOver(&handoffConn{Conn: fc.conn, replay: replay, pending: p})
}

// clientWatchDelay is how long a request waits for its upstream before the
// fast loop starts watching for its client going away.
const clientWatchDelay = 10 * time.Millisecond

// clientWatch notices a client that goes away while its request waits
// for the upstream, as net/http's background read does, but only for
// requests slower than clientWatchDelay: a read beside every request would
// cost more than the rest of the fast loop.
type clientWatch struct {
	fc       *fastConn
	timer    *time.Timer
	mu       sync.Mutex
	idle     sync.Cond // signalled when a read ends
	f        *inflight // the request to abort; nil when not watching
	reading  bool      // a read is running
	extra    [1]byte   // the byte a read got (a pipelined request)
	hasExtra bool      // extra is not consumed yet
}

// arm starts watching for f.
func (w *clientWatch) arm(f *inflight) {
	w.mu.Lock()
	w.f = f
	w.mu.Unlock()
	if w.timer == nil {
		w.idle.L = &w.mu
		w.timer = time.AfterFunc(clientWatchDelay, w.run)
		return
	}
	w.timer.Reset(clientWatchDelay)
}

// stop ends watching and waits for a running read to give up.
func (w *clientWatch) stop() {
	if w.timer == nil {
		return
	}
	w.timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f = nil
	if !w.reading {
		return
	}
	w.fc.conn.SetReadDeadline(aLongTimeAgo)
	for w.reading {
		w.idle.Wait()
	}
	w.fc.setDeadline(time.Time{})
}

func (w *clientWatch) run() {
	w.mu.Lock()
	// A timer of an earlier request may fire late, beside this one's: a
	// second read would outlive stop and take bytes of the next request.
	if w.f == nil || w.hasExtra || w.reading {
		w.mu.Unlock()
		return
	}
	w.reading = true
	w.fc.setDeadline(time.Time{}) // the request head is in; no header timeout
	w.mu.Unlock()
	n, err := w.fc.conn.Read(w.extra[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reading = false
	switch {
	case n > 0:
		w.hasExtra = true
	case w.f != nil && !isTimeout(err):
		w.f.abort(context.Canceled)
	}
	w.idle.Broadcast()
}
