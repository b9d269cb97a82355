package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// maxSessionsPerConn stays below OpenSSH's default MaxSessions (10) so
// concurrent commands on one host queue instead of being refused.
const maxSessionsPerConn = 8

// Pool keeps one SSH connection per host for the whole run. Every Exec and
// Upload on a host multiplexes a new session over that connection. It is
// safe for concurrent use.
type Pool struct {
	opts   SSHOptions
	out    *Output
	cfg    *sshConfig
	keys   *hostKeys
	auth   *auth
	starts chan struct{} // limits concurrent connection starts
	lookup lookupFunc

	mu     sync.Mutex
	conns  map[string]*conn
	opened map[string]int
	closed bool
	toKeep map[string]string // host -> keeper socket, for startKeepers

	kept     func() (keptBase, error) // once per pool, when first needed
	noteOnce sync.Once

	peakStarts int // most connection starts seen at once (for tests)
}

type conn struct {
	key      string
	ready    chan struct{} // closed when client/err are set
	client   *ssh.Client
	err      error
	sessions chan struct{}
	jump     bool // jump hosts carry other connections: never idle-closed

	active int         // sessions in use, guarded by Pool.mu
	idle   *time.Timer // guarded by Pool.mu
	stop   chan struct{}
}

// NewPool prepares a pool; no connection is made until the first command.
func NewPool(opts SSHOptions, out *Output) (*Pool, error) {
	if out == nil {
		out = Discard()
	}
	opts = opts.withDefaults()
	cfg, err := loadSSHConfig(opts.ConfigFiles)
	if err != nil {
		return nil, err
	}
	keys := newHostKeys(out)
	for _, kd := range opts.KeyData {
		out.Redactor().Add(kd)
	}
	return &Pool{
		opts:   opts,
		out:    out,
		cfg:    cfg,
		keys:   keys,
		auth:   newAuth(opts),
		starts: make(chan struct{}, opts.MaxConcurrentStarts),
		lookup: net.DefaultResolver.LookupHost,
		conns:  map[string]*conn{},
		opened: map[string]int{},
		kept:   sync.OnceValues(func() (keptBase, error) { return newKeptBase(opts) }),
	}, nil
}

// Output returns the pool's output (and through it, its redactor).
func (p *Pool) Output() *Output { return p.out }

// ConnectionsOpened reports how many SSH connections were opened to host
// (as passed to Exec) during the pool's life.
func (p *Pool) ConnectionsOpened(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opened[host]
}

// discard removes a dead connection from the pool and closes it.
func (p *Pool) discard(c *conn) {
	p.mu.Lock()
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	p.mu.Unlock()
	c.shutdown()
}

// connected reports whether a live connection to host is pooled.
func (p *Pool) connected(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.conns[host]
	return ok
}

// Close closes every connection. The pool cannot be used afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[string]*conn{}
	p.mu.Unlock()
	// Targets first, then the jump hosts they run through.
	for _, jump := range []bool{false, true} {
		for _, c := range conns {
			if c.jump == jump {
				<-c.ready
				c.shutdown()
			}
		}
	}
	p.auth.close()
	p.startKeepers()
	return nil
}

func (c *conn) shutdown() {
	if c.client != nil {
		select {
		case <-c.stop:
		default:
			close(c.stop)
		}
		c.client.Close()
	}
}

// session borrows a session slot on host's connection, connecting first if
// needed. release must be called when the session is done.
//
// A pooled connection that turns out to be dead (the server restarted, a
// NAT dropped it while idle) is replaced once by a fresh one.
func (p *Pool) session(ctx context.Context, host string) (*ssh.Session, func(), error) {
	var c *conn
	var s *ssh.Session
	for attempt := 0; ; attempt++ {
		var err error
		c, err = p.hostConn(ctx, host)
		if err != nil {
			return nil, nil, err
		}
		select {
		case c.sessions <- struct{}{}:
		case <-ctx.Done():
			p.release(c)
			return nil, nil, ctx.Err()
		}
		s, err = c.client.NewSession()
		if err == nil {
			break
		}
		<-c.sessions
		p.release(c)
		if attempt > 0 || !deadConnection(err) {
			return nil, nil, fmt.Errorf("opening session on %s: %w", host, err)
		}
		p.discard(c)
	}
	if p.opts.ForwardAgent && p.opts.AgentSocket != "" && p.opts.AgentSocket != "-" {
		_ = agent.RequestAgentForwarding(s)
	}
	return s, func() {
		s.Close()
		<-c.sessions
		p.release(c)
	}, nil
}

