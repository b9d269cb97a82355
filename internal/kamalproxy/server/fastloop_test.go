package server

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logBuffer collects log lines written by servers while a test reads them.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for l := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		b.lines = append(b.lines, l)
	}
	return len(p), nil
}

// take returns the access-log lines since the last call.
func (b *logBuffer) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range b.lines {
		if strings.Contains(l, `"msg":"Request"`) {
			out = append(out, l)
		}
	}
	b.lines = nil
	return out
}

// loopFront is one way of serving the proxy's plain-HTTP port.
type loopFront struct {
	addr    string
	logs    *logBuffer
	netHTTP atomic.Int64 // requests that reached net/http's handler chain
}

// countingHandler counts the requests net/http serves.
type countingHandler struct {
	next http.Handler
	n    *atomic.Int64
}

func (h countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.n.Add(1)
	h.next.ServeHTTP(w, r)
}

// newLoopFronts serves r twice on loopback: through the fast loop (with
// net/http behind it) and through net/http alone.
func newLoopFronts(t *testing.T, r *Router) (fast, plain *loopFront) {
	t.Helper()
	fast, plain = &loopFront{logs: &logBuffer{}}, &loopFront{logs: &logBuffer{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fastLog := slog.New(NewLogHandler(fast.logs, nil))
	srv := &http.Server{Handler: countingHandler{&accessHandler{next: r, log: fastLog, port: 80}, &fast.netHTTP}}
	fs := plainHTTP(ln, 80, srv, r, fastLog, nil)
	go fs.serve()
	go srv.Serve(fs.listener())
	fast.addr = ln.Addr().String()
	ref := httptest.NewServer(countingHandler{&accessHandler{next: r, log: slog.New(NewLogHandler(plain.logs, nil)), port: 80}, &plain.netHTTP})
	plain.addr = strings.TrimPrefix(ref.URL, "http://")
	t.Cleanup(func() {
		fs.Close()
		srv.Close()
		ref.CloseClientConnections()
		ref.Close()
		r.Shutdown()
	})
	return fast, plain
}

// loopCase is what a client sends at once on a new connection, and the
// methods of the responses it expects, in order.
type loopCase struct {
	name    string
	raw     string
	methods []string // nil: one GET
	native  int      // requests the fast loop must serve itself
	// closeWrite ends the client's side after raw, as a client that
	// leaves does.
	closeWrite bool
}

// loopResult is what a client and the upstream saw for a case, normalized
// where the two ways may differ without a difference in behaviour.
type loopResult struct {
	Responses []string
	Conn      string // after the responses: "open", "closed" or the extra bytes
	Upstream  []string
	Logs      []map[string]any
}

var (
	reqIDPattern    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
	reqStartPattern = regexp.MustCompile(`t=\d{13}`)
)

func normalize(s string) string {
	return reqStartPattern.ReplaceAllString(reqIDPattern.ReplaceAllString(s, "<id>"), "t=<ms>")
}

func runLoopCase(t *testing.T, front *loopFront, app *shapesApp, c loopCase) loopResult {
	t.Helper()
	app.mu.Lock()
	seen := len(app.seen)
	app.mu.Unlock()
	conn, err := net.Dial("tcp", front.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	written := make(chan struct{})
	go func() {
		defer close(written)
		io.WriteString(conn, c.raw) // may fail when the server closes early
		if c.closeWrite {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	var out loopResult
	methods := c.methods
	if methods == nil {
		methods = []string{"GET"}
	}
	for _, m := range methods {
		for {
			res, err := http.ReadResponse(br, &http.Request{Method: m})
			if err != nil {
				out.Responses = append(out.Responses, "error: "+err.Error())
				break
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if _, ok := res.Header["Date"]; ok {
				res.Header["Date"] = []string{"<date>"}
			}
			out.Responses = append(out.Responses, normalize(fmt.Sprintf("%s %d %v body=%s err=%v te=%v cl=%d close=%v trailer=%v",
				res.Proto, res.StatusCode, res.Header, bodySummary(body), err, res.TransferEncoding, res.ContentLength, res.Close, res.Trailer)))
			if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
				break
			}
		}
	}
	if c.closeWrite {
		if _, err := br.ReadByte(); err == nil {
			out.Conn = "more bytes"
		} else {
			out.Conn = "closed"
		}
	} else {
		// Still open if it answers one more request, sent after raw (a
		// server that stops reading has answered or closed by then).
		select {
		case <-written:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(conn, "GET /probe HTTP/1.1\r\nHost: nobody.test\r\n\r\n")
		if res, err := http.ReadResponse(br, nil); err == nil {
			out.Conn = fmt.Sprintf("open (%d)", res.StatusCode)
		} else {
			out.Conn = "closed"
		}
	}
	conn.Close()
	// Only this connection's requests: a client that leaves early may
	// have a request logged, or sent upstream, after its case ended.
	port := strconv.Itoa(conn.LocalAddr().(*net.TCPAddr).Port)
	ids := map[string]bool{}
	for _, l := range front.logs.take() {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["client_port"] != port {
			continue
		}
		ids[fmt.Sprint(m["request_id"])] = true
		if err := json.Unmarshal([]byte(normalize(l)), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		for _, k := range []string{"time", "duration", "client_port"} {
			delete(m, k)
		}
		out.Logs = append(out.Logs, m)
	}
	app.mu.Lock()
	for _, s := range app.seen[seen:] {
		if s.URI == "/health" || !ids[s.Header.Get("X-Request-Id")] {
			continue
		}
		out.Upstream = append(out.Upstream, normalize(fmt.Sprintf("%s %s host=%s %v", s.Method, s.URI, s.Host, s.Header)))
	}
	app.mu.Unlock()
	return out
}

// TestFastLoopMatchesNetHTTP sends the same bytes to the plain-HTTP port
// served by the fast loop and by net/http alone, and compares what the
// client reads, whether the connection stays open, what the upstream
// receives and what the access log says: simple requests the fast loop
// serves itself, and everything it hands to net/http (bodies, odd and
// malformed heads, other versions, unusual responses).
func TestFastLoopMatchesNetHTTP(t *testing.T) {
	app := &shapesApp{}
	up := httptest.NewServer(app)
	defer up.Close()
	r := NewRouter(discardLogger(), "", 443)
	to := fastTargetOptions()
	to.HealthCheckConfig.Path = "/health"
	to.LogRequestHeaders = []string{"X-Custom", "x-request-id", "X-Forwarded-For"}
	to.LogResponseHeaders = []string{"Content-Type", "X-Request-Id", "Set-Cookie", "Keep-Alive"}
	if err := r.Deploy("app", []string{strings.TrimPrefix(up.URL, "http://")}, nil, fastDeploy(), hostOpts("app.test"), to); err != nil {
		t.Fatal(err)
	}
	ipTo := fastTargetOptions()
	ipTo.HealthCheckConfig.Path = "/health"
	ipTo.ClientIPHeader = "X-Real-Ip"
	ipTo.ForwardHeaders = false
	if err := r.Deploy("ip", []string{strings.TrimPrefix(up.URL, "http://")}, nil, fastDeploy(), hostOpts("ip.test"), ipTo); err != nil {
		t.Fatal(err)
	}
	rawTo := fastTargetOptions()
	rawTo.HealthCheckConfig.Path = "/health"
	if err := r.Deploy("raw", []string{rawHeadApp(t)}, nil, fastDeploy(), hostOpts("raw.test"), rawTo); err != nil {
		t.Fatal(err)
	}
	fast, plain := newLoopFronts(t, r)

	get := func(path string, lines ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: app.test\r\n" + strings.Join(lines, "") + "\r\n"
	}
	cases := []loopCase{
		{name: "plain", raw: get("/"), native: 1},
		{name: "query and headers", raw: get("/a/b.c?x=1&y=%20z&&", "X-Custom: a\r\nx-custom: b\r\nAccept-Encoding: gzip\r\nUser-Agent: ua/1\r\nUser-Agent: ua/2\r\nX-Empty:\r\nCookie: a=1\r\n"), native: 1},
		{name: "path characters", raw: get("/!$&'()*+,;=:@-._~/x//y/../z?"), native: 1},
		{name: "forwarding headers", raw: get("/", "Forwarded: for=192.0.2.9\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: orig.test\r\nX-Kamal-Target: prev:1\r\n"), native: 1},
		{name: "empty forwarded for", raw: get("/", "X-Forwarded-For:\r\n"), native: 1},
		{name: "client ip header", raw: "GET / HTTP/1.1\r\nHost: ip.test\r\nX-Real-Ip: 9.9.9.9\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Host: h\r\n\r\n", native: 1},
		{name: "request id given", raw: get("/", "X-Request-Id: abc\r\nX-Request-Start: t=1\r\n"), native: 1},
		{name: "request id empty", raw: get("/", "X-Request-Id:\r\nX-Request-Start:\r\n")},
		{name: "hop headers", raw: get("/", "Connection: keep-alive\r\nKeep-Alive: 300\r\nProxy-Authorization: Basic eDp5\r\nProxy-Connection: x\r\nUpgrade-Insecure-Requests: 1\r\n"), native: 1},
		{name: "connection close", raw: get("/", "Connection: close\r\nClose: x\r\n"), native: 1},
		{name: "connection names a header", raw: get("/", "Connection: X-Drop\r\nX-Drop: gone\r\n")},
		{name: "te trailers", raw: get("/trailers", "Te: trailers\r\n")},
		{name: "upgrade", raw: get("/", "Connection: Upgrade\r\nUpgrade: websocket\r\n")},
		{name: "content-length 0", raw: get("/", "Content-Length: 0\r\n"), native: 1},
		{name: "post without body", raw: "POST /p HTTP/1.1\r\nHost: app.test\r\n\r\n", native: 1},
		{name: "put with length 0", raw: "PUT /p HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n", native: 1},
		{name: "patch, delete, options, custom", raw: "PATCH /p HTTP/1.1\r\nHost: app.test\r\n\r\nDELETE /d HTTP/1.1\r\nHost: app.test\r\n\r\nOPTIONS /o HTTP/1.1\r\nHost: app.test\r\n\r\nPURGE /c HTTP/1.1\r\nHost: app.test\r\n\r\n",
			methods: []string{"PATCH", "DELETE", "OPTIONS", "PURGE"}, native: 4},
		{name: "head", raw: "HEAD / HTTP/1.1\r\nHost: app.test\r\n\r\n", methods: []string{"HEAD"}, native: 1},
		{name: "head of a stream", raw: "HEAD /stream HTTP/1.1\r\nHost: app.test\r\n\r\n", methods: []string{"HEAD"}},
		{name: "post with body", raw: "POST /p HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "chunked body", raw: "POST /p HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{name: "expect", raw: "POST /p HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi"},
		{name: "http/1.0", raw: "GET / HTTP/1.0\r\nHost: app.test\r\n\r\n"},
		{name: "http/1.0 keep-alive", raw: "GET / HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n"},
		{name: "escaped path", raw: get("/a%2Fb/c%20d")},
		{name: "utf-8 path", raw: get("/caf\xc3\xa9")},
		{name: "absolute form", raw: "GET http://app.test/x HTTP/1.1\r\nHost: app.test\r\n\r\n"},
		{name: "semicolon query", raw: get("/?a=1;b=2")},
		{name: "bad escape query", raw: get("/?a=%zz")},
		{name: "asterisk", raw: "OPTIONS * HTTP/1.1\r\nHost: app.test\r\n\r\n", methods: []string{"OPTIONS"}},
		{name: "connect", raw: "CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n\r\n"},
		{name: "host with port", raw: "GET / HTTP/1.1\r\nHost: APP.test.:8080\r\n\r\n", native: 1},
		{name: "unknown host", raw: "GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n"},
		{name: "missing host", raw: "GET / HTTP/1.1\r\nX-A: b\r\n\r\n"},
		{name: "two hosts", raw: "GET / HTTP/1.1\r\nHost: app.test\r\nHost: app.test\r\n\r\n"},
		{name: "bad host", raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},
		{name: "lower-case names", raw: "GET / HTTP/1.1\r\nhost: app.test\r\nx-custom: a\r\nuser-agent: ua\r\n\r\n", native: 1},
		{name: "space before colon", raw: get("/", "X-A : b\r\n")},
		{name: "folded line", raw: get("/", "X-A: b\r\n c\r\n")},
		{name: "control character", raw: get("/", "X-A: b\x01c\r\n")},
		{name: "obs-text value", raw: get("/", "X-A: caf\xc3\xa9\r\n")},
		{name: "bad name", raw: get("/", "X(A): b\r\n")},
		{name: "no colon", raw: get("/", "X-A\r\n")},
		{name: "bare LF", raw: "GET / HTTP/1.1\nHost: app.test\n\n"},
		{name: "bad request line", raw: "GET  / HTTP/1.1\r\nHost: app.test\r\n\r\n"},
		{name: "lower-case version", raw: "GET / http/1.1\r\nHost: app.test\r\n\r\n"},
		{name: "leading empty line", raw: "\r\nGET / HTTP/1.1\r\nHost: app.test\r\n\r\n"},
		{name: "large head", raw: get("/", "X-Big: "+strings.Repeat("b", 6000)+"\r\n")},
		{name: "too large head", raw: get("/", "X-Big: "+strings.Repeat("b", 1<<20+8192)+"\r\n")},
		{name: "many headers", raw: get("/", strings.Repeat("X-Many: m\r\n", 150))},
		{name: "incomplete head", raw: "GET / HTTP/1.1\r\nHost: app.test\r\n", methods: []string{}},
		{name: "incomplete head, then the client leaves", raw: "GET / HTTP/1.1\r\nHost: app.test\r\n", methods: []string{}, closeWrite: true},
		{name: "complete head, then the client leaves", raw: get("/"), closeWrite: true, native: 1},
		{name: "the client leaves after pipelining", raw: get("/1") + get("/2"), methods: []string{"GET", "GET"}, closeWrite: true, native: 2},
		{name: "pipelined", raw: get("/1") + get("/2") + get("/3"), methods: []string{"GET", "GET", "GET"}, native: 3},
		{name: "pipelined, then a body", raw: get("/1") + "POST /p HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi" + get("/3"), methods: []string{"GET", "POST", "GET"}, native: 1},
		{name: "pipelined, then malformed", raw: get("/1") + "GET / HTTP/1.1\r\nHost: app.test\r\nX A: b\r\n\r\n", methods: []string{"GET", "GET"}, native: 1},
		{name: "stray CRLF after a request", raw: get("/") + "\r\n", native: 1},
		{name: "pipelined, close first", raw: get("/1", "Connection: close\r\n") + get("/2"), native: 1},
		{name: "hop response headers", raw: get("/hop")},
		{name: "trailers", raw: get("/trailers")},
		{name: "early hints", raw: get("/early")},
		{name: "no content", raw: get("/nocontent")},
		{name: "cookies", raw: get("/cookies"), native: 1},
		{name: "server-sent events", raw: get("/sse")},
		{name: "chunked stream", raw: get("/stream")},
		{name: "app error", raw: get("/error"), native: 1},
		{name: "sniffed type", raw: get("/sniff"), native: 1},
		{name: "large body", raw: get("/large"), native: 1},
		{name: "then a stream", raw: get("/") + get("/stream") + get("/"), methods: []string{"GET", "GET", "GET"}, native: 1},
	}
	// The upstream answers the fast loop writes itself; it hands the
	// others, with the exchange, to net/http.
	nativeHeads := map[string]bool{"/lower": true, "/spaces": true, "/noreason": true, "/nodate": true, "/hopresp": true,
		"/status299": true, "/encoded": true, "/emptytype": true, "/notype": true, "/leadzero": true, "/bigsniff": true, "/shortbody": true}
	for path := range rawHeads {
		for _, m := range []string{"GET", "HEAD"} {
			native := 0
			if nativeHeads[path] && !(path == "/shortbody" && m == "GET") { // too short to sniff
				native = 1
			}
			cases = append(cases, loopCase{name: "upstream " + m + " " + path, raw: m + " " + path + " HTTP/1.1\r\nHost: raw.test\r\n\r\n", methods: []string{m}, native: native})
		}
	}
	nativeTotal := 0
	for _, c := range cases {
		before := fast.netHTTP.Load()
		got := runLoopCase(t, fast, app, c)
		want := runLoopCase(t, plain, app, c)
		if c.closeWrite && c.native > 0 {
			// Deliberate: net/http takes the end of the client's side for
			// a client gone and cuts every request still on it; the fast
			// loop answers what the upstream answers within
			// clientWatchDelay, and cuts (logged as 499, as net/http) a
			// request that waits longer, which a loaded machine may see.
			answered := 0
			for i, res := range got.Responses {
				var status any
				if i < len(got.Logs) {
					status = got.Logs[i]["status"]
				}
				switch {
				case strings.Contains(res, " 200 ") && strings.Contains(res, "body=\"GET /") && status == float64(200):
					answered++
				case strings.Contains(res, " 200 ") && strings.Contains(res, "body=\"\"") && status == float64(499):
				default:
					t.Errorf("%s: response %d through the fast loop: %s (logged %v)", c.name, i, res, status)
				}
			}
			if got.Conn != "closed" || len(got.Logs) != c.native || len(got.Upstream) < answered || len(got.Upstream) > c.native {
				t.Errorf("%s: fast loop: %s", c.name, dump(got))
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q\nfast loop: %s\nnet/http:  %s", c.name, truncate(c.raw), dump(got), dump(want))
		}
		served := len(want.Logs) - int(fast.netHTTP.Load()-before)
		if c.native >= 0 && served != c.native {
			t.Errorf("%s: the fast loop served %d requests itself, want %d", c.name, served, c.native)
		}
		nativeTotal += max(served, 0)
	}
	t.Logf("%d cases, %d requests served by the fast loop itself", len(cases), nativeTotal)
}

// bodySummary quotes a body, or gives the length and hash of a large one
// (quoting and normalizing a megabyte is slow enough under the race
// detector to trip the case's read deadline).
func bodySummary(b []byte) string {
	if len(b) <= 1024 {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%d bytes sha256:%x", len(b), sha256.Sum256(b))
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func dump(r loopResult) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// TestFastLoopReplacesClosedConnections: as on the direct path, a pooled
// connection the upstream has closed is not used for a request that cannot
// be sent twice, and one that can is sent again on a new connection.
func TestFastLoopReplacesClosedConnections(t *testing.T) {
	addr, conns, closed := staleApp(t)
	r := NewRouter(discardLogger(), "", 443)
	to := fastTargetOptions()
	to.HealthCheckConfig.Interval = time.Hour
	if err := r.Deploy("app", []string{addr}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	<-closed // the health check's
	fast, _ := newLoopFronts(t, r)
	before := conns.Load()
	conn, err := net.Dial("tcp", fast.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i, method := range []string{"GET", "GET", "DELETE", "POST", "GET", "DELETE"} {
		fmt.Fprintf(conn, "%s / HTTP/1.1\r\nHost: x\r\n\r\n", method)
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(b) != method {
			t.Errorf("request %d (%s): %d %q", i, method, res.StatusCode, b)
		}
		<-closed // the next request finds the pooled connection closed
	}
	if n := conns.Load() - before; n != 6 {
		t.Errorf("upstream saw %d connections, want 6", n)
	}
	if n := fast.netHTTP.Load(); n != 0 {
		t.Errorf("net/http served %d requests, want none", n)
	}
}

// TestFastLoopTimeoutsAndShutdown: connections the fast loop serves are
// closed after the idle timeout, and on shutdown idle ones at once while a
// request in flight gets its answer (with Connection: close) first.
func TestFastLoopTimeoutsAndShutdown(t *testing.T) {
	srv, stop := startLoggedServer(t, Config{IdleTimeout: 300 * time.Millisecond, ShutdownTimeout: 5 * time.Second})
	a := newTestApp(t, "a")
	if err := srv.Router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	// request sends one request on a new connection and reads the answer.
	request := func(path string) (net.Conn, *http.Response, error) {
		conn, err := net.Dial("tcp", srv.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err == nil {
			_, err = io.ReadAll(res.Body)
		}
		return conn, res, err
	}
	closedWithin := func(conn net.Conn, d time.Duration) bool {
		conn.SetReadDeadline(time.Now().Add(d))
		_, err := conn.Read(make([]byte, 1))
		return err != nil && !isTimeout(err)
	}

	idle, _, err := request("/")
	if err != nil {
		t.Fatal(err)
	}
	if !closedWithin(idle, 5*time.Second) {
		t.Error("an idle connection outlived the idle timeout")
	}

	idle, _, err = request("/")
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		res *http.Response
		err error
	}
	slow := make(chan answer, 1)
	go func() {
		_, res, err := request("/?sleep=500")
		slow <- answer{res, err}
	}()
	waitFor(t, func() bool { return a.hits.Load() == 3 })
	start := time.Now()
	stop()
	if !closedWithin(idle, 100*time.Millisecond) {
		t.Error("shutdown left an idle connection open")
	}
	got := <-slow
	if got.err != nil || got.res.StatusCode != 200 || !got.res.Close {
		t.Errorf("request in flight during shutdown: %v %+v", got.err, got.res)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s", d)
	}
}

// TestClientWatchReadsOnce: a watch timer that fires late, beside the one
// of the current request, starts no second read: that read would outlive
// stop and take the first byte of the next request.
func TestClientWatchReadsOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fc := &fastConn{conn: conn}
	w := &fc.watch
	w.fc = fc
	w.arm(new(inflight))
	defer w.timer.Stop()
	first := make(chan struct{})
	go func() { w.run(); close(first) }()
	waitFor(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.reading
	})
	second := make(chan struct{})
	go func() { w.run(); close(second) }() // the late timer
	select {
	case <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("a second watch read runs beside the first")
	}
	w.stop()
	<-first
	io.WriteString(client, "GET")
	b := make([]byte, 3)
	if _, err := io.ReadFull(fc, b); err != nil || string(b) != "GET" || w.hasExtra {
		t.Errorf("after the watch: read %q, %v (watch holds a byte: %v)", b, err, w.hasExtra)
	}
}

// TestFastLoopAnswersBeforeAPipelinedRequest: the answer to a request
// goes out at once, not with that of a slower request pipelined behind it.
func TestFastLoopAnswersBeforeAPipelinedRequest(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
		}
		io.WriteString(w, r.URL.Path)
	}))
	defer up.Close()
	r := NewRouter(discardLogger(), "", 443)
	if err := r.Deploy("app", []string{strings.TrimPrefix(up.URL, "http://")}, nil, fastDeploy(), hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	fast, _ := newLoopFronts(t, r)
	conn, err := net.Dial("tcp", fast.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	first := make(chan struct{})
	go func() {
		select {
		case <-first:
		case <-time.After(5 * time.Second):
		}
		close(release)
	}()
	br := bufio.NewReader(conn)
	for i, want := range []string{"/first", "/hold"} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != want {
			t.Errorf("answer %d: %q, want %q", i, b, want)
		}
		if i == 0 {
			select {
			case <-release:
				t.Error("the first answer waited for the pipelined request behind it")
			default:
			}
			close(first)
		}
	}
}
