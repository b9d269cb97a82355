package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TargetState is the health/lifecycle state of one target.
type TargetState int

const (
	TargetAdding TargetState = iota
	TargetHealthy
	TargetUnhealthy
	TargetDraining
)

func (s TargetState) String() string {
	return [...]string{"adding", "healthy", "unhealthy", "draining"}[s]
}

var errDrainTimeout = errors.New("request cancelled due to draining")

type inflight struct {
	// cancel ends the context of a request on the ReverseProxy path; nil on
	// the direct path, which instead has its upstream connection cut.
	cancel context.CancelCauseFunc
	// done is closed when the request ends; made only when a drain waits
	// for it (Target.doneOf). prev, next and ended are the target's list
	// of requests in flight. All four are guarded by the target's mu.
	done       chan struct{}
	prev, next *inflight
	ended      bool
	hijacked   bool
	hw         hijackWatcher // allocated together with the request's entry

	// pending is set when the fast loop sent the request and hands the
	// rest to net/http (see pendingExchange).
	pending *pendingExchange

	mu      sync.Mutex
	conn    *upstreamConn // the direct path's connection while in use
	cause   error         // why the direct path was aborted
	aborted atomic.Bool
}

// abort cancels the request: its context, or its upstream connection.
func (f *inflight) abort(cause error) {
	if f.cancel != nil {
		f.cancel(cause)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cause == nil {
		f.cause = cause
	}
	f.aborted.Store(true)
	if f.conn != nil {
		f.conn.conn.SetDeadline(aLongTimeAgo)
	}
}

// use records the connection that abort must cut (nil when done with it).
// It reports false when the request has been aborted already.
func (f *inflight) use(c *upstreamConn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conn = c
	return !f.aborted.Load()
}

func (f *inflight) abortCause() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cause
}

// Target is one upstream "host:port" with its own transport, health check and
// the set of requests currently in flight (needed to drain it).
type Target struct {
	addr      string
	readonly  bool
	options   TargetOptions
	proxy     *httputil.ReverseProxy
	transport *http.Transport
	conns     *connPool // the direct path's keep-alive connections
	log       *slog.Logger

	mu          sync.Mutex
	state       TargetState
	everHealthy bool
	inflight    *inflight // the first request in flight, linked by next
	onChange    func()
	stopHC      context.CancelFunc
}

// NewTarget builds a target; it does not start health checks.
func NewTarget(addr string, readonly bool, opts TargetOptions, log *slog.Logger) (*Target, error) {
	if err := ValidateTarget(addr); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	t := &Target{addr: addr, readonly: readonly, options: opts, log: log, conns: newConnPool(addr)}
	t.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1000,
		MaxIdleConnsPerHost:   100,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opts.ResponseTimeout,
		ExpectContinueTimeout: time.Second,
		// Pass Accept-Encoding through untouched: otherwise the transport
		// asks for gzip on the client's behalf and then spends CPU
		// decompressing what the client never asked to be compressed.
		DisableCompression: true,
	}
	u := &url.URL{Scheme: "http", Host: addr}
	t.proxy = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { t.rewrite(pr, u) },
		Transport:      t.transport,
		FlushInterval:  0,
		BufferPool:     bufferPool,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ErrorHandler:   t.handleError,
		ModifyResponse: t.modifyResponse,
	}
	return t, nil
}

// Address is the "host:port" of the target.
func (t *Target) Address() string { return t.addr }

// State returns the current state.
func (t *Target) State() TargetState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

func (t *Target) usable() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == TargetHealthy
}

func (t *Target) fallbackUsable() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.everHealthy && t.state != TargetDraining
}

func (t *Target) setHealth(ok bool) {
	t.mu.Lock()
	if t.state == TargetDraining {
		t.mu.Unlock()
		return
	}
	was := t.state
	if ok {
		t.state = TargetHealthy
		t.everHealthy = true
	} else if t.state == TargetHealthy {
		t.state = TargetUnhealthy
	}
	now, cb := t.state, t.onChange
	t.mu.Unlock()
	if now != was {
		t.log.Info("Target health updated", "target", t.addr, "state", now.String(), "was", was.String())
		if cb != nil {
			cb()
		}
	}
}

