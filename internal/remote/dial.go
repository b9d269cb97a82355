package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// dialTCP resolves host (retrying DNS failures with Kamal's backoff) and
// connects to the first address that answers.
// lookupFunc resolves a host name; tests replace it to simulate DNS trouble.
type lookupFunc func(ctx context.Context, host string) ([]string, error)

func dialTCP(ctx context.Context, lookup lookupFunc, host string, port int, retries int, timeout time.Duration) (net.Conn, error) {
	var addrs []string
	if ip := net.ParseIP(host); ip != nil {
		addrs = []string{host}
	} else {
		var err error
		for attempt := 0; ; attempt++ {
			addrs, err = lookup(ctx, host)
			if err == nil {
				break
			}
			var dnsErr *net.DNSError
			if !errors.As(err, &dnsErr) || attempt >= retries {
				return nil, fmt.Errorf("resolving %s: %w", host, err)
			}
			// min(0.1 * 2^(n-1), 2.0) + rand * 0.1 seconds, as Kamal does.
			// (math.Pow: a shift would overflow with many retries.)
			backoff := min(0.1*math.Pow(2, float64(attempt)), 2.0) + rand.Float64()*0.1
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(backoff * float64(time.Second))):
			}
		}
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	var firstErr error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a, strconv.Itoa(port)))
		if err == nil {
			return withQuickAck(c), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// proxyCommandConn runs a proxy command through sh and uses its stdin and
// stdout as the transport, like OpenSSH's ProxyCommand.
type proxyCommandConn struct {
	cmd    *exec.Cmd
	r      io.ReadCloser
	w      io.WriteCloser
	remote string
	stderr *limitedWriter
	once   sync.Once
}

func startProxyCommand(command, remote string) (*proxyCommandConn, error) {
	cmd := exec.Command("sh", "-c", command)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &limitedWriter{b: &strings.Builder{}, max: 4096}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting proxy command: %w", err)
	}
	return &proxyCommandConn{cmd: cmd, r: stdout, w: stdin, remote: remote, stderr: stderr}, nil
}

func (c *proxyCommandConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *proxyCommandConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *proxyCommandConn) Close() error {
	c.once.Do(c.stop)
	return nil
}

func (c *proxyCommandConn) stop() {
	c.w.Close()
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	}
}
func (c *proxyCommandConn) LocalAddr() net.Addr                { return fakeAddr("127.0.0.1:0") }
func (c *proxyCommandConn) RemoteAddr() net.Addr               { return fakeAddr(c.remote) }
func (c *proxyCommandConn) SetDeadline(t time.Time) error      { return nil }
func (c *proxyCommandConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *proxyCommandConn) SetWriteDeadline(t time.Time) error { return nil }

type limitedWriter struct {
	mu  sync.Mutex
	b   *strings.Builder
	max int
}

func (l *limitedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

// handshake runs the SSH handshake over conn, bounded by ctx and timeout
// (x/crypto/ssh has no context support, so the conn is closed to abort).
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	type result struct {
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
		done <- result{c, chans, reqs, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			conn.Close()
			return nil, r.err
		}
		return ssh.NewClient(r.c, r.chans, r.reqs), nil
	case <-ctx.Done():
		conn.Close()
		<-done
		return nil, ctx.Err()
	case <-timer.C:
		conn.Close()
		<-done
		return nil, fmt.Errorf("SSH handshake timed out after %s", timeout)
	}
}
