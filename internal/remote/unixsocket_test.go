package remote

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

// echoSocket serves a Unix socket that answers each line with "echo: <line>".
func echoSocket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "echo.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := c.Write([]byte("echo: " + sc.Text() + "\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return path
}

func TestDialUnixSharesTheHostConnection(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.41", sshtest.Options{}, e.key)
	sock := echoSocket(t)
	p := e.pool(e.opts(srv.Port), nil)
	ctx := context.Background()

	mustExec(t, p, srv.IP, "true")
	var conns []net.Conn
	for _, msg := range []string{"one", "two"} {
		c, err := p.DialUnix(ctx, srv.IP, sock)
		if err != nil {
			t.Fatalf("DialUnix: %v", err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte(msg + "\n")); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "echo: "+msg+"\n" {
			t.Fatalf("read %q, %v", line, err)
		}
	}
	mustExec(t, p, srv.IP, "true")
	if n := p.ConnectionsOpened(srv.IP); n != 1 {
		t.Errorf("connections opened = %d, want 1 (sessions and sockets share it)", n)
	}
	for _, c := range conns {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		c.Close() // a second Close must not release the connection twice
	}
	p.mu.Lock()
	active := p.conns[srv.IP].active
	p.mu.Unlock()
	if active != 0 {
		t.Errorf("connection still held by %d users after every socket closed", active)
	}
}

func TestDialUnixRefused(t *testing.T) {
	e := newTestEnv(t)
	sock := echoSocket(t)
	for _, tc := range []struct {
		name  string
		ip    string
		extra []string
		path  string
	}{
		{"forwarding disabled", "127.0.0.42", []string{"AllowStreamLocalForwarding no"}, sock},
		{"no such socket", "127.0.0.43", nil, filepath.Join(t.TempDir(), "missing.sock")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sshtest.Start(t, tc.ip, sshtest.Options{Extra: tc.extra}, e.key)
			p := e.pool(e.opts(srv.Port), nil)
			_, err := p.DialUnix(context.Background(), srv.IP, tc.path)
			var refused *UnixSocketError
			if !errors.As(err, &refused) || refused.Host != srv.IP || refused.Path != tc.path {
				t.Fatalf("err = %v, want a UnixSocketError for %s on %s", err, tc.path, srv.IP)
			}
			// The SSH connection itself stays usable.
			mustExec(t, p, srv.IP, "true")
			if n := p.ConnectionsOpened(srv.IP); n != 1 {
				t.Errorf("connections opened = %d, want 1", n)
			}
		})
	}
}