// markHealthy is used for restored state: targets are trusted until a check
// says otherwise, so a proxy restart does not cause an outage.
func (t *Target) markHealthy() { t.setHealth(true) }

// claim registers a new in-flight request, or fails when draining. For the
// ReverseProxy path the returned request carries a context that is
// cancelled when a drain gives up on the request.
func (t *Target) claim(r *http.Request) (*http.Request, *inflight, bool) {
	f := &inflight{}
	if !directEligible(r) {
		var ctx context.Context
		ctx, f.cancel = context.WithCancelCause(r.Context())
		r = r.WithContext(ctx)
	}
	if !t.register(f) {
		if f.cancel != nil {
			f.cancel(nil)
		}
		return nil, nil, false
	}
	return r, f, true
}

// register adds f to the requests in flight, unless the target drains.
func (t *Target) register(f *inflight) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == TargetDraining {
		return false
	}
	f.next = t.inflight
	if f.next != nil {
		f.next.prev = f
	}
	t.inflight = f
	return true
}

func (t *Target) release(f *inflight) {
	t.mu.Lock()
	if f.ended { // unlinking twice would cut the list
		t.mu.Unlock()
		return
	}
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		t.inflight = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	}
	f.prev, f.next, f.ended = nil, nil, true
	if f.done != nil {
		close(f.done)
	}
	t.mu.Unlock()
	if f.cancel != nil {
		f.cancel(nil)
	}
}

// doneOf returns a channel closed when f ends; t.mu must be held.
func (t *Target) doneOf(f *inflight) <-chan struct{} {
	if f.done == nil {
		f.done = make(chan struct{})
		if f.ended {
			close(f.done)
		}
	}
	return f.done
}

func (t *Target) markHijacked(f *inflight) {
	t.mu.Lock()
	f.hijacked = true
	draining := t.state == TargetDraining
	t.mu.Unlock()
	if draining {
		f.abort(errDrainTimeout)
	}
}

// serve proxies r to the target. The caller has already claimed f (and got
// r from the claim).
func (t *Target) serve(w http.ResponseWriter, r *http.Request, f *inflight) {
	defer t.release(f)
	st := stateOf(r)
	st.target = t.addr

	f.hw = hijackWatcher{ResponseWriter: w, t: t, f: f}
	hw := &f.hw
	if t.options.BufferResponses {
		bw := &bufferedResponseWriter{w: hw, buf: newSpillBuffer(t.options.MaxMemoryBufferSize, t.options.MaxResponseBodySize)}
		defer bw.buf.Close()
		t.proxyTo(bw, r, f)
		bw.finish(r)
		return
	}
	t.proxyTo(hw, r, f)
}

func (t *Target) proxyTo(w http.ResponseWriter, r *http.Request, f *inflight) {
	if f.cancel == nil {
		t.forward(w, r, f)
		return
	}
	t.proxy.ServeHTTP(w, r)
}

// drain stops new claims, cuts hijacked connections, waits for the rest up to
// timeout and then cancels what is left (those get 504).
func (t *Target) drain(timeout time.Duration, permanent bool) {
	t.mu.Lock()
	if permanent {
		t.state = TargetDraining
		if t.stopHC != nil {
			t.stopHC()
		}
	}
	var waits []<-chan struct{}
	for f := t.inflight; f != nil; f = f.next {
		if f.hijacked {
			f.abort(errDrainTimeout)
			continue
		}
		waits = append(waits, t.doneOf(f))
	}
	t.mu.Unlock()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, done := range waits {
		select {
		case <-done:
		case <-deadline.C:
			t.cancelAll()
			if permanent {
				t.closeIdle()
			}
			return
		}
	}
	if permanent {
		// Hijacked connections that started after the snapshot.
		t.cancelAll()
		t.closeIdle()
	}
}

