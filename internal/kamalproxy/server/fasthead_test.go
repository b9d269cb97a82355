package server

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseFastRequest: every head the fast loop serves itself, net/http
// reads the same way (method, target, path, query, Host, header values,
// no body) and would send on the direct path; and net/http's reader stops
// where headEnd says the head ends.
func FuzzParseFastRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: app.test:8080\r\nUser-Agent: u\r\nX-A: 1\r\nx-a:  2 \r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close, keep-alive\r\n\r\nGET / HTTP/1.1\r\n",
		"HEAD /!$&'()*+,;=:@-._~ HTTP/1.1\r\nHost: [::1]:80\r\nCookie: a=b; c=d\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \t\r\nY:\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET /%41 HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end := headEnd(b)
		if end <= 0 {
			return
		}
		var rq fastRequest
		if !parseFastRequest(b[:end], &rq) {
			return
		}
		br := bufio.NewReader(bytes.NewReader(b))
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("the fast loop took %q, net/http refuses it: %v", b[:end], err)
		}
		if rest := len(b) - br.Buffered(); rest != end {
			t.Fatalf("%q: head ends at %d, net/http read %d", b, end, rest)
		}
		if req.Method != rq.method || req.RequestURI != rq.uri || req.URL.Path != rq.path || req.URL.RawQuery != rq.query ||
			req.URL.RequestURI() != rq.uri || req.Host != rq.host || req.Proto != "HTTP/1.1" || req.UserAgent() != rq.userAgent {
			t.Fatalf("%q: net/http read %s %q path %q query %q host %q ua %q, the fast loop %+v",
				b[:end], req.Method, req.RequestURI, req.URL.Path, req.URL.RawQuery, req.Host, req.UserAgent(), rq)
		}
		h := http.Header{}
		for _, f := range rq.fields {
			h[f.name] = append(h[f.name], f.value)
		}
		if !reflect.DeepEqual(h, req.Header) && !(len(h) == 0 && len(req.Header) == 0) {
			t.Fatalf("%q: headers\nnet/http  %v\nfast loop %v", b[:end], req.Header, h)
		}
		if req.ContentLength != 0 || req.Body != http.NoBody || len(req.TransferEncoding) > 0 {
			t.Fatalf("%q: net/http reads a body (length %d)", b[:end], req.ContentLength)
		}
		if !directEligible(req) {
			t.Fatalf("%q: not for the direct path", b[:end])
		}
		if rq.close != req.Close {
			t.Fatalf("%q: close %v, net/http %v", b[:end], rq.close, req.Close)
		}
		if strings.Contains(rq.path, "%") {
			t.Fatalf("%q: escaped path", b[:end])
		}
	})
}

// FuzzParseFastResponse: every upstream head the fast loop writes itself,
// http.ReadResponse reads the same way: status, length, and the headers
// the client gets.
func FuzzParseFastResponse(f *testing.F) {
	for _, seed := range rawHeads {
		f.Add([]byte(seed), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\nhi"), true)
	f.Fuzz(func(t *testing.T, b []byte, head bool) {
		c := &upstreamConn{br: bufio.NewReader(bytes.NewReader(b))}
		h, err := c.waitHead()
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		var r fastResponse
		if err != nil || !r.parse(h, method) {
			return
		}
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("the fast loop took %q, http.ReadResponse refuses it: %v", h, err)
		}
		if res.StatusCode != r.code || res.ContentLength != r.contentLength || res.Close || len(res.TransferEncoding) > 0 {
			t.Fatalf("%q: ReadResponse %d length %d close %v, the fast loop %d length %d", h, res.StatusCode, res.ContentLength, res.Close, r.code, r.contentLength)
		}
		removeHopHeaders(res.Header)
		res.Header.Del("X-Writer-Affinity")
		res.Header.Del("X-Request-Id")
		got := http.Header{}
		var sc fieldScanner
		for sc.reset(h); sc.next(); {
			if forwardedField(sc.key) {
				got[string(sc.key)] = append(got[string(sc.key)], string(sc.value))
			}
		}
		if sc.bad || !reflect.DeepEqual(got, res.Header) && !(len(got) == 0 && len(res.Header) == 0) {
			t.Fatalf("%q: headers\nReadResponse %v\nfast loop    %v", h, res.Header, got)
		}
	})
}
