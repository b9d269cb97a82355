package server

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
)

// fastRequest is a request head the fast loop serves itself: HTTP/1.1,
// origin form, no body, nothing net/http would treat specially. Its
// strings are substrings of one copy of the head.
type fastRequest struct {
	method, uri string
	path, query string // uri split at the first '?'
	host        string
	fields      []fastField // every header line but Host, in order
	userAgent   string      // the first User-Agent value
	close       bool        // Connection: close
}

// fastField is one header line; name is in canonical form.
type fastField struct{ name, value string }

// maxFastFields bounds the header lines of a head the fast loop serves;
// net/http takes heads with more (up to its byte limit).
const maxFastFields = 100

// headEnd finds the end of the request head at the start of b: the index
// after CRLF CRLF, 0 when the head is not complete yet, or -1 when it ends
// in a way only net/http should judge (bare LF line ends).
func headEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j
		if i == 0 || b[i-1] != '\r' {
			return -1 // a bare LF: net/http reads it as a line end
		}
		if i >= 3 && b[i-2] == '\n' && b[i-3] == '\r' {
			return i + 1
		}
		i++
	}
}

// parseFastRequest parses a complete head (see headEnd) into rq, reusing
// rq's storage. It reports false for anything the fast loop leaves to
// net/http: other versions and forms, bodies, upgrades, Expect, trailers,
// escapes in the path, unusual bytes, and every head net/http would reject
// (which it then answers with its own error).
func parseFastRequest(head []byte, rq *fastRequest) bool {
	s := string(head) // the one copy every field below points into
	fields := rq.fields[:0]
	*rq = fastRequest{fields: fields}
	line, rest, _ := strings.Cut(s, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	uri, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !isToken(method) || method == http.MethodConnect || !parseFastURI(uri, rq) {
		return false
	}
	rq.method, rq.uri = method, uri
	var haveHost, haveUA, haveLength bool
	for {
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" {
			break
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) || len(fields) == maxFastFields {
			return false
		}
		name := line[:colon]
		if !isCanonicalKey(name) {
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		value := trimOWS(line[colon+1:])
		if !isPlainValue(value) {
			return false
		}
		switch name {
		case "Host":
			if haveHost || !isPlainHost(value) {
				return false
			}
			haveHost, rq.host = true, value
			continue // net/http keeps it out of the header map too
		case "Content-Length":
			// A body-less request may say so; any other length is a body.
			if haveLength || value != "0" {
				return false
			}
			haveLength = true
		case "Transfer-Encoding", "Expect", "Upgrade", "Te", "Trailer":
			return false
		case "Connection":
			if !parseConnection(value, rq) {
				return false
			}
		case "User-Agent":
			if !haveUA {
				haveUA, rq.userAgent = true, value
			}
		}
		fields = append(fields, fastField{name, value})
	}
	rq.fields = fields
	return haveHost
}

// parseFastURI splits an origin-form target the fast loop forwards as it
// came: a path of characters that need no escaping, and a query that
// ReverseProxy would not re-encode either.
func parseFastURI(uri string, rq *fastRequest) bool {
	if uri == "" || uri[0] != '/' {
		return false
	}
	path, query, hasQuery := strings.Cut(uri, "?")
	for i := 0; i < len(path); i++ {
		if !pathByte[path[i]] {
			return false
		}
	}
	if hasQuery {
		for i := 0; i < len(query); i++ {
			if c := query[i]; c <= ' ' || c >= 0x7f || c == '#' {
				return false
			}
		}
		if !queryIsClean(query) {
			return false
		}
	}
	rq.path, rq.query = path, query
	return true
}

// pathByte marks the bytes a path may hold and still reach the upstream
// and the access log unchanged: unreserved characters, sub-delimiters,
// ':', '@' and '/'.
var pathByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:@/", byte(c)) >= 0
	}
	return t
}()

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

// isPlainValue accepts visible ASCII, spaces and tabs; other bytes, valid
// or not, are left to net/http.
func isPlainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// isPlainHost accepts host names, IPv4 and bracketed IPv6 addresses with an
// optional port: what routing and the upstream see the same on both paths.
func isPlainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// trimOWS trims spaces and tabs, as net/http does with header values;
// other bytes (a stray CR) stay and make the value invalid.
func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}

// parseConnection accepts the Connection tokens the fast loop knows.
func parseConnection(v string, rq *fastRequest) bool {
	for tok := range strings.SplitSeq(v, ",") {
		switch tok = trimOWS(tok); {
		case strings.EqualFold(tok, "close"):
			rq.close = true
		case strings.EqualFold(tok, "keep-alive"):
		default:
			return false
		}
	}
	return true
}

// first returns the first value of a canonical header name, or "".
func (rq *fastRequest) first(name string) string {
	for _, f := range rq.fields {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

func (rq *fastRequest) has(name string) bool {
	for _, f := range rq.fields {
		if f.name == name {
			return true
		}
	}
	return false
}

// replayable is isReplayable for a fast request.
func (rq *fastRequest) replayable() bool {
	switch rq.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return rq.has("Idempotency-Key") || rq.has("X-Idempotency-Key")
}
