package server

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seenRequest is what an upstream received.
type seenRequest struct {
	Method, URI, Host string
	Header            http.Header
}

// shapesApp answers with the response shapes the proxy must pass on
// unchanged and records every request head it receives.
type shapesApp struct {
	mu   sync.Mutex
	seen []seenRequest
}

func (a *shapesApp) last() seenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[len(a.seen)-1]
}

func (a *shapesApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen = append(a.seen, seenRequest{r.Method, r.RequestURI, r.Host, r.Header.Clone()})
	a.mu.Unlock()
	h := w.Header()
	switch r.URL.Path {
	case "/hop":
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "secret")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("X-Keep", "yes")
		fmt.Fprint(w, "hop")
	case "/trailers":
		h.Set("Trailer", "X-Sum")
		w.Write([]byte("part1 "))
		http.NewResponseController(w).Flush()
		w.Write([]byte("part2"))
		h.Set("X-Sum", "42")
		h.Set(http.TrailerPrefix+"X-Late", "late")
	case "/early":
		h.Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		h.Del("Link")
		fmt.Fprint(w, "after hints")
	case "/nocontent":
		w.WriteHeader(http.StatusNoContent)
	case "/cookies":
		h.Add("Set-Cookie", "a=1; Path=/")
		h.Add("Set-Cookie", "b=2; Path=/")
		h.Set("X-Request-Id", "from-app") // the proxy's own ID wins
		fmt.Fprint(w, "cookies")
	case "/sse":
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		fmt.Fprint(w, "data: 1\n\n")
		http.NewResponseController(w).Flush()
		fmt.Fprint(w, "data: 2\n\n")
	case "/stream":
		for i := range 3 {
			fmt.Fprintf(w, "chunk %d;", i)
			http.NewResponseController(w).Flush()
		}
	case "/error":
		http.Error(w, "app failed", http.StatusInternalServerError)
	case "/sniff":
		h.Set("Content-Length", "27")
		fmt.Fprint(w, "<html><b>sniffed</b></html>")
	case "/large":
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", "1048576")
		w.Write(make([]byte, 1<<20))
	default:
		h.Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.RequestURI())
	}
}

// seenResponse is what a client received.
type seenResponse struct {
	Status         int
	Header         http.Header
	Body           string
	Trailer        http.Header
	Informational  []int
	ContentLength  int64
	TransferChunks bool
}

// TestDirectPathMatchesReverseProxy sends the same requests through the
// direct path and through httputil.ReverseProxy and compares what the
// upstream and the client see.
func TestDirectPathMatchesReverseProxy(t *testing.T) {
	app := &shapesApp{}
	up := httptest.NewServer(app)
	defer up.Close()
	requests := []struct {
		method, path string
		header       map[string]string
	}{
		{"GET", "/", nil},
		{"GET", "/a%2Fb/c%20d?x=1&y=%20z", map[string]string{"X-Custom": "a", "Accept-Encoding": "gzip"}},
		{"GET", "/", map[string]string{"Connection": "X-Drop, keep-alive", "X-Drop": "gone", "Keep-Alive": "300",
			"Proxy-Authorization": "Basic eDp5", "Te": "trailers, deflate", "Upgrade-Insecure-Requests": "1"}},
		{"GET", "/", map[string]string{"Forwarded": "for=192.0.2.9", "X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https",
			"X-Forwarded-Host": "orig.test", "X-Kamal-Target": "prev:1", "User-Agent": "ua/1"}},
		{"GET", "/", map[string]string{"User-Agent": ""}},
		{"POST", "/", nil},
		{"PUT", "/", nil},
		{"DELETE", "/thing/1", nil},
		{"OPTIONS", "/", nil},
		{"HEAD", "/", nil},
		{"HEAD", "/stream", nil},
		{"GET", "/hop", nil},
		{"GET", "/trailers", map[string]string{"Te": "trailers"}},
		{"GET", "/early", nil},
		{"GET", "/nocontent", nil},
		{"GET", "/cookies", nil},
		{"GET", "/sse", nil},
		{"GET", "/stream", nil},
		{"GET", "/error", nil},
	}
	for _, c := range []struct {
		fwd, h2 bool
	}{{true, false}, {false, false}, {true, true}} {
		opts := DefaultTargetOptions()
		opts.ForwardHeaders = c.fwd
		tg, err := NewTarget(strings.TrimPrefix(up.URL, "http://"), false, opts, discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		direct := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !directEligible(r) {
				t.Errorf("%s %s: not eligible for the direct path", r.Method, r.URL)
			}
			tg.forward(w, r, &inflight{})
		}))
		viaReverseProxy := httptest.NewUnstartedServer(tg.proxy)
		for _, s := range []*httptest.Server{direct, viaReverseProxy} {
			if c.h2 {
				s.EnableHTTP2 = true
				s.StartTLS()
			} else {
				s.Start()
			}
		}
		for _, rq := range requests {
			if _, ok := rq.header["Connection"]; ok && c.h2 {
				continue // HTTP/2 has no connection-specific headers
			}
			name := fmt.Sprintf("forward-headers=%v h2=%v %s %s %v", c.fwd, c.h2, rq.method, rq.path, rq.header)
			var got [2]seenResponse
			var sent [2]seenRequest
			for i, s := range []*httptest.Server{direct, viaReverseProxy} {
				got[i] = doRecorded(t, s.Client().Transport.(*http.Transport), rq.method, s.URL+rq.path, rq.header)
				sent[i] = app.last()
			}
			if !reflect.DeepEqual(sent[0], sent[1]) {
				t.Errorf("%s: upstream got\ndirect        %+v\nReverseProxy  %+v", name, sent[0], sent[1])
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Errorf("%s: client got\ndirect        %+v\nReverseProxy  %+v", name, got[0], got[1])
			}
			if rq.method == "POST" && fmt.Sprint(sent[0].Header["Content-Length"]) != "[0]" {
				t.Errorf("%s: Content-Length %v, want 0", name, sent[0].Header["Content-Length"])
			}
		}
		direct.Close()
		viaReverseProxy.Close()
		tg.stop()
	}
}