// closeIdle closes the idle upstream connections of a retired target.
func (t *Target) closeIdle() {
	t.transport.CloseIdleConnections()
	t.conns.closeIdle(true)
}

func (t *Target) cancelAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for f := t.inflight; f != nil; f = f.next {
		f.abort(errDrainTimeout)
	}
}

func (t *Target) stop() {
	t.mu.Lock()
	if t.stopHC != nil {
		t.stopHC()
	}
	t.mu.Unlock()
	t.closeIdle()
}

// forwarded holds what the proxy sends in place of the client's Host and
// forwarding headers; both paths to the target use it.
type forwarded struct {
	hostHeader     string
	forwardedFor   string // "" leaves X-Forwarded-For out
	forwardedHost  string
	forwardedProto string
	kamalTarget    string
}

// forwardedHeaders: the peer's address is appended to X-Forwarded-For.
// With forward-headers the client's X-Forwarded-For, -Proto and -Host and
// X-Kamal-Target chain are kept; without, they are replaced.
func (t *Target) forwardedHeaders(in *http.Request, fh *forwarded) {
	fh.hostHeader = in.Host
	if fh.hostHeader == "" {
		fh.hostHeader = t.addr
	}
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		clientIP = ""
	}
	fh.forwardedHost = in.Host
	fh.forwardedProto = "http"
	if in.TLS != nil {
		fh.forwardedProto = "https"
	}
	fh.forwardedFor = clientIP
	fh.kamalTarget = t.addr
	if !t.options.ForwardHeaders {
		return
	}
	if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 && clientIP != "" {
		fh.forwardedFor = strings.Join(prior, ", ") + ", " + clientIP
	}
	if v := in.Header.Get("X-Forwarded-Proto"); v != "" {
		fh.forwardedProto = v
	}
	if v := in.Header.Get("X-Forwarded-Host"); v != "" {
		fh.forwardedHost = v
	}
	if prev := in.Header.Get("X-Kamal-Target"); prev != "" {
		fh.kamalTarget = prev + ", " + t.addr
	}
}

func (t *Target) rewrite(pr *httputil.ProxyRequest, u *url.URL) {
	var fh forwarded
	t.forwardedHeaders(pr.In, &fh)
	pr.SetURL(u)
	pr.Out.Host = pr.In.Host
	h := pr.Out.Header
	if fh.forwardedFor != "" {
		h.Set("X-Forwarded-For", fh.forwardedFor)
	}
	h.Set("X-Forwarded-Host", fh.forwardedHost)
	h.Set("X-Forwarded-Proto", fh.forwardedProto)
	h.Set("X-Kamal-Target", fh.kamalTarget)
	// SetURL joins paths; we already computed the final path, keep it verbatim.
	pr.Out.URL.Path = pr.In.URL.Path
	pr.Out.URL.RawPath = pr.In.URL.RawPath
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
}

func (t *Target) modifyResponse(res *http.Response) error {
	st := stateOf(res.Request)
	optOut := strings.EqualFold(res.Header.Get("X-Writer-Affinity"), "false")
	res.Header.Del("X-Writer-Affinity")
	// The proxy already sent its own X-Request-ID; avoid a duplicate.
	res.Header.Del("X-Request-Id")
	if st.setAffinity && !optOut {
		res.Header.Add("Set-Cookie", st.affinityCookie())
	}
	if t.options.ScopeCookiePaths && st.prefix != "" && st.prefix != rootPath {
		scopeCookies(res.Header, st.prefix, res.Request.Host)
	}
	return nil
}

func (t *Target) handleError(w http.ResponseWriter, r *http.Request, err error) {
	t.answerError(w, r, context.Cause(r.Context()), err)
}

