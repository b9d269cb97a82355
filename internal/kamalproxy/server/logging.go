package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// accessHandler is the outermost handler of each listener: it assigns the
// request ID and start time, then writes one JSON log line and the metrics.
type accessHandler struct {
	next    http.Handler
	log     *slog.Logger
	port    int
	metrics *Metrics
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func (h *accessHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if p := pendingOf(r); p != nil && p.waiting() {
		// Sent by the fast loop, which started the clock and set the
		// request ID and start headers into the head it handed over.
		start = p.start
		defer p.release() // unless the router took it
	}
	// One allocation for the state, the log's writer and the header values
	// set below: they live exactly as long as the request. Header keys from
	// the server are canonical, so the maps are used directly.
	st := &reqState{metrics: h.metrics}
	st.lw = logWriter{ResponseWriter: w}
	lw := &st.lw
	rh := r.Header
	reqID := firstValue(rh, "X-Request-Id")
	if reqID == "" {
		reqID = newRequestID()
		st.headerValues[0] = reqID
		rh["X-Request-Id"] = st.headerValues[0:1:1]
	}
	if firstValue(rh, "X-Request-Start") == "" {
		var b [24]byte
		st.headerValues[1] = string(strconv.AppendInt(append(b[:0], "t="...), start.UnixMilli(), 10))
		rh["X-Request-Start"] = st.headerValues[1:2:2]
	}
	// Deliberate: echo the ID so clients can quote it in bug reports.
	st.headerValues[2] = reqID
	w.Header()["X-Request-Id"] = st.headerValues[2:3:3]

	r = r.WithContext(context.WithValue(r.Context(), reqStateKey{}, st))
	// Deferred so that requests aborted mid-body (ReverseProxy panics with
	// http.ErrAbortHandler) are still logged and counted.
	defer h.finish(r, lw, st, reqID, start)
	h.next.ServeHTTP(lw, r)
}

func (h *accessHandler) finish(r *http.Request, lw *logWriter, st *reqState, reqID string, start time.Time) {
	status := lw.status
	switch {
	case lw.hijacked:
		status = http.StatusSwitchingProtocols
	case st.status != 0 && !lw.wroteHeader:
		status = st.status
	case status == 0:
		status = http.StatusOK
	}
	dur := time.Since(start)
	if !st.noMetrics {
		h.metrics.observe(st.service, r.Method, status, dur.Seconds())
	}
	if !h.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	h.logRequest(r, lw, st, reqID, status, dur)
}

func (h *accessHandler) logRequest(r *http.Request, lw *logWriter, st *reqState, reqID string, status int, dur time.Duration) {
	clientAddr, clientPort, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		clientAddr = r.RemoteAddr
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	e := accessEntry{
		host: r.Host, port: h.port, path: r.URL.Path, requestID: reqID, status: status,
		service: st.service, target: st.target, duration: dur, method: r.Method,
		reqContentLength: r.ContentLength, reqContentType: r.Header.Get("Content-Type"),
		respContentLength: lw.bytes, respContentType: lw.Header().Get("Content-Type"),
		clientAddr: clientAddr, clientPort: clientPort, remoteAddr: r.Header.Get("X-Forwarded-For"),
		userAgent: r.UserAgent(), proto: r.Proto, scheme: scheme, query: r.URL.RawQuery,
		reqHeaders: st.logReqHeaders, respHeaders: st.logRespHeaders,
		reqValues: r.Header, respValues: lw.Header(),
	}
	logFields(r.Context(), h.log, "Request", e.emit)
}

// accessEntry is one access-log line, whichever loop served the request.
type accessEntry struct {
	host                  string
	port                  int
	path, requestID       string
	status                int
	service, target       string
	duration              time.Duration
	method                string
	reqContentLength      int64
	reqContentType        string
	respContentLength     int64
	respContentType       string
	clientAddr            string
	clientPort            string
	remoteAddr            string // X-Forwarded-For as the proxy saw it; clientAddr when empty
	userAgent             string
	proto, scheme         string
	query                 string
	reqHeaders            []string // configured with --log-request-header
	respHeaders           []string // configured with --log-response-header
	reqValues, respValues valuesSource
}

// valuesSource gives a header's values (http.Header, or a head the fast
// loop parsed).
type valuesSource interface{ Values(name string) []string }

// emit gives the fields in the order of the original's access log.
func (e *accessEntry) emit(f fieldSink) {
	remote := e.remoteAddr
	if remote == "" {
		remote = e.clientAddr
	}
	f.str("host", e.host)
	f.num("port", int64(e.port))
	f.str("path", e.path)
	f.str("request_id", e.requestID)
	f.num("status", int64(e.status))
	f.str("service", e.service)
	f.str("target", e.target)
	f.num("duration", e.duration.Nanoseconds())
	f.str("method", e.method)
	f.num("req_content_length", e.reqContentLength)
	f.str("req_content_type", e.reqContentType)
	f.num("resp_content_length", e.respContentLength)
	f.str("resp_content_type", e.respContentType)
	f.str("client_addr", e.clientAddr)
	f.str("client_port", e.clientPort)
	f.str("remote_addr", remote)
	f.str("user_agent", e.userAgent)
	f.str("proto", e.proto)
	f.str("scheme", e.scheme)
	f.str("query", e.query)
	for _, name := range e.reqHeaders {
		f.str("req_"+logFieldName(name), strings.Join(e.reqValues.Values(name), ","))
	}
	for _, name := range e.respHeaders {
		f.str("resp_"+logFieldName(name), strings.Join(e.respValues.Values(name), ","))
	}
}

// firstValue is Header.Get for a canonical key.
func firstValue(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func logFieldName(h string) string {
	return strings.ReplaceAll(strings.ToLower(h), "-", "_")
}

// logWriter records status and size for the access log.
type logWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	hijacked    bool
}

func (l *logWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }

func (l *logWriter) WriteHeader(code int) {
	if !l.wroteHeader && code >= 200 {
		l.status = code
		l.wroteHeader = true
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *logWriter) Write(p []byte) (int, error) {
	if !l.wroteHeader {
		l.status = http.StatusOK
		l.wroteHeader = true
	}
	n, err := l.ResponseWriter.Write(p)
	l.bytes += int64(n)
	return n, err
}

func (l *logWriter) Flush() { _ = http.NewResponseController(l.ResponseWriter).Flush() }

func (l *logWriter) Hijack() (net.Conn, *bufioReadWriter, error) {
	c, rw, err := http.NewResponseController(l.ResponseWriter).Hijack()
	if err == nil {
		l.hijacked = true
	}
	return c, rw, err
}