// deadConnection tells a connection that has gone (EOF, a broken pipe or a
// reset: the server restarted, a kept connection's keeper hung up) from a
// channel the server refused or a cancelled wait.
func deadConnection(err error) bool {
	var refused *ssh.OpenChannelError
	return !errors.As(err, &refused) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// hostConn returns host's live connection, connecting first if needed,
// like get; callers must release it.
func (p *Pool) hostConn(ctx context.Context, host string) (*conn, error) {
	return p.get(ctx, host, host, false, func(ctx context.Context) (*ssh.Client, error) {
		return p.connect(ctx, host)
	})
}

// get returns the live connection for key, opening it with open if there
// is none. Concurrent callers for the same key share one attempt. The
// connection's active count is incremented; callers must release it.
func (p *Pool) get(ctx context.Context, key, countAs string, jump bool, open func(context.Context) (*ssh.Client, error)) (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("connection pool is closed")
	}
	c, ok := p.conns[key]
	if !ok {
		c = &conn{key: key, ready: make(chan struct{}), sessions: make(chan struct{}, maxSessionsPerConn), jump: jump, stop: make(chan struct{})}
		p.conns[key] = c
		p.mu.Unlock()
		c.client, c.err = open(ctx)
		p.mu.Lock()
		if c.err != nil {
			// Do not cache failures: a later command may retry.
			delete(p.conns, key)
		} else {
			p.opened[countAs]++
			go p.watch(c)
			if p.opts.KeepaliveInterval > 0 {
				go keepalive(c, p.opts.KeepaliveInterval)
			}
		}
		close(c.ready)
	} else {
		p.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	c.active++
	if c.idle != nil {
		c.idle.Stop()
		c.idle = nil
	}
	return c, nil
}

func (p *Pool) release(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.active--
	if c.active == 0 && !c.jump && p.conns[c.key] == c {
		c.idle = time.AfterFunc(p.opts.PoolIdleTimeout, func() {
			p.mu.Lock()
			expired := c.active == 0 && p.conns[c.key] == c
			if expired {
				delete(p.conns, c.key)
			}
			p.mu.Unlock()
			if expired {
				c.shutdown()
			}
		})
	}
}

// watch forgets a connection once it dies so the next command reconnects.
func (p *Pool) watch(c *conn) {
	_ = c.client.Wait()
	p.mu.Lock()
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	p.mu.Unlock()
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
}

// minKeepaliveWait keeps short intervals from dropping healthy connections
// to busy servers.
const minKeepaliveWait = 15 * time.Second

func keepalive(c *conn, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		select {
		case <-c.stop:
			return
		case err := <-replied:
			if err != nil {
				c.client.Close()
				return
			}
		case <-time.After(max(3*every, minKeepaliveWait)):
			c.client.Close() // unresponsive peer
			return
		}
	}
}

// connect opens a new client connection to host (directly, through a
// proxy command or through jump hosts).
func (p *Pool) connect(ctx context.Context, host string) (*ssh.Client, error) {
	t, err := resolve(host, p.opts, p.cfg, false)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", host, err)
	}
	sock := p.keptSocket(host, t)
	if sock != "" {
		client, err := dialKept(ctx, sock)
		if err == nil {
			p.sshLog("connected to %s through its kept connection", host)
			return client, nil
		}
	}
	client, err := p.dialTarget(ctx, t)
	if err == nil && sock != "" {
		p.mu.Lock()
		if p.toKeep == nil {
			p.toKeep = map[string]string{}
		}
		p.toKeep[host] = sock
		p.mu.Unlock()
	}
	return client, err
}

