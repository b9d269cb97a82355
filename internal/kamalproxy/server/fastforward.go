package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// What the fast loop does with a request (fastConn.forward), after it.
type fastNext int

const (
	nextRequest fastNext = iota // served; read the next one
	closeConn                   // served; close the connection
	handOver                    // not served: net/http serves it and the rest
	handedOver                  // sent upstream and handed over with its exchange
)

// pendingExchange is a request the fast loop sent to a target and then
// handed to net/http, with the connection, to answer: its response head is
// one the fast loop does not write itself (1xx, chunked, no length...), or
// the exchange failed and err is what to report. net/http reads the same
// request again (with the request ID and start headers the target got),
// and the router gives it to the service's target with this exchange
// instead of sending it again (Service.servePending, Target.resume). If
// that does not happen, release gives the connection and the claim back.
type pendingExchange struct {
	svc    *Service
	prefix string
	target *Target
	f      *inflight
	conn   *upstreamConn // the response head not read yet; nil with err
	err    error
	start  time.Time
	state  atomic.Int32 // pendingWaiting, then taken or released
}

const (
	pendingWaiting int32 = iota
	pendingTaken
	pendingReleased
)

type pendingKey struct{}

// pendingOf returns the exchange of the connection r came on, if any.
func pendingOf(r *http.Request) *pendingExchange {
	p, _ := r.Context().Value(pendingKey{}).(*pendingExchange)
	return p
}

func (p *pendingExchange) waiting() bool { return p.state.Load() == pendingWaiting }
func (p *pendingExchange) take() bool {
	return p.state.CompareAndSwap(pendingWaiting, pendingTaken)
}

// release ends an exchange nobody took: its connection is closed and the
// target's claim given back.
func (p *pendingExchange) release() {
	if !p.state.CompareAndSwap(pendingWaiting, pendingReleased) {
		return
	}
	if p.conn != nil {
		p.f.use(nil)
		p.conn.conn.Close()
	}
	p.target.release(p.f)
}

// fastExchange is the fast loop's state for one request, pooled.
type fastExchange struct {
	req      fastRequest
	reqID    string
	newID    bool  // reqID is the proxy's: replaces the client's X-Request-Id
	startMs  int64 // X-Request-Start the proxy sets, 0 when the client sent one
	clientIP string
	ipHeader string // the value of --client-ip-header, "" when none
	inject   []byte // the header lines the proxy added, for a hand-over
	scratch  [32]byte
}

var fastExchanges = sync.Pool{New: func() any { return &fastExchange{req: fastRequest{fields: make([]fastField, 0, 16)}} }}

// servesFast reports whether a service's requests may be forwarded by the
// fast loop: everything it does beside forwarding (redirects, ACME
// challenges, prefix stripping, cookie scoping, buffering, rollouts, read
// targets) is left to net/http.
func servesFast(so ServiceOptions, to TargetOptions, prefix string, active, rollout *Pool, rctl *RolloutController, certs certManager) bool {
	return !so.TLSEnabled && certs == nil && so.CanonicalHost == "" &&
		(prefix == rootPath || !so.StripPrefix && !to.ScopeCookiePaths) &&
		!to.BufferRequests && !to.BufferResponses &&
		(rollout == nil || rctl == nil) && active != nil && len(active.readers) == 0
}

