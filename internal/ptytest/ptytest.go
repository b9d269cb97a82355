// Package ptytest runs a program on a pseudo-terminal and reads what a
// person would see on it: Screen replays the output the way a terminal
// does for the control sequences kamal's live view uses.
package ptytest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"github.com/creack/pty"
)

// Session is a program running on a pseudo-terminal.
type Session struct {
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

// Start runs cmd with its stdin, stdout and stderr on a new terminal of
// cols x rows.
func Start(cmd *exec.Cmd, cols, rows int) (*Session, error) {
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		return nil, err
	}
	s := &Session{cmd: cmd, pty: f, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return // EIO once the program and its children are gone
			}
		}
	}()
	return s, nil
}

// Resize changes the terminal's size (the program gets SIGWINCH).
func (s *Session) Resize(cols, rows int) error {
	return pty.Setsize(s.pty, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
}

// Output is everything written to the terminal so far.
func (s *Session) Output() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.out.Bytes())
}

// Wait waits for the program to end and all its output to be read.
func (s *Session) Wait() error {
	err := s.cmd.Wait()
	<-s.done
	s.pty.Close()
	var pe *os.PathError
	if errors.As(err, &pe) && errors.Is(pe.Err, syscall.EIO) {
		err = nil
	}
	return err
}

var _ io.Writer = (*Screen)(nil)
