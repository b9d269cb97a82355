//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package server

// closedByPeer cannot look without blocking here; a failed request on a
// reused connection is still retried when it can be.
func (c *upstreamConn) closedByPeer() bool { return false }
