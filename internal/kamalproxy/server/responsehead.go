package server

import (
	"bytes"
	"io"
	"net/http"
	"net/textproto"
)

// readResponse reads the next response head from the target. The common
// case (HTTP/1.1, a final status, a single Content-Length and none of the
// headers http.ReadResponse treats specially) is parsed from the buffered
// bytes with a few allocations; anything else is left unread and handed to
// http.ReadResponse, which also reports the errors.
func (c *upstreamConn) readResponse(req *http.Request) (*http.Response, error) {
	if head := c.peekHead(); head != nil {
		if res := c.parseHead(head, req); res != nil {
			c.br.Discard(len(head))
			return res, nil
		}
	}
	return http.ReadResponse(c.br, req)
}

// peekHead waits until a whole head ending in CRLF CRLF is buffered and
// returns it without consuming it; nil when the head is larger than the
// buffer, uses bare LF line ends, or the connection failed.
func (c *upstreamConn) peekHead() []byte {
	b, _ := c.waitHead()
	return b
}

// waitHead is peekHead that also returns the error of a connection that
// failed before any of the head arrived. After part of a head, it leaves
// the error to http.ReadResponse.
func (c *upstreamConn) waitHead() ([]byte, error) {
	for {
		n := c.br.Buffered()
		b, _ := c.br.Peek(n)
		if i := bytes.Index(b, []byte("\n\r\n")); i >= 0 {
			b = b[:i+3]
			if bytes.Contains(b, []byte("\n\n")) || bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) {
				return nil, nil
			}
			return b, nil
		}
		if bytes.Contains(b, []byte("\n\n")) || n == c.br.Size() {
			return nil, nil
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			if n > 0 {
				return nil, nil
			}
			return nil, err
		}
	}
}

// parseHead returns the response for head, or nil to leave it to
// http.ReadResponse.
func (c *upstreamConn) parseHead(head []byte, req *http.Request) *http.Response {
	code, ok := statusOf(head)
	if req.Method == http.MethodHead || !ok || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil
	}
	s := string(head) // keys and values below are substrings of this one copy
	lineEnd := indexCRLF(s, 0)
	lines := bytes.Count(head, []byte("\r\n")) - 2
	h := make(http.Header, lines)
	values := make([]string, lines)
	contentLength := int64(-1)
	for pos, i := lineEnd+2, 0; pos < len(s)-2; i++ {
		end := indexCRLF(s, pos)
		line := s[pos:end]
		pos = end + 2
		colon := -1
		for j := 0; j < len(line); j++ {
			if line[j] == ':' {
				colon = j
				break
			}
			if !isTokenByte(line[j]) {
				return nil // spaces before the colon, folded lines, bad names
			}
		}
		if colon <= 0 {
			return nil
		}
		key := line[:colon]
		if !isCanonicalKey(key) {
			key = textproto.CanonicalMIMEHeaderKey(key)
		}
		value := trimOWS(line[colon+1:])
		if !validFieldValue(value) {
			return nil
		}
		switch key {
		case "Transfer-Encoding", "Connection", "Trailer", "Pragma":
			// Framing, close handling and Cache-Control filling are
			// http.ReadResponse's business.
			return nil
		case "Content-Length":
			if contentLength >= 0 {
				return nil
			}
			n, ok := parseContentLength(value)
			if !ok {
				return nil
			}
			contentLength = n
		}
		values[i] = value
		if have, ok := h[key]; ok {
			h[key] = append(have, value)
		} else {
			h[key] = values[i : i+1 : i+1]
		}
	}
	if contentLength < 0 {
		return nil // read until close: rare, and ReadResponse knows how
	}
	res := &http.Response{
		Status:        s[9:lineEnd],
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: contentLength,
		Request:       req,
		Body:          http.NoBody,
	}
	if contentLength > 0 {
		c.body = fixedBody{br: c, left: contentLength}
		res.Body = &c.body
	}
	return res
}

// statusOf reads the status code of an HTTP/1.1 status line as
// http.ReadResponse does: three digits, then the end of the line or a space.
func statusOf(head []byte) (int, bool) {
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) || len(line) > 12 && line[12] != ' ' {
		return 0, false
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false
		}
		code = code*10 + int(d-'0')
	}
	return code, true
}

func indexCRLF(s string, from int) int {
	for i := from; i+1 < len(s); i++ {
		if s[i] == '\r' && s[i+1] == '\n' {
			return i
		}
	}
	return len(s)
}

// isTokenByte reports whether b may appear in a header name.
func isTokenByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isCanonicalKey reports whether k is already in CanonicalMIMEHeaderKey
// form (k holds token bytes only).
func isCanonicalKey(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		b := k[i]
		if upper && 'a' <= b && b <= 'z' || !upper && 'A' <= b && b <= 'Z' {
			return false
		}
		upper = b == '-'
	}
	return true
}

// validFieldValue rejects control characters other than tab, as
// http.ReadResponse does.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

func parseContentLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

// fixedBody reads a body of known length from the connection.
type fixedBody struct {
	br   *upstreamConn
	left int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.br.Read(p)
	b.left -= int64(n)
	if b.left == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *fixedBody) Close() error { return nil }