// forward serves one request head, or leaves it to net/http.
func (fc *fastConn) forward(head []byte) fastNext {
	start := time.Now()
	ex := fastExchanges.Get().(*fastExchange)
	defer fastExchanges.Put(ex)
	rq := &ex.req
	if !parseFastRequest(head, rq) || emptyFirst(rq, "X-Request-Id") || emptyFirst(rq, "X-Request-Start") {
		return handOver
	}
	svc, prefix := fc.s.router.table.Load().lookup(canonicalRequestHost(rq.host), rq.path)
	if svc == nil || svc.failure.Load() != nil || svc.pause.State() != PauseRunning {
		return handOver
	}
	var t *Target
	var f *inflight
	var to TargetOptions
	for range 4 { // as Service.serveHTTP: a drain may win the claim
		so, opts, active, rollout, rctl, _, certs := svc.snapshot()
		if !servesFast(so, opts, prefix, active, rollout, rctl, certs) {
			return handOver
		}
		if t = active.pickWriter(); t == nil {
			return handOver
		}
		to = opts
		if f = new(inflight); t.register(f) {
			break
		}
		f = nil
	}
	if f == nil {
		return handOver
	}
	g := fc.s.metrics.inFlightGauge(svc.name)
	if g != nil {
		g.Inc()
	}
	ex.prepare(fc, to, start)

	c, resHead, err := fc.send(ex, t, f)
	var res fastResponse
	ok := err == nil && res.parse(resHead, rq.method)
	if ok {
		err = t.clearResponseTimeout(c, f, res.contentLength-int64(c.br.Buffered()-len(resHead)))
	}
	if err != nil || !ok || !res.sniff(c, len(resHead)) {
		// net/http answers: the error, or a response head the fast loop
		// leaves to ReverseProxy's rules.
		if g != nil {
			g.Dec()
		}
		p := &pendingExchange{svc: svc, prefix: prefix, target: t, f: f, conn: c, err: err, start: start}
		f.pending = p
		fc.s.forget(fc)
		fc.handOver(p, ex.inject)
		return handedOver
	}

	closeAfter := rq.close || fc.s.noKeepAlive.Load()
	var logged []string
	if len(to.LogResponseHeaders) > 0 && fc.s.log.Enabled(context.Background(), slog.LevelInfo) {
		logged = canonicalNames(to.LogResponseHeaders)
	}
	n, err := fc.writeResponse(ex, &res, c, resHead, closeAfter, logged)
	fc.watch.stop()
	if f.use(nil) && err == nil {
		t.conns.put(c)
	} else {
		c.conn.Close()
	}
	t.release(f)
	if g != nil {
		g.Dec()
	}
	// Logged before the client has the answer, as with net/http.
	fc.logFast(ex, svc, t, to, &res, n, start)
	if err != nil || closeAfter {
		return closeConn // after half a response, the client must see the cut
	}
	// Answer now, as net/http does, even with requests pipelined behind:
	// the next one may wait long for its upstream.
	if fc.flush() != nil {
		return closeConn
	}
	return nextRequest
}

// emptyFirst reports whether the first value of a header the proxy fills
// in is empty: accessHandler replaces those, which the hand-over could not
// repeat.
func emptyFirst(rq *fastRequest, name string) bool {
	return rq.has(name) && rq.first(name) == ""
}

func canonicalNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = textproto.CanonicalMIMEHeaderKey(n)
	}
	return out
}

// prepare sets the request ID and start time the proxy adds, and the
// forwarding headers' inputs.
func (ex *fastExchange) prepare(fc *fastConn, to TargetOptions, start time.Time) {
	rq := &ex.req
	ex.clientIP = fc.clientIP
	ex.reqID, ex.newID = rq.first("X-Request-Id"), false
	if ex.reqID == "" {
		ex.reqID, ex.newID = newRequestID(), true
	}
	ex.startMs = 0
	if rq.first("X-Request-Start") == "" {
		ex.startMs = start.UnixMilli()
	}
	ex.ipHeader = ""
	if to.ClientIPHeader != "" {
		ex.ipHeader = rq.first(textproto.CanonicalMIMEHeaderKey(to.ClientIPHeader))
	}
	ex.inject = ex.inject[:0]
	if ex.newID {
		ex.inject = appendHeaderLine(ex.inject, "X-Request-Id", ex.reqID)
	}
	if ex.startMs != 0 {
		ex.inject = append(ex.inject, "X-Request-Start: t="...)
		ex.inject = strconv.AppendInt(ex.inject, ex.startMs, 10)
		ex.inject = append(ex.inject, "\r\n"...)
	}
}

