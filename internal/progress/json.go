package progress

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// TimeFormat is the "time" of every JSON event: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// JSON renders newline-delimited JSON: one object per event, each with
// "type" and "time" first. Command output lines are left out (a failed
// command carries its tail). Nothing else is written to w.
type JSON struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewJSON returns a JSON renderer writing to w.
func NewJSON(w io.Writer) *JSON { return &JSON{w: w, now: time.Now} }

func (j *JSON) Emit(e Event) {
	if _, ok := e.(CommandOutput); ok {
		return
	}
	line, err := MarshalEvent(e, j.now())
	if err != nil {
		// Every event type marshals; a Result whose Data does not is
		// reported without it rather than lost.
		if r, ok := e.(Result); ok {
			r.Data, r.OK, r.Error = nil, false, "encoding the result: "+err.Error()
			line, _ = MarshalEvent(r, j.now())
		} else {
			return
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.w.Write(line)
}

func (j *JSON) Close() error { return nil }

// MarshalEvent is e as one JSON line: {"type":...,"time":...,<fields>}\n.
func MarshalEvent(e Event, t time.Time) ([]byte, error) {
	fields, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	typ, _ := json.Marshal(e.Type())
	b.Write(typ)
	b.WriteString(`,"time":"`)
	b.WriteString(t.UTC().Format(TimeFormat))
	b.WriteByte('"')
	if len(fields) > 2 { // not "{}"
		b.WriteByte(',')
		b.Write(fields[1:])
	} else {
		b.WriteByte('}')
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
