package remote

import (
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// After request/response rounds Linux enters "pingpong" mode and delays
// its ACKs; a connection from dialTCP must leave every read with quick
// acknowledgements on.
func TestDialTCPAcknowledgesAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c) // echo
	}()
	addr := ln.Addr().(*net.TCPAddr)
	c, err := dialTCP(context.Background(), nil, "127.0.0.1", addr.Port, 0, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	qc, ok := c.(*quickAckConn)
	if !ok {
		t.Fatalf("dialTCP returned %T, want *quickAckConn", c)
	}
	buf := make([]byte, 4)
	for i := range 20 {
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		var quick int
		var gerr error
		if err := qc.raw.Control(func(fd uintptr) {
			quick, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
		}); err != nil {
			t.Fatal(err)
		}
		if gerr != nil {
			t.Fatal(gerr)
		}
		if quick != 1 {
			t.Fatalf("round %d: TCP_QUICKACK is %d after a read, want 1", i, quick)
		}
	}
}
