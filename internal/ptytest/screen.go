package ptytest

import (
	"strconv"
	"strings"
)

// Screen is a terminal without a bottom: lines scroll into an unbounded
// history, so the whole session can be read back. It understands what
// kamal writes: text, CR, LF, backspace, cursor up (CSI n A), erase in
// line (CSI K) and erase below (CSI J); other sequences are ignored.
type Screen struct {
	lines    [][]rune
	row, col int
	esc      []byte // an escape sequence being read
	// Redraws counts cursor-up sequences, the live view's redraws.
	Redraws int
}

// Write interprets p.
func (s *Screen) Write(p []byte) (int, error) {
	for _, r := range string(p) {
		s.put(r)
	}
	return len(p), nil
}

func (s *Screen) put(r rune) {
	if s.esc != nil {
		s.esc = append(s.esc, string(r)...)
		if len(s.esc) == 1 {
			if r != '[' {
				s.esc = nil // a two-character escape: ignored
			}
			return
		}
		if r >= 0x40 && r <= 0x7e {
			s.csi(string(s.esc[1:len(s.esc)-1]), r)
			s.esc = nil
		}
		return
	}
	switch r {
	case 0x1b:
		s.esc = []byte{}
	case '\r':
		s.col = 0
	case '\n':
		s.row++
		s.col = 0
	case '\b':
		if s.col > 0 {
			s.col--
		}
	default:
		line := s.line()
		for len(*line) <= s.col {
			*line = append(*line, ' ')
		}
		(*line)[s.col] = r
		s.col++
	}
}

func (s *Screen) line() *[]rune {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
	return &s.lines[s.row]
}

func (s *Screen) csi(params string, final rune) {
	n, err := strconv.Atoi(params)
	if err != nil || n < 1 {
		n = 1
	}
	switch final {
	case 'A':
		s.row = max(0, s.row-n)
		s.Redraws++
	case 'K':
		line := s.line()
		if len(*line) > s.col {
			*line = (*line)[:s.col]
		}
	case 'J':
		line := s.line()
		if len(*line) > s.col {
			*line = (*line)[:s.col]
		}
		if len(s.lines) > s.row+1 {
			s.lines = s.lines[:s.row+1]
		}
	}
}

// Lines are the screen's lines, trailing spaces and the empty last line
// (where the cursor waits) removed.
func (s *Screen) Lines() []string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// Text is Lines joined with newlines.
func (s *Screen) Text() string { return strings.Join(s.Lines(), "\n") }

// Replay is a Screen after out was written to it.
func Replay(out []byte) *Screen {
	s := &Screen{}
	_, _ = s.Write(out)
	return s
}
