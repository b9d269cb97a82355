package remote

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

// openPTY returns the controller and the terminal side of a new pty.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}

// Interactive mode uses the local terminal's size for the remote PTY, puts
// the local terminal in raw mode while the command runs and restores it.
func TestInteractiveUsesLocalTerminal(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.34", sshtest.Options{}, e.key)
	p := e.pool(e.opts(srv.Port), nil)
	ptmx, tty := openPTY(t)
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&unix.ICANON == 0 {
		t.Fatal("new pty is not in canonical mode")
	}
	// The remote command reports the size, then reads one line typed on
	// the local terminal; raw mode must be on by then.
	var rawDuringRun bool
	typed := make(chan struct{})
	stdout := writerFunc(func(b []byte) {
		if strings.Contains(string(b), "ready") {
			select {
			case <-typed:
			default:
				st, _ := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
				rawDuringRun = st != nil && st.Lflag&unix.ICANON == 0
				close(typed)
				_, _ = ptmx.Write([]byte("typed\r"))
			}
		}
	})
	res, err := p.Exec(context.Background(), srv.IP, "stty size; echo ready; read line; echo got:$line", ExecOptions{Interactive: true, Stdin: tty, Stdout: stdout})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Stdout, "40 100") || !strings.Contains(res.Stdout, "got:typed") {
		t.Fatalf("stdout = %q", res.Stdout)
	}
	if !rawDuringRun {
		t.Error("local terminal was not in raw mode during the command")
	}
	if !term.IsTerminal(int(tty.Fd())) {
		t.Fatal("tty lost")
	}
	after, _ := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal not restored: before %+v after %+v", before, after)
	}
}
