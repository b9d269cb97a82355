//go:build !linux

package remote

import "net"

// withQuickAck is a no-op where TCP_QUICKACK does not exist (see
// quickack_linux.go).
func withQuickAck(c net.Conn) net.Conn { return c }