func doRecorded(t *testing.T, tr *http.Transport, method, url string, header map[string]string) seenResponse {
	t.Helper()
	var out seenResponse
	req, _ := http.NewRequest(method, url, nil)
	req.Host = "app.test"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			out.Informational = append(out.Informational, code)
			return nil
		},
	}))
	tr = tr.Clone()
	tr.DisableCompression = true
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out.Status, out.Body, out.Trailer, out.ContentLength = res.StatusCode, string(b), res.Trailer, res.ContentLength
	out.TransferChunks = len(res.TransferEncoding) > 0
	out.Header = res.Header.Clone()
	out.Header.Del("Date")
	return out
}

// rawApp is an upstream on loopback that hands every connection to serve
// and closes it when serve returns.
func rawApp(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// staleApp is an upstream that closes each connection after one response
// without saying so, as an upstream does when its keep-alive timeout ends.
// Every close is reported on closed.
func staleApp(t *testing.T) (addr string, conns *atomic.Int64, closed chan struct{}) {
	t.Helper()
	conns, closed = new(atomic.Int64), make(chan struct{}, 100)
	addr = rawApp(t, func(c net.Conn) {
		conns.Add(1)
		defer func() { c.Close(); closed <- struct{}{} }()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.Method), req.Method)
	})
	return addr, conns, closed
}

// TestDirectPathReplacesClosedConnections: a pooled connection the
// upstream has closed is not used for a request that cannot be sent twice,
// and a request that can is sent again on a new connection.
func TestDirectPathReplacesClosedConnections(t *testing.T) {
	addr, conns, closed := staleApp(t)
	tg, err := NewTarget(addr, false, DefaultTargetOptions(), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.forward(w, r, &inflight{})
	}))
	defer front.Close()
	for i, method := range []string{"GET", "GET", "DELETE", "POST", "GET", "DELETE"} {
		req, _ := http.NewRequest(method, front.URL+"/", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != method {
			t.Errorf("request %d (%s): %d %q", i, method, res.StatusCode, b)
		}
		<-closed // the next request finds the pooled connection closed
	}
	if n := conns.Load(); n != 6 {
		t.Errorf("upstream saw %d connections, want 6", n)
	}
}

// TestDirectPathReusesConnections: sequential requests share one upstream
// connection.
func TestDirectPathReusesConnections(t *testing.T) {
	var mu sync.Mutex
	peers := map[string]bool{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/up" { // health checks have their own client
			mu.Lock()
			peers[r.RemoteAddr] = true
			mu.Unlock()
		}
		fmt.Fprint(w, "ok")
	}))
	defer up.Close()
	p := newTestProxy(t)
	p.deploy(t, "app", hostOpts(), &testApp{srv: up})
	for range 20 {
		if status, body, _ := p.get(t, "x", "/"); status != 200 || body != "ok" {
			t.Fatalf("%d %q", status, body)
		}
	}
	if len(peers) != 1 {
		t.Errorf("20 requests used %d upstream connections, want 1", len(peers))
	}
}

// lineWatch closes found once a written line contains want.
type lineWatch struct {
	want  string
	found chan struct{}
	once  sync.Once
}

func (l *lineWatch) Write(p []byte) (int, error) {
	if strings.Contains(string(p), l.want) {
		l.once.Do(func() { close(l.found) })
	}
	return len(p), nil
}

