//go:build !linux

package remote

import (
	"errors"
	"net"
	"syscall"
)

// Kept connections need SO_PEERCRED to check who connects; elsewhere
// every run connects directly.
const persistSupported = false

var errNoPersist = errors.New("kept connections are not supported on this system")

func checkPrivateDir(string) error                        { return errNoPersist }
func peerUID(net.Conn) (int, error)                       { return -1, errNoPersist }
func lockFile(string) (unlock func(), ok bool, err error) { return nil, false, errNoPersist }
func detached() *syscall.SysProcAttr                      { return nil }
