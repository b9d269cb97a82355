package remote

import (
	"net"
	"syscall"
)

// quickAckConn turns off delayed acknowledgements after every read.
//
// sshd leaves Nagle's algorithm on for sessions without a terminal. Right
// after authentication it sends two small packets (the success and its
// host-key announcement); when our channel-open request leaves between
// them, the second stays unacknowledged and the server's reply to that
// request waits in its kernel until our delayed ACK fires, about 40 ms on
// Linux, once per connection. Acknowledging at once removes the stall.
// Linux falls back to delayed ACKs on its own, hence the call after every
// read rather than once.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, raw: raw}
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 {
		_ = c.raw.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return n, err
}
