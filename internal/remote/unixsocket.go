package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"golang.org/x/crypto/ssh"
)

// DialUnix connects to the Unix socket at path on host through the host's
// pooled SSH connection (OpenSSH's direct-streamlocal@openssh.com channel,
// what `ssh -L local:/remote.sock` uses), so talking to a server's Docker
// socket costs no new connection and no session. The socket is opened by
// sshd as the login user, with that user's permissions.
//
// The connection counts as activity on the host's SSH connection until it is
// closed. A refusal (sshd forbids stream-local forwarding, the socket is
// missing or not accessible to the user) is a *UnixSocketError.
func (p *Pool) DialUnix(ctx context.Context, host, path string) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		c, err := p.hostConn(ctx, host)
		if err != nil {
			return nil, p.out.Redactor().Error(err)
		}
		nc, err := c.client.DialContext(ctx, "unix", path)
		if err == nil {
			return &pooledConn{Conn: nc, release: func() { p.release(c) }}, nil
		}
		p.release(c)
		var refused *ssh.OpenChannelError
		if errors.As(err, &refused) {
			return nil, &UnixSocketError{Host: host, Path: path, Reason: refused.Message}
		}
		if attempt > 0 || !deadConnection(err) {
			return nil, fmt.Errorf("connecting to %s on %s over SSH: %w", path, host, err)
		}
		p.discard(c) // gone since its last use: once more on a fresh one
	}
}

// UnixSocketError is a Unix socket that the host's sshd would not connect
// to. OpenSSH gives the same answer ("open failed") whether forwarding is
// disabled, the socket does not exist or the user may not open it; its log
// on the host tells which.
type UnixSocketError struct {
	Host   string
	Path   string
	Reason string // the server's message
}

func (e *UnixSocketError) Error() string {
	return fmt.Sprintf("sshd on %s refused to connect to %s (%s): stream-local forwarding may be disabled (AllowStreamLocalForwarding), or the socket is missing or not accessible to the login user",
		e.Host, e.Path, e.Reason)
}

// pooledConn releases its hold on the SSH connection when closed.
type pooledConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *pooledConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
