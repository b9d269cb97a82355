package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The direct path forwards plain HTTP/1.1 requests without a body (most
// GETs) on the handler's goroutine over a pooled upstream connection.
// http.Transport hands every request to a write goroutine and the response
// back from a read goroutine, which on a busy machine costs more CPU than
// the rest of the proxy together. Everything else (bodies, upgrades,
// Expect: 100-continue, odd queries) goes through httputil.ReverseProxy,
// and both paths send the same headers (see forwardedHeaders).

const (
	maxIdleUpstreamConns = 100 // per target, as http.Transport's MaxIdleConnsPerHost
	upstreamIdleTimeout  = 90 * time.Second
	max1xxResponses      = 5
	// A pooled connection idle for longer is checked for a close by the
	// upstream before it is used. Younger ones are trusted for requests
	// that can be sent again (a failure before any response is retried,
	// like http.Transport does); for others they are always checked.
	upstreamCheckAfter = time.Second
)

var aLongTimeAgo = time.Unix(1, 0)

// upstreamConn is one keep-alive connection to a target.
type upstreamConn struct {
	conn      net.Conn
	raw       syscall.RawConn // for the liveness check; nil if unavailable
	br        *bufio.Reader
	bw        *bufio.Writer
	read      int64 // bytes read so far, to tell whether a response started
	idleSince time.Time
	body      fixedBody // the body of the response being read
}

func (c *upstreamConn) Read(p []byte) (int, error) {
	n, err := c.conn.Read(p)
	c.read += int64(n)
	return n, err
}

// connPool holds the idle connections of one target, most recently used
// last.
type connPool struct {
	addr   string
	dialer net.Dialer

	mu     sync.Mutex
	idle   []*upstreamConn
	closed bool
}

func newConnPool(addr string) *connPool {
	return &connPool{addr: addr, dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
}

// get returns an idle connection (reused) or dials a new one; check asks
// for every idle connection to be checked for a close by the upstream.
func (p *connPool) get(ctx context.Context, check bool) (c *upstreamConn, reused bool, err error) {
	now := time.Now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idle := now.Sub(c.idleSince)
		if idle > upstreamIdleTimeout || (check || idle > upstreamCheckAfter) && c.closedByPeer() {
			c.conn.Close()
			continue
		}
		return c, true, nil
	}
	conn, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	c = &upstreamConn{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.br = bufio.NewReader(c)
	c.bw = bufio.NewWriter(conn)
	return c, false, nil
}

// put returns a connection whose exchange ended cleanly.
func (p *connPool) put(c *upstreamConn) {
	if c.br.Buffered() > 0 {
		c.conn.Close() // the upstream sent more than the response
		return
	}
	c.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdleUpstreamConns {
		p.mu.Unlock()
		c.conn.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// closeIdle closes the idle connections; with retire, connections still in
// use are closed when they come back.
func (p *connPool) closeIdle(retire bool) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if retire {
		p.closed = true
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// directEligible reports whether r can take the direct path.
func directEligible(r *http.Request) bool {
	// HTTP/2 requests always have a Body; a zero length means no data.
	noBody := r.Body == nil || r.Body == http.NoBody || r.ProtoMajor == 2
	if r.ContentLength != 0 || !noBody || r.Method == http.MethodConnect {
		return false
	}
	h := r.Header
	if _, ok := h["Expect"]; ok {
		return false
	}
	if _, ok := h["Upgrade"]; ok {
		return false
	}
	return len(r.Trailer) == 0 && r.URL.Opaque == "" && plainHost(r.Host) && queryIsClean(r.URL.RawQuery)
}

// plainHost reports whether http.Transport would send host unchanged (it
// converts non-ASCII names to punycode and drops IPv6 zones).
func plainHost(host string) bool {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 || host[i] == '%' {
			return false
		}
	}
	return true
}

// queryIsClean reports whether ReverseProxy would leave the query alone:
// it re-encodes queries with semicolons, bad escapes or very many
// parameters, so those take its path.
func queryIsClean(q string) bool {
	if strings.Count(q, "&") >= 1000 {
		return false
	}
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hopHeaders are removed in both directions, with those named in
// Connection.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// connectionListed reports whether the request's Connection header names k
// (canonical), which makes k hop-by-hop too.
func connectionListed(conn []string, k string) bool {
	for _, f := range conn {
		for sf := range strings.SplitSeq(f, ",") {
			if textproto.CanonicalMIMEHeaderKey(textproto.TrimString(sf)) == k {
				return true
			}
		}
	}
	return false
}

// skipOnForward lists request headers the proxy replaces or drops.
func skipOnForward(k string) bool {
	switch k {
	case "Host", "User-Agent", "Content-Length", "Forwarded", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Kamal-Target":
		return true
	}
	return isHopHeader(k)
}

// writeRequest writes r's head to the upstream as HTTP/1.1, with the same
// headers http.Transport would send for ReverseProxy's outbound request.
func writeRequest(bw *bufio.Writer, r *http.Request, fh *forwarded) error {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	writeHeaderValue(bw, fh.hostHeader)
	bw.WriteString("\r\n")
	h := r.Header
	if ua := h["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		writeHeaderLine(bw, "User-Agent", ua[0])
	}
	conn := h["Connection"]
	for k, vs := range h {
		if skipOnForward(k) || len(conn) > 0 && connectionListed(conn, k) {
			continue
		}
		for _, v := range vs {
			writeHeaderLine(bw, k, v)
		}
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	if headerHasToken(h, "Te", "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	if fh.forwardedFor != "" {
		writeHeaderLine(bw, "X-Forwarded-For", fh.forwardedFor)
	}
	writeHeaderLine(bw, "X-Forwarded-Host", fh.forwardedHost)
	writeHeaderLine(bw, "X-Forwarded-Proto", fh.forwardedProto)
	writeHeaderLine(bw, "X-Kamal-Target", fh.kamalTarget)
	bw.WriteString("\r\n")
	return bw.Flush()
}

func writeHeaderLine(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	writeHeaderValue(bw, v)
	bw.WriteString("\r\n")
}

// writeHeaderValue turns line breaks into spaces, as net/http does, so no
// value can start a header of its own.
func writeHeaderValue(bw *bufio.Writer, v string) {
	if !strings.ContainsAny(v, "\r\n") {
		bw.WriteString(v)
		return
	}
	bw.WriteString(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v))
}

var (
	errUnexpectedSwitch = errors.New("target switched protocols without being asked to")
	errTooMany1xx       = errors.New("target sent too many 1xx responses")
)

// roundTrip sends r on a pooled connection and reads the response head. A
// request that fails on a reused connection before any of the response
// arrived is retried once on a new one, as http.Transport does.
func (t *Target) roundTrip(w http.ResponseWriter, r *http.Request, f *inflight, fh *forwarded) (*http.Response, *upstreamConn, error) {
	replayable := isReplayable(r)
	for attempt := 0; ; attempt++ {
		c, reused, err := t.conns.get(r.Context(), !replayable)
		if err != nil {
			return nil, nil, err
		}
		if !f.use(c) {
			t.conns.put(c)
			return nil, nil, errAborted
		}
		res, err := t.exchange(c, w, r, f, fh)
		if err == nil {
			return res, c, nil
		}
		if !f.retryAfter(c, reused && attempt == 0, replayable, err) {
			return nil, nil, err
		}
	}
}

// retryAfter closes the connection an exchange failed on and reports
// whether to send the request once more on a new one, as Go's HTTP client
// does: after a first attempt on a reused connection (firstReuse), before
// any of the response arrived, when nothing was written or the request can
// be sent twice.
func (f *inflight) retryAfter(c *upstreamConn, firstReuse, replayable bool, err error) bool {
	f.use(nil)
	c.conn.Close()
	return firstReuse && c.read == 0 && !f.aborted.Load() &&
		(errors.Is(err, errWriteFailed) || replayable)
}

var (
	errWriteFailed = errors.New("write to target failed")
	errAborted     = errors.New("request aborted")
)

func isReplayable(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	h := r.Header
	_, a := h["Idempotency-Key"]
	_, b := h["X-Idempotency-Key"]
	return a || b
}

// exchange writes the request and reads the final response head, passing
// 1xx responses on to the client.
func (t *Target) exchange(c *upstreamConn, w http.ResponseWriter, r *http.Request, f *inflight, fh *forwarded) (*http.Response, error) {
	c.read = 0
	if err := writeRequest(c.bw, r, fh); err != nil {
		return nil, errors.Join(errWriteFailed, err)
	}
	if err := t.armResponseTimeout(c, f); err != nil {
		return nil, err
	}
	return t.readFinal(c, w, r, f)
}

// armResponseTimeout bounds the wait for the response head.
func (t *Target) armResponseTimeout(c *upstreamConn, f *inflight) error {
	if t.options.ResponseTimeout > 0 {
		c.conn.SetReadDeadline(time.Now().Add(t.options.ResponseTimeout))
		if f.aborted.Load() { // abort's deadline may have been overwritten
			return errAborted
		}
	}
	return nil
}

// clearResponseTimeout ends the response timeout once the head is in,
// unless the rest (left bytes) has arrived too.
func (t *Target) clearResponseTimeout(c *upstreamConn, f *inflight, left int64) error {
	if t.options.ResponseTimeout > 0 && left > 0 {
		c.conn.SetReadDeadline(time.Time{})
		if f.aborted.Load() {
			return errAborted
		}
	}
	return nil
}

// resume continues an exchange the fast loop started (see
// pendingExchange): the request is on the wire, or failed with p.err.
func (t *Target) resume(w http.ResponseWriter, r *http.Request, f *inflight, p *pendingExchange) (*http.Response, *upstreamConn, error) {
	if p.err != nil {
		return nil, nil, p.err
	}
	c := p.conn
	res, err := t.readFinal(c, w, r, f)
	if err == nil && f.aborted.Load() {
		err = errAborted
	}
	if err != nil {
		f.use(nil)
		c.conn.Close()
		return nil, nil, err
	}
	return res, c, nil
}

// readFinal reads response heads up to the final one, passing 1xx
// responses on to the client; the response timeout, if any, is armed.
func (t *Target) readFinal(c *upstreamConn, w http.ResponseWriter, r *http.Request, f *inflight) (*http.Response, error) {
	for n1xx := 0; ; n1xx++ {
		res, err := c.readResponse(r)
		if err != nil {
			return nil, err
		}
		switch {
		case res.StatusCode == http.StatusSwitchingProtocols:
			return nil, errUnexpectedSwitch
		case res.StatusCode >= 100 && res.StatusCode < 200:
			if n1xx >= max1xxResponses {
				return nil, errTooMany1xx
			}
			h := w.Header()
			copyHeader(h, res.Header)
			w.WriteHeader(res.StatusCode)
			clear(h)
			continue
		}
		// The deadline covers the head only; skip clearing it when the
		// whole body has already arrived (the next request sets its own).
		left := res.ContentLength - int64(c.br.Buffered())
		if res.ContentLength < 0 {
			left = 1
		}
		if err := t.clearResponseTimeout(c, f, left); err != nil {
			return nil, err
		}
		return res, nil
	}
}

// copyHeader adds src's values to dst. Keys dst lacks take src's slice
// as it is: src is a response head read for this request only.
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if have, ok := dst[k]; ok {
			dst[k] = append(have, vv...)
		} else {
			dst[k] = vv
		}
	}
}

// forward proxies r over the direct path. A drain that gives up on the
// request, or the client leaving, cuts the upstream connection (f.abort).
func (t *Target) forward(w http.ResponseWriter, r *http.Request, f *inflight) {
	stop := context.AfterFunc(r.Context(), func() { f.abort(context.Canceled) })
	defer stop()
	var res *http.Response
	var c *upstreamConn
	var err error
	if f.pending != nil {
		res, c, err = t.resume(w, r, f, f.pending)
	} else {
		var fh forwarded
		t.forwardedHeaders(r, &fh)
		res, c, err = t.roundTrip(w, r, f, &fh)
	}
	if err != nil {
		t.answerError(w, r, f.abortCause(), err)
		return
	}
	clean := false
	defer func() {
		if f.use(nil) && clean && !res.Close {
			t.conns.put(c)
		} else {
			c.conn.Close()
		}
	}()
	removeHopHeaders(res.Header)
	t.modifyResponse(res)
	h := w.Header()
	copyHeader(h, res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := t.copyBody(w, res, c.br, isEventStream(res.Header.Get("Content-Type")) || res.ContentLength == -1); err != nil {
		// Half a response cannot be fixed; cut the client connection.
		panic(http.ErrAbortHandler)
	}
	res.Body.Close()
	clean = true
	if len(res.Trailer) == 0 {
		return
	}
	_ = http.NewResponseController(w).Flush() // forces chunking, so trailers can follow
	if len(res.Trailer) == announced {
		copyHeader(h, res.Trailer)
		return
	}
	for k, vv := range res.Trailer {
		h[http.TrailerPrefix+k] = append(h[http.TrailerPrefix+k], vv...)
	}
}

// copyBody streams the body to the client. Streaming responses (unknown
// length, server-sent events) are flushed after every write, and the head
// goes out at once when no body has arrived yet, as ReverseProxy does.
func (t *Target) copyBody(w http.ResponseWriter, res *http.Response, from *bufio.Reader, flushEach bool) error {
	var flush func() error
	if flushEach {
		flush = http.NewResponseController(w).Flush
		if from.Buffered() == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if res.Body == http.NoBody {
		return nil
	}
	bp := bufferPool.get()
	defer bufferPool.put(bp)
	buf := *bp
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if flush != nil {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if !errors.Is(rerr, context.Canceled) {
				t.log.Debug("Read error while copying the response body", "target", t.addr, "error", rerr)
			}
			return rerr
		}
	}
}

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct string) bool {
	const es = "text/event-stream"
	ct = strings.TrimLeft(ct, " \t")
	if len(ct) < len(es) || !strings.EqualFold(ct[:len(es)], es) {
		return false
	}
	rest := ct[len(es):]
	return rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t'
}