// answerError answers a request the target did not; cause is why the
// request was cancelled (a drain, or the client leaving), if it was.
func (t *Target) answerError(w http.ResponseWriter, r *http.Request, cause, err error) {
	st := stateOf(r)
	var ne net.Error
	switch {
	case errors.Is(cause, errDrainTimeout):
		t.log.Info("Request cancelled due to draining", "target", t.addr, "path", r.URL.Path)
		writeErrorPage(w, r, http.StatusGatewayTimeout, nil)
	case bodyTimedOut(r):
		writeBodyTimeout(w, r, t.log)
	case cause != nil || r.Context().Err() != nil:
		// The client went away; there is nobody to answer.
		st.status = 499
	case errors.As(err, &ne) && ne.Timeout():
		writeErrorPage(w, r, http.StatusGatewayTimeout, nil)
	default:
		t.log.Error("Error while proxying", "target", t.addr, "path", r.URL.Path, "error", err)
		writeErrorPage(w, r, http.StatusBadGateway, nil)
	}
}

type bufioReadWriter = bufio.ReadWriter

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

type proxyBufferPool struct{ p sync.Pool }

func (b *proxyBufferPool) Get() []byte  { return *b.get() }
func (b *proxyBufferPool) Put(v []byte) { b.p.Put(&v) }

// get and put keep the pointer, which saves an allocation per Put.
func (b *proxyBufferPool) get() *[]byte  { return b.p.Get().(*[]byte) }
func (b *proxyBufferPool) put(p *[]byte) { b.p.Put(p) }

var bufferPool = &proxyBufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

// hijackWatcher notes when the proxied request takes over the connection
// (WebSocket and other upgrades) so drains can cut it at once.
type hijackWatcher struct {
	http.ResponseWriter
	t *Target
	f *inflight
}

func (h *hijackWatcher) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h *hijackWatcher) Hijack() (net.Conn, *bufioReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil {
		h.t.markHijacked(h.f)
	}
	return conn, rw, err
}

// bufferedResponseWriter captures the whole response so a slow client does
// not hold the upstream; SSE and upgrades pass straight through.
type bufferedResponseWriter struct {
	w           http.ResponseWriter
	buf         *spillBuffer
	status      int
	passthrough bool
	overflow    bool
	hijacked    bool
}

func (b *bufferedResponseWriter) Header() http.Header         { return b.w.Header() }
func (b *bufferedResponseWriter) Unwrap() http.ResponseWriter { return b.w }

func (b *bufferedResponseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		if code == http.StatusSwitchingProtocols {
			b.passthrough = true
		}
		return
	}
	if b.status != 0 {
		return
	}
	b.status = code
	if strings.HasPrefix(b.w.Header().Get("Content-Type"), "text/event-stream") {
		b.passthrough = true
		b.w.WriteHeader(code)
	}
}

func (b *bufferedResponseWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.WriteHeader(http.StatusOK)
	}
	if b.passthrough {
		return b.w.Write(p)
	}
	if b.overflow {
		return len(p), nil
	}
	if _, err := b.buf.Write(p); err != nil {
		// Swallow the rest so the upstream copy ends cleanly; finish()
		// answers with an error page instead.
		b.overflow = true
	}
	return len(p), nil
}

func (b *bufferedResponseWriter) Flush() {
	if b.passthrough {
		_ = http.NewResponseController(b.w).Flush()
	}
}

func (b *bufferedResponseWriter) Hijack() (net.Conn, *bufioReadWriter, error) {
	b.hijacked = true
	b.passthrough = true
	return http.NewResponseController(b.w).Hijack()
}

func (b *bufferedResponseWriter) finish(r *http.Request) {
	if b.passthrough || b.hijacked {
		return
	}
	if b.overflow {
		h := b.w.Header()
		for k := range h {
			delete(h, k)
		}
		writeErrorPage(b.w, r, http.StatusBadGateway, nil)
		return
	}
	if b.status == 0 {
		// Nothing was proxied (the error handler already answered).
		return
	}
	h := b.w.Header()
	h.Del("Transfer-Encoding")
	if r.Method != http.MethodHead && b.status != http.StatusNoContent && b.status != http.StatusNotModified {
		h.Set("Content-Length", itoa(b.buf.Len()))
	}
	b.w.WriteHeader(b.status)
	_, _ = io.Copy(b.w, b.buf)
}