func (p *Pool) dialTarget(ctx context.Context, t target) (*ssh.Client, error) {
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	who := t.User + "@" + addr
	p.sshLog("connecting to %s", who)

	var nc net.Conn
	var err error
	var via string
	switch {
	case t.ProxyCommand != "":
		if err := p.startSlot(ctx); err != nil {
			return nil, err
		}
		defer func() { <-p.starts }()
		cmd := expandProxyCommand(t.ProxyCommand, t)
		via = " via proxy command"
		nc, err = startProxyCommand(cmd, addr)
		if err != nil {
			return nil, fmt.Errorf("connecting to %s%s: %w", addr, via, err)
		}
	case t.ProxyJump != "":
		hops := strings.Split(t.ProxyJump, ",")
		via = " via jump host " + hops[len(hops)-1]
		// The slot is taken after the jump connection exists: the jump
		// host's own start needs a slot too.
		nc, err = p.dialViaJump(ctx, hops, addr, t.Identity)
		if err != nil {
			return nil, fmt.Errorf("connecting to %s%s: %w", addr, via, err)
		}
		if err := p.startSlot(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		defer func() { <-p.starts }()
	default:
		if err := p.startSlot(ctx); err != nil {
			return nil, err
		}
		defer func() { <-p.starts }()
		nc, err = dialTCP(ctx, p.lookup, t.Host, t.Port, p.opts.DNSRetries, p.opts.ConnectTimeout)
		if err != nil {
			return nil, fmt.Errorf("connecting to %s: %w", addr, err)
		}
	}

	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeysCallback(p.auth.signers(t))},
		HostKeyCallback:   p.keys.callback(t.HostKeys, addr),
		HostKeyAlgorithms: p.keys.algorithms(t.HostKeys, addr),
		Timeout:           p.opts.ConnectTimeout,
	}
	client, err := handshake(ctx, nc, addr, cfg, p.opts.ConnectTimeout)
	if err != nil {
		return nil, describeHandshakeError(t, who+via, err, nc)
	}
	p.sshLog("connected to %s (%s)", who, client.ServerVersion())
	if p.opts.ForwardAgent && p.opts.AgentSocket != "" && p.opts.AgentSocket != "-" {
		if err := agent.ForwardToRemote(client, p.opts.AgentSocket); err != nil {
			client.Close()
			return nil, fmt.Errorf("forwarding ssh-agent to %s: %w", who, err)
		}
	}
	return client, nil
}

// AuthenticationError is a server refusing every identity offered (or
// none to offer). It reads and is classed like net-ssh's
// Net::SSH::AuthenticationFailed, which Kamal prints.
type AuthenticationError struct {
	User, Host string // Host as named in the configuration, without port
	// NoIdentities is set when there was no identity to offer at all.
	NoIdentities bool
	Err          error
}

func (e *AuthenticationError) Error() string {
	msg := "Authentication failed for user " + e.User + "@" + e.Host
	if e.NoIdentities {
		msg += " (" + errNoIdentities.Error() + ")"
	}
	return msg
}

// Kind is the class Kamal prints in its `ERROR (<class>)` line.
func (e *AuthenticationError) Kind() string { return "Net::SSH::AuthenticationFailed" }

func (e *AuthenticationError) Unwrap() error { return e.Err }

func describeHandshakeError(t target, who string, err error, nc net.Conn) error {
	var changed *HostKeyChangedError
	switch {
	case errors.As(err, &changed):
		return changed
	case strings.Contains(err.Error(), "unable to authenticate"), errors.Is(err, errNoIdentities):
		return &AuthenticationError{User: t.User, Host: t.Alias, NoIdentities: errors.Is(err, errNoIdentities), Err: err}
	}
	if pc, ok := nc.(*proxyCommandConn); ok && pc.stderr.String() != "" {
		return fmt.Errorf("SSH handshake with %s failed: %w (proxy command stderr: %s)", who, err, strings.TrimSpace(pc.stderr.String()))
	}
	return fmt.Errorf("SSH handshake with %s failed: %w", who, err)
}

// dialViaJump connects to addr through the chain of jump hosts; each hop's
// connection is pooled, so many targets behind one bastion share it.
//
// A hop with no IdentityFile of its own uses the target's, so one
// IdentityFile line covers "Host behind-the-bastion" and its ProxyJump.
func (p *Pool) dialViaJump(ctx context.Context, hops []string, addr string, identity []string) (net.Conn, error) {
	n := len(hops)
	key := "jump:" + strings.Join(hops, ",")
	c, err := p.get(ctx, key, key, true, func(ctx context.Context) (*ssh.Client, error) {
		t, err := resolve(strings.TrimSpace(hops[n-1]), p.opts, p.cfg, true)
		if err != nil {
			return nil, fmt.Errorf("jump host %s: %w", hops[n-1], err)
		}
		if n > 1 {
			t.ProxyJump = strings.Join(hops[:n-1], ",")
		}
		t.ProxyCommand = ""
		if len(t.Identity) == 0 {
			t.Identity = identity
		}
		return p.dialTarget(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	defer p.release(c)
	nc, err := c.client.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("jump host %s could not reach %s: %w", hops[n-1], addr, err)
	}
	return nc, nil
}

// startSlot takes one of the MaxConcurrentStarts slots.
func (p *Pool) startSlot(ctx context.Context) error {
	select {
	case p.starts <- struct{}{}:
		p.mu.Lock()
		p.peakStarts = max(p.peakStarts, len(p.starts))
		p.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Pool) sshLog(format string, args ...any) {
	if p.opts.logConnections() {
		p.out.Log(Info, "", "ssh: "+fmt.Sprintf(format, args...))
	}
}
