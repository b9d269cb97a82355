package ptytest

import (
	"os/exec"
	"strings"
	"testing"
)

func TestScreen(t *testing.T) {
	s := Replay([]byte("first\nlive 1\x1b[K\nlive 2\x1b[K\n\x1b[2A\rdone\x1b[K\nlive 2b\x1b[K\n\x1b[J"))
	if got, want := s.Text(), "first\ndone\nlive 2b"; got != want {
		t.Errorf("screen:\n%s\nwant\n%s", got, want)
	}
	if s.Redraws != 1 {
		t.Errorf("redraws = %d", s.Redraws)
	}
	s = Replay([]byte("a\nb\nc\n\x1b[2A\r\x1b[J"))
	if got := s.Text(); got != "a" {
		t.Errorf("erase below: %q", got)
	}
}

func TestSessionIsATerminal(t *testing.T) {
	if _, err := exec.LookPath("stty"); err != nil {
		t.Skip("no stty")
	}
	s, err := Start(exec.Command("sh", "-c", "test -t 1 && stty size"), 97, 31)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("%v: %s", err, s.Output())
	}
	if got := strings.TrimSpace(string(s.Output())); got != "31 97" {
		t.Errorf("stty size on the terminal = %q, want 31 97", got)
	}
}
