package server

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// ErrMaximumSizeExceeded is returned when a buffer grows past its limit.
var ErrMaximumSizeExceeded = errors.New("maximum size exceeded")

// spillBuffer keeps up to memLimit bytes in memory and the rest in a temp
// file. A max above zero caps the total size.
type spillBuffer struct {
	memLimit int64
	max      int64
	size     int64
	mem      bytes.Buffer
	file     *os.File
	reader   io.Reader
}

func newSpillBuffer(memLimit, max int64) *spillBuffer {
	return &spillBuffer{memLimit: memLimit, max: max}
}

func (b *spillBuffer) Write(p []byte) (int, error) {
	if b.max > 0 && b.size+int64(len(p)) > b.max {
		return 0, ErrMaximumSizeExceeded
	}
	b.size += int64(len(p))
	if b.file == nil {
		room := b.memLimit - int64(b.mem.Len())
		if int64(len(p)) <= room {
			return b.mem.Write(p)
		}
		f, err := os.CreateTemp("", "proxy-buffer-*")
		if err != nil {
			return 0, err
		}
		b.file = f
	}
	return b.file.Write(p)
}

// ReadFrom fills the buffer from r; it stops early when the limit is hit.
func (b *spillBuffer) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		m, err := r.Read(buf)
		if m > 0 {
			if _, werr := b.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// Len is the total number of bytes written.
func (b *spillBuffer) Len() int64 { return b.size }

// Read reads back the memory part, then the spilled file.
func (b *spillBuffer) Read(p []byte) (int, error) {
	if b.reader == nil {
		if b.file != nil {
			if _, err := b.file.Seek(0, io.SeekStart); err != nil {
				return 0, err
			}
			b.reader = io.MultiReader(&b.mem, b.file)
		} else {
			b.reader = &b.mem
		}
	}
	return b.reader.Read(p)
}

// Close removes the spill file, if any.
func (b *spillBuffer) Close() error {
	if b.file == nil {
		return nil
	}
	name := b.file.Name()
	err := b.file.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	b.file = nil
	return err
}
