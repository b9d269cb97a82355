package remote

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
)

// ForwardRemotePort asks host's sshd to listen on localhost:port (the
// host's loopback) and carries each connection to localAddr on this
// machine, like `ssh -R port:localAddr`. Kamal uses it so hosts can pull
// from a registry that runs on the deployer's localhost. stop closes the
// listener and the forwarded connections; the SSH connection stays pooled.
func (p *Pool) ForwardRemotePort(ctx context.Context, host string, port int, localAddr string) (stop func(), err error) {
	c, err := p.hostConn(ctx, host)
	if err != nil {
		return nil, p.out.Redactor().Error(err)
	}
	ln, err := c.client.Listen("tcp", net.JoinHostPort("localhost", strconv.Itoa(port)))
	if err != nil {
		p.release(c)
		return nil, fmt.Errorf("forwarding port %d on %s to %s: %w", port, host, localAddr, err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	track := func(nc net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[nc] = true
		} else {
			delete(conns, nc)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			rc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer rc.Close()
				var d net.Dialer
				lc, err := d.DialContext(context.Background(), "tcp", localAddr)
				if err != nil {
					return
				}
				defer lc.Close()
				track(rc, true)
				track(lc, true)
				defer track(rc, false)
				defer track(lc, false)
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(lc, rc); closeWrite(lc); done <- struct{}{} }()
				go func() { _, _ = io.Copy(rc, lc); closeWrite(rc); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			ln.Close()
			mu.Lock()
			for nc := range conns {
				nc.Close()
			}
			mu.Unlock()
			wg.Wait()
			p.release(c)
		})
	}, nil
}

// closeWrite half-closes a connection when it supports it, so the peer
// sees EOF while replies still flow.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