// TestDirectPathClientGoneCutsUpstream: when the client leaves while the
// upstream is still working, the upstream request is cancelled and the
// access log says 499.
func TestDirectPathClientGoneCutsUpstream(t *testing.T) {
	arrived, cancelled := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			return
		}
		close(arrived)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	}))
	defer up.Close()
	logs := &lineWatch{want: `"status":499`, found: make(chan struct{})}
	r := NewRouter(discardLogger(), "", 443)
	t.Cleanup(r.Shutdown)
	url := newAccessServer(t, r, slog.New(NewLogHandler(logs, nil)))
	if err := r.Deploy("app", []string{strings.TrimPrefix(up.URL, "http://")}, nil, fastDeploy(), hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the upstream")
	}
	conn.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	select {
	case <-logs.found:
	case <-time.After(5 * time.Second):
		t.Fatal("no 499 in the access log")
	}
}

// rawHeads are upstream answers, byte for byte, that the direct path's own
// head parser must treat exactly like http.ReadResponse.
var rawHeads = map[string]string{
	"/lower":      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-lower-case: a\r\nContent-Length: 2\r\n\r\nhi",
	"/barelf":     "HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nhi",
	"/pragma":     "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nhi",
	"/connection": "HTTP/1.1 200 OK\r\nConnection: close, X-Gone\r\nX-Gone: 1\r\nContent-Length: 2\r\n\r\nhi",
	"/twocl":      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
	"/http10":     "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
	"/untilclose": "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nhi",
	"/nocontent":  "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
	"/spaces":     "HTTP/1.1 201 Created\r\nX-Space:  \t padded \t \r\nX-Empty:\r\nX-Dup: 1\r\nX-Dup: 2\r\nContent-Length: 0\r\n\r\n",
	"/fold":       "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 2\r\n\r\nhi",
	"/badcl":      "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nhi",
	"/noreason":   "HTTP/1.1 404\r\nContent-Length: 2\r\n\r\nhi",
	"/long":       "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("v", 5000) + "\r\nContent-Length: 2\r\n\r\nhi",
	"/ctl":        "HTTP/1.1 200 OK\r\nX-Ctl: a\x01b\r\nContent-Length: 2\r\n\r\nhi",
	"/shortbody":  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi",
	"/nodate":     "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n<html>hi</html>",
	"/hopresp":    "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nX-Writer-Affinity: false\r\nX-Request-Id: app\r\nProxy-Authenticate: Basic\r\nTe: x\r\nContent-Length: 2\r\n\r\nhi",
	"/status299":  "HTTP/1.1 299 Custom\r\nContent-Length: 0\r\n\r\n",
	"/status600":  "HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n",
	"/encoded":    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
	"/emptytype":  "HTTP/1.1 200 OK\r\nContent-Type:\r\nContent-Length: 2\r\n\r\nhi",
	"/notype":     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
	"/leadzero":   "HTTP/1.1 200 OK\r\nContent-Length: 002\r\n\r\nhi",
	"/bigsniff":   "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + strings.Repeat("\x00a", 1500),
}

func rawHeadApp(t *testing.T) string {
	t.Helper()
	return rawApp(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			answer, ok := rawHeads[req.URL.Path]
			if !ok {
				answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			}
			if req.Method == http.MethodHead { // the head only
				if i := strings.Index(answer, "\r\n\r\n"); i >= 0 {
					answer = answer[:i+4]
				} else if i := strings.Index(answer, "\n\n"); i >= 0 {
					answer = answer[:i+2]
				}
			}
			io.WriteString(c, answer)
			if strings.Contains(answer, "close") || strings.HasPrefix(answer, "HTTP/1.0") || !strings.Contains(answer, "Content-Length") || req.URL.Path == "/shortbody" {
				return
			}
		}
	})
}

// TestDirectPathReadsHeadsLikeReadResponse compares unusual upstream
// answers through both paths.
func TestDirectPathReadsHeadsLikeReadResponse(t *testing.T) {
	tg, err := NewTarget(rawHeadApp(t), false, DefaultTargetOptions(), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.forward(w, r, &inflight{})
	}))
	defer direct.Close()
	viaReverseProxy := httptest.NewServer(tg.proxy)
	defer viaReverseProxy.Close()
	for path := range rawHeads {
		for _, method := range []string{"GET", "HEAD"} {
			var got [2]string
			var typed [2]bool
			for i, base := range []string{direct.URL, viaReverseProxy.URL} {
				req, _ := http.NewRequest(method, base+path, nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					got[i] = "error" // the URLs differ
					continue
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				res.Header.Del("Date")
				_, typed[i] = res.Header["Content-Type"]
				if path == "/untilclose" {
					// ReverseProxy flushes the head of a response of
					// unknown length from a timer that races its first
					// body write: sniffed or not, by chance.
					res.Header.Del("Content-Type")
				}
				got[i] = fmt.Sprintf("%d %v %q cl=%d err=%v", res.StatusCode, res.Header, b, res.ContentLength, err != nil)
			}
			if got[0] != got[1] {
				t.Errorf("%s %s:\ndirect        %s\nReverseProxy  %s", method, path, got[0], got[1])
			}
			if path == "/untilclose" && method == "GET" && !typed[0] {
				t.Errorf("GET /untilclose: the direct path sent no sniffed Content-Type")
			}
		}
	}
}