func appendHeaderLine(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

// forwardedFor returns the X-Forwarded-For values the request has for the
// proxy: the --client-ip-header value replaces them, as in Service.serveHTTP.
func (ex *fastExchange) forwardedFor(yield func(string) bool) {
	if ex.ipHeader != "" {
		yield(ex.ipHeader)
		return
	}
	for _, f := range ex.req.fields {
		if f.name == "X-Forwarded-For" && !yield(f.value) {
			return
		}
	}
}

// Values gives the request's header values as the access log sees them.
func (ex *fastExchange) Values(name string) []string {
	var out []string
	switch name = textproto.CanonicalMIMEHeaderKey(name); {
	case name == "X-Request-Id" && ex.newID:
		return []string{ex.reqID}
	case name == "X-Request-Start" && ex.startMs != 0:
		return []string{"t=" + strconv.FormatInt(ex.startMs, 10)}
	case name == "X-Forwarded-For":
		ex.forwardedFor(func(v string) bool { out = append(out, v); return true })
		return out
	}
	for _, f := range ex.req.fields {
		if f.name == name {
			out = append(out, f.value)
		}
	}
	return out
}

// writeUpstream writes the request head to a target as Target.forward
// would (writeRequest, forwardedHeaders), with the client's header lines in
// their order.
func (ex *fastExchange) writeUpstream(bw *bufio.Writer, t *Target) error {
	rq := &ex.req
	bw.WriteString(rq.method)
	bw.WriteByte(' ')
	bw.WriteString(rq.uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(rq.host)
	bw.WriteString("\r\n")
	if rq.userAgent != "" {
		writeHeaderLine(bw, "User-Agent", rq.userAgent)
	}
	for _, f := range rq.fields {
		if skipOnForward(f.name) || rq.close && f.name == "Close" ||
			ex.newID && f.name == "X-Request-Id" || ex.startMs != 0 && f.name == "X-Request-Start" {
			continue
		}
		bw.WriteString(f.name)
		bw.WriteString(": ")
		bw.WriteString(f.value)
		bw.WriteString("\r\n")
	}
	bw.Write(ex.inject)
	switch rq.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	fwd := t.options.ForwardHeaders
	if ex.clientIP != "" {
		bw.WriteString("X-Forwarded-For: ")
		if fwd {
			ex.forwardedFor(func(v string) bool {
				bw.WriteString(v)
				bw.WriteString(", ")
				return true
			})
		}
		bw.WriteString(ex.clientIP)
		bw.WriteString("\r\n")
	}
	host, proto, via := rq.host, "http", ""
	if fwd {
		if v := rq.first("X-Forwarded-Host"); v != "" {
			host = v
		}
		if v := rq.first("X-Forwarded-Proto"); v != "" {
			proto = v
		}
		via = rq.first("X-Kamal-Target")
	}
	writeHeaderLine(bw, "X-Forwarded-Host", host)
	writeHeaderLine(bw, "X-Forwarded-Proto", proto)
	bw.WriteString("X-Kamal-Target: ")
	if via != "" {
		bw.WriteString(via)
		bw.WriteString(", ")
	}
	bw.WriteString(t.addr)
	bw.WriteString("\r\n\r\n")
	return bw.Flush()
}

// send writes the request on a pooled connection and waits for the first
// response head (nil when only http.ReadResponse should read it). As
// roundTrip, a request that fails on a reused connection before any of
// the response arrived is sent once more on a new one. The client watch
// runs from here to the end of the response.
func (fc *fastConn) send(ex *fastExchange, t *Target, f *inflight) (*upstreamConn, []byte, error) {
	replayable := ex.req.replayable()
	fc.watch.arm(f)
	for attempt := 0; ; attempt++ {
		c, reused, err := t.conns.get(context.Background(), !replayable)
		if err != nil {
			return nil, nil, err
		}
		if !f.use(c) {
			t.conns.put(c)
			return nil, nil, errAborted
		}
		c.read = 0
		var head []byte
		if err = ex.writeUpstream(c.bw, t); err != nil {
			err = errors.Join(errWriteFailed, err)
		} else if err = t.armResponseTimeout(c, f); err == nil {
			if head, err = c.waitHead(); err == nil {
				return c, head, nil
			}
		}
		if !f.retryAfter(c, reused && attempt == 0, replayable, err) {
			return nil, nil, err
		}
	}
}

// fastResponse is a response head the fast loop writes itself: HTTP/1.1,
// a final status with a body, one Content-Length, none of the headers
// http.ReadResponse treats specially.
type fastResponse struct {
	code           int
	contentLength  int64
	hasType        bool
	hasDate        bool
	encoded        bool        // a non-empty Content-Encoding: never sniffed
	sniffed        string      // the Content-Type net/http would add, if any
	head           bool        // the answer to a HEAD request: no body follows
	logContentType string      // the upstream's Content-Type, for the log
	logHeaders     http.Header // the response headers the log names
}

// parse reads head (from waitHead; nil for none) into r, or reports false.
func (r *fastResponse) parse(head []byte, method string) bool {
	*r = fastResponse{contentLength: -1, head: method == http.MethodHead}
	code, ok := statusOf(head)
	if !ok || code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	r.code = code
	var sc fieldScanner
	sc.reset(head)
	for sc.next() {
		switch string(sc.key) {
		case "Transfer-Encoding", "Connection", "Trailer", "Pragma":
			return false // framing, closing and Pragma are ReadResponse's business
		case "Content-Length":
			n, valid := parseContentLength(string(sc.value))
			if r.contentLength >= 0 || !valid {
				return false
			}
			r.contentLength = n
		case "Content-Type":
			r.hasType = true
		case "Content-Encoding":
			r.encoded = r.encoded || len(sc.value) > 0
		case "Date":
			r.hasDate = true
		}
	}
	return !sc.bad && r.contentLength >= 0
}

// fieldScanner walks the header lines of a response head (from waitHead)
// with the name in canonical form and the value trimmed.
type fieldScanner struct {
	rest       []byte
	name       [64]byte
	key, value []byte
	bad        bool // an invalid line stopped the walk
}

func (sc *fieldScanner) reset(head []byte) {
	sc.rest, sc.bad = head[bytes.IndexByte(head, '\n')+1:], false
}

func (sc *fieldScanner) next() bool {
	if len(sc.rest) <= 2 || sc.bad {
		return false
	}
	end := bytes.IndexByte(sc.rest, '\n')
	line := sc.rest[:end-1] // without CRLF; waitHead checked the line ends
	sc.rest = sc.rest[end+1:]
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		sc.bad = true
		return false
	}
	k := sc.name[:0]
	upper := true
	for _, c := range line[:colon] {
		if !isTokenByte(c) {
			sc.bad = true
			return false
		}
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		k = append(k, c)
		upper = c == '-'
	}
	sc.key, sc.value = k, bytes.Trim(line[colon+1:], " \t")
	if !validFieldValue(string(sc.value)) {
		sc.bad = true
		return false
	}
	return true
}

// forwardedField reports whether a response header line reaches the
// client: hop-by-hop headers and the proxy's own go (modifyResponse).
func forwardedField(k []byte) bool {
	switch string(k) {
	case "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Upgrade",
		"X-Writer-Affinity", "X-Request-Id":
		return false
	}
	return true
}

// sniff finds the Content-Type net/http would add to a response without
// one: from the first 512 bytes of the body, which must be buffered. It
// reports false when they cannot be.
func (r *fastResponse) sniff(c *upstreamConn, headLen int) bool {
	if r.hasType || r.encoded || r.head || r.contentLength == 0 {
		return true
	}
	n := int(min(r.contentLength, 512))
	b, err := c.br.Peek(headLen + n)
	if err != nil {
		return false
	}
	r.sniffed = http.DetectContentType(b[headLen:])
	return true
}

// statusLines holds "HTTP/1.1 <code> <text>\r\n" as net/http writes it.
var statusLines = func() (s [600][]byte) {
	for code := 200; code < 600; code++ {
		text := http.StatusText(code)
		if text == "" {
			text = "status code " + strconv.Itoa(code)
		}
		s[code] = []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n")
	}
	return s
}()

// writeResponse writes the response to the client as Target.forward and
// net/http together would, and copies the body; it returns the body bytes
// written. head is still buffered in c. With logged, it records the values
// the access log needs first.
func (fc *fastConn) writeResponse(ex *fastExchange, r *fastResponse, c *upstreamConn, head []byte, closeAfter bool, logged []string) (int64, error) {
	bw := fc.writer()
	bw.Write(statusLines[r.code])
	var sc fieldScanner
	typed := false
	for sc.reset(head); sc.next(); {
		if !forwardedField(sc.key) {
			continue
		}
		bw.Write(sc.key)
		bw.WriteString(": ")
		bw.Write(sc.value)
		bw.WriteString("\r\n")
		if !typed && string(sc.key) == "Content-Type" {
			typed, r.logContentType = true, string(sc.value)
		}
	}
	writeHeaderLine(bw, "X-Request-Id", ex.reqID)
	if !r.hasDate {
		bw.WriteString("Date: ")
		bw.Write(time.Now().UTC().AppendFormat(ex.scratch[:0], http.TimeFormat))
		bw.WriteString("\r\n")
	}
	if r.sniffed != "" {
		writeHeaderLine(bw, "Content-Type", r.sniffed)
	}
	if closeAfter {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if len(logged) > 0 {
		r.logHeaders = http.Header{"X-Request-Id": {ex.reqID}}
		for sc.reset(head); sc.next(); {
			if k := string(sc.key); forwardedField(sc.key) && slices.Contains(logged, k) {
				r.logHeaders[k] = append(r.logHeaders[k], string(sc.value))
			}
		}
	}
	c.br.Discard(len(head))
	if r.head || r.contentLength == 0 {
		return 0, nil
	}
	return copyFixed(bw, c, r.contentLength)
}

// copyFixed copies n body bytes from the upstream to the client.
func copyFixed(bw *bufio.Writer, c *upstreamConn, n int64) (int64, error) {
	if b, _ := c.br.Peek(c.br.Buffered()); int64(len(b)) >= n {
		_, err := bw.Write(b[:n])
		c.br.Discard(int(n))
		if err != nil {
			return 0, err
		}
		return n, nil
	}
	bp := bufferPool.get()
	defer bufferPool.put(bp)
	buf := *bp
	var written int64
	for written < n {
		m, rerr := c.br.Read(buf[:min(int64(len(buf)), n-written)])
		if m > 0 {
			w, werr := bw.Write(buf[:m])
			written += int64(w)
			if werr != nil {
				return written, werr
			}
		}
		if rerr != nil && written < n {
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return written, rerr
		}
	}
	return written, nil
}

// logFast writes the access log line and the metrics of a request the
// fast loop served, with the values accessHandler would log.
func (fc *fastConn) logFast(ex *fastExchange, svc *Service, t *Target, to TargetOptions, r *fastResponse, n int64, start time.Time) {
	rq := &ex.req
	dur := time.Since(start)
	if !isExcluded(to.ExcludeMetricsPaths, rq.path, "", false) {
		fc.s.metrics.observe(svc.name, rq.method, r.code, dur.Seconds())
	}
	log := fc.s.log
	if !log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	remote := ex.ipHeader
	if remote == "" {
		remote = rq.first("X-Forwarded-For")
	}
	e := accessEntry{
		host: rq.host, port: fc.s.port, path: rq.path, requestID: ex.reqID, status: r.code,
		service: svc.name, target: t.addr, duration: dur, method: rq.method,
		reqContentType: rq.first("Content-Type"), respContentLength: n, respContentType: r.logContentType,
		clientAddr: fc.clientAddr, clientPort: fc.clientPort, remoteAddr: remote,
		userAgent: rq.userAgent, proto: "HTTP/1.1", scheme: "http", query: rq.query,
		reqHeaders: to.LogRequestHeaders, respHeaders: to.LogResponseHeaders,
		reqValues: ex, respValues: r.logHeaders,
	}
	logFields(context.Background(), log, "Request", e.emit)
}
