//go:build linux || darwin || freebsd || netbsd || openbsd

package server

import "syscall"

// closedByPeer reports whether the upstream has closed the connection (or
// sent something unasked) while it was idle, without blocking.
func (c *upstreamConn) closedByPeer() bool {
	if c.raw == nil {
		return false
	}
	var buf [1]byte
	gone := false
	err := c.raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = n >= 0 && err == nil || err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
		return true
	})
	return gone || err != nil
}
