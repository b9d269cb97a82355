package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// NewLogHandler returns the proxy's log handler: JSON objects, one a line,
// byte for byte as slog.JSONHandler writes them. Access-log lines, most of
// the log, are encoded straight into a buffer instead of going through
// slog's records and generic attribute handling.
func NewLogHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts != nil && (opts.ReplaceAttr != nil || opts.AddSource) {
		return slog.NewJSONHandler(w, opts) // output the fast path would not match
	}
	out := &lockedWriter{w: w}
	return &logHandler{Handler: slog.NewJSONHandler(out, opts), out: out}
}

type logHandler struct {
	slog.Handler // for every other record
	out          *lockedWriter
}

// lockedWriter keeps the lines of both paths whole.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fieldSink receives the access log's fields in order.
type fieldSink interface {
	str(key, v string)
	num(key string, v int64)
}

// attrSink collects the fields as slog attributes (any other handler).
type attrSink struct{ attrs []slog.Attr }

func (a *attrSink) str(k, v string)       { a.attrs = append(a.attrs, slog.String(k, v)) }
func (a *attrSink) num(k string, v int64) { a.attrs = append(a.attrs, slog.Int64(k, v)) }

// jsonSink appends the fields to a JSON object.
type jsonSink struct{ buf []byte }

func (j *jsonSink) key(k string) {
	j.buf = append(j.buf, ',', '"')
	j.buf = appendJSONEscaped(j.buf, k)
	j.buf = append(j.buf, '"', ':')
}

func (j *jsonSink) str(k, v string) {
	j.key(k)
	j.buf = append(j.buf, '"')
	j.buf = appendJSONEscaped(j.buf, v)
	j.buf = append(j.buf, '"')
}

func (j *jsonSink) num(k string, v int64) {
	j.key(k)
	j.buf = strconv.AppendInt(j.buf, v, 10)
}

var jsonSinks = sync.Pool{New: func() any { return &jsonSink{buf: make([]byte, 0, 1024)} }}
var attrSinks = sync.Pool{New: func() any { return &attrSink{attrs: make([]slog.Attr, 0, 32)} }}

// logFields writes one record at info level with the fields emit gives;
// the caller has checked that the level is enabled.
func logFields(ctx context.Context, log *slog.Logger, msg string, emit func(fieldSink)) {
	if lh, ok := log.Handler().(*logHandler); ok {
		j := jsonSinks.Get().(*jsonSink)
		j.buf = append(j.buf[:0], `{"time":"`...)
		j.buf = time.Now().AppendFormat(j.buf, time.RFC3339Nano)
		j.buf = append(j.buf, `","level":"INFO","msg":"`...)
		j.buf = appendJSONEscaped(j.buf, msg)
		j.buf = append(j.buf, '"')
		emit(j)
		j.buf = append(j.buf, '}', '\n')
		_, _ = lh.out.Write(j.buf)
		if cap(j.buf) <= 64<<10 {
			jsonSinks.Put(j)
		}
		return
	}
	a := attrSinks.Get().(*attrSink)
	emit(a)
	log.LogAttrs(ctx, slog.LevelInfo, msg, a.attrs...) // the record copies them
	clear(a.attrs)                                     // drop references to request data
	a.attrs = a.attrs[:0]
	attrSinks.Put(a)
}

// jsonPlain marks the bytes copied as they are: printable ASCII other
// than the quote and the backslash.
var jsonPlain = func() (t [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendJSONEscaped appends s as the inside of a JSON string with the
// escapes slog.JSONHandler uses: quote, backslash and control characters,
// U+2028 and U+2029, and invalid UTF-8 as U+FFFD.
func appendJSONEscaped(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if jsonPlain[b] {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[c&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(buf, s[start:]...)
}
