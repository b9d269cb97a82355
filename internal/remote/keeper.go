package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// RunKeeper is the keeper process (see persist.go): it reads its spec
// from in, connects to each host and serves each connection on its socket
// until it has been idle for the spec's duration, the connection drops or
// ctx ends; it returns when none is left. A host whose socket another
// keeper serves is left to that keeper.
func RunKeeper(ctx context.Context, in io.Reader) error {
	var spec keeperSpec
	if err := json.NewDecoder(in).Decode(&spec); err != nil {
		return fmt.Errorf("reading the keeper's settings: %w", err)
	}
	if !persistSupported {
		return errors.New("kept connections are not supported on this system")
	}
	if spec.Idle <= 0 || len(spec.Hosts) == 0 {
		return errors.New("incomplete keeper settings")
	}
	spec.Opts.Persist = 0
	pool, err := NewPool(spec.Opts, Discard())
	if err != nil {
		return err
	}
	defer pool.Close()
	errs := make(chan error, len(spec.Hosts))
	for _, h := range spec.Hosts {
		go func() { errs <- keepHost(ctx, pool, h.Host, h.Socket, spec.Idle) }()
	}
	var first error
	for range spec.Hosts {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// keepHost connects to host and serves the connection on sock.
func keepHost(ctx context.Context, pool *Pool, host, sock string, idle time.Duration) error {
	if host == "" || sock == "" {
		return errors.New("incomplete keeper settings")
	}
	if err := checkPrivateDir(filepath.Dir(sock)); err != nil {
		return err
	}
	unlock, ok, err := lockFile(sock + ".lock")
	if err != nil || !ok {
		return err // !ok: another keeper serves this socket
	}
	defer unlock()
	// Holding the lock, whatever is at the socket is a dead keeper's.
	_ = os.Remove(sock)
	_ = os.Remove(sock + ".id")

	up, err := pool.hostConn(ctx, host)
	if err != nil {
		return fmt.Errorf("%s: %w", host, err)
	}
	k, err := newKeeper(up.client, idle)
	if err != nil {
		return err
	}
	ln, err := k.listen(sock)
	if err != nil {
		return err
	}
	defer os.Remove(sock + ".id")
	defer os.Remove(sock)
	go func() {
		select {
		case <-up.stop: // the host's connection dropped
		case <-ctx.Done():
		case <-k.idleOut:
		}
		k.close(ln)
	}()
	k.serve(ln)
	return nil
}

// keeper relays local clients' channels and requests onto one SSH
// connection to the host.
type keeper struct {
	up     *ssh.Client
	config *ssh.ServerConfig
	hostID keeperID
	idle   time.Duration

	mu       sync.Mutex
	clients  map[*ssh.ServerConn]bool
	pending  int // accepted, not yet past the handshake
	closing  bool
	timer    *time.Timer
	forwards map[string]*ssh.ServerConn // remote forward "addr:port" -> the client that asked
	idleOut  chan struct{}

	// sessions keeps the runs sharing the connection within sshd's
	// MaxSessions together, as each run's pool does for itself.
	sessions chan struct{}
	quit     chan struct{} // closed by close

	lastUsed time.Time // wall clock (no monotonic reading: it counts a suspend), k.mu
}

// A connection unused for livenessAfter is asked for a sign of life before
// it is handed to a client: after a laptop's sleep or a network change it
// may be dead without either end knowing, and a run must not hang on it.
const (
	livenessAfter   = 5 * time.Second
	livenessTimeout = 3 * time.Second
)

func newKeeper(up *ssh.Client, idle time.Duration) (*keeper, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(tok)
	k := &keeper{
		up:       up,
		idle:     idle,
		hostID:   keeperID{HostKey: string(ssh.MarshalAuthorizedKey(signer.PublicKey())), Token: token},
		clients:  map[*ssh.ServerConn]bool{},
		forwards: map[string]*ssh.ServerConn{},
		idleOut:  make(chan struct{}),
		sessions: make(chan struct{}, maxSessionsPerConn),
		quit:     make(chan struct{}),
		lastUsed: time.Now().Round(0),
	}
	k.config = &ssh.ServerConfig{
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if subtle.ConstantTimeCompare(pw, []byte(token)) == 1 {
				return nil, nil
			}
			return nil, errors.New("wrong token")
		},
	}
	k.config.AddHostKey(signer)
	return k, nil
}

// listen writes the keeper's identity, then opens the socket (both for
// the owner only).
func (k *keeper) listen(sock string) (net.Listener, error) {
	b, err := json.Marshal(k.hostID)
	if err != nil {
		return nil, err
	}
	tmp := sock + ".id." + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, sock+".id"); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	k.mu.Lock()
	k.armIdle()
	k.mu.Unlock()
	return ln, nil
}

func (k *keeper) serve(ln net.Listener) {
	var wg sync.WaitGroup
	go k.routeForwards()
	for {
		nc, err := ln.Accept()
		if err != nil {
			break
		}
		if uid, err := peerUID(nc); err != nil || uid != os.Getuid() {
			nc.Close()
			continue
		}
		k.mu.Lock()
		if k.closing {
			k.mu.Unlock()
			nc.Close()
			continue
		}
		k.pending++
		k.disarmIdle()
		k.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.serveClient(nc)
		}()
	}
	wg.Wait()
}

// close stops taking clients and ends the connections of those left.
func (k *keeper) close(ln net.Listener) {
	k.mu.Lock()
	select {
	case <-k.quit:
	default:
		close(k.quit)
	}
	k.closing = true
	clients := make([]*ssh.ServerConn, 0, len(k.clients))
	for c := range k.clients {
		clients = append(clients, c)
	}
	k.mu.Unlock()
	ln.Close()
	for _, c := range clients {
		c.Close()
	}
}

// armIdle starts the idle countdown when no client is left (k.mu held).
func (k *keeper) armIdle() {
	if len(k.clients) == 0 && k.pending == 0 && !k.closing && k.timer == nil {
		k.timer = time.AfterFunc(k.idle, func() {
			k.mu.Lock()
			defer k.mu.Unlock()
			if k.timer != nil && len(k.clients) == 0 && k.pending == 0 && !k.closing {
				k.closing = true
				close(k.idleOut)
			}
		})
	}
}

func (k *keeper) disarmIdle() {
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
}

// alive reports whether the host's connection can be handed out.
func (k *keeper) alive() bool {
	k.mu.Lock()
	idleFor, busy := time.Since(k.lastUsed), len(k.clients) > 0
	k.mu.Unlock()
	switch {
	case busy || idleFor < livenessAfter:
		return true
	case idleFor > k.idle: // its time ran out while the machine slept
		return false
	}
	reply := make(chan error, 1)
	go func() {
		_, _, err := k.up.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	select {
	case err := <-reply:
		return err == nil
	case <-time.After(livenessTimeout):
		return false
	}
}

func (k *keeper) serveClient(nc net.Conn) {
	if !k.alive() {
		k.up.Close() // ends the keeper; the client connects directly
		nc.Close()
		k.mu.Lock()
		k.pending--
		k.mu.Unlock()
		return
	}
	_ = nc.SetDeadline(time.Now().Add(keeperTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(nc, k.config)
	_ = nc.SetDeadline(time.Time{})
	k.mu.Lock()
	k.pending--
	if err == nil {
		k.clients[sc] = true
	}
	closing := k.closing
	k.mu.Unlock()
	if err == nil && closing {
		sc.Close()
	}
	if err != nil {
		nc.Close()
	} else {
		go k.globalRequests(sc, reqs)
		for nch := range chans {
			go k.relayNew(sc, nch)
		}
		_ = sc.Wait()
	}
	k.mu.Lock()
	k.lastUsed = time.Now().Round(0)
	delete(k.clients, sc)
	for key, c := range k.forwards {
		if c == sc {
			delete(k.forwards, key)
		}
	}
	k.armIdle()
	k.mu.Unlock()
}

// globalRequests answers keepalives itself (the keeper keeps the host's
// connection alive on its own) and passes everything else to the host,
// remembering remote forwards so their connections reach the right client.
func (k *keeper) globalRequests(sc *ssh.ServerConn, reqs <-chan *ssh.Request) {
	for r := range reqs {
		if r.Type == "keepalive@openssh.com" {
			_ = r.Reply(true, nil)
			continue
		}
		ok, payload, err := k.up.SendRequest(r.Type, r.WantReply || r.Type == "tcpip-forward", r.Payload)
		if err != nil {
			ok = false
		}
		switch r.Type {
		case "tcpip-forward", "cancel-tcpip-forward":
			var fwd struct {
				Addr string
				Port uint32
			}
			if ssh.Unmarshal(r.Payload, &fwd) == nil && ok {
				if fwd.Port == 0 && len(payload) >= 4 { // the port the host chose
					fwd.Port = binary.BigEndian.Uint32(payload)
				}
				key := forwardKey(fwd.Addr, fwd.Port)
				k.mu.Lock()
				if r.Type == "tcpip-forward" {
					k.forwards[key] = sc
				} else {
					delete(k.forwards, key)
				}
				k.mu.Unlock()
			}
		}
		if r.WantReply {
			_ = r.Reply(ok, payload)
		}
	}
}

// forwardKey names a remote forward by the address and port the host
// listens on, as both the request and the forwarded connections carry them.
func forwardKey(addr string, port uint32) string {
	return net.JoinHostPort(addr, strconv.FormatUint(uint64(port), 10))
}

// routeForwards hands each connection the host forwards back to the
// client that asked for that forward.
func (k *keeper) routeForwards() {
	for nch := range k.up.HandleChannelOpen("forwarded-tcpip") {
		var to struct {
			Addr       string
			Port       uint32
			OriginAddr string
			OriginPort uint32
		}
		if err := ssh.Unmarshal(nch.ExtraData(), &to); err != nil {
			_ = nch.Reject(ssh.ConnectionFailed, "malformed forwarded-tcpip")
			continue
		}
		k.mu.Lock()
		sc := k.forwards[forwardKey(to.Addr, to.Port)]
		k.mu.Unlock()
		if sc == nil {
			_ = nch.Reject(ssh.Prohibited, "no client for this forward")
			continue
		}
		go func() {
			ch, reqs, err := sc.OpenChannel(nch.ChannelType(), nch.ExtraData())
			if err != nil {
				_ = nch.Reject(ssh.ConnectionFailed, err.Error())
				return
			}
			upCh, upReqs, err := nch.Accept()
			if err != nil {
				ch.Close()
				return
			}
			relay(ch, reqs, upCh, upReqs)
		}()
	}
}

// relayNew opens the channel a client asked for on the host's connection
// and relays it; the host's refusal reaches the client as it was given.
// If the host's connection itself has failed, the keeper ends and so does
// the client's connection: the client then sees a dead connection (not a
// refused channel) and connects again, directly.
func (k *keeper) relayNew(sc *ssh.ServerConn, nch ssh.NewChannel) {
	if nch.ChannelType() == "session" {
		select {
		case k.sessions <- struct{}{}:
			defer func() { <-k.sessions }()
		case <-k.quit:
			_ = nch.Reject(ssh.ConnectionFailed, "the kept connection is closing")
			return
		}
	}
	upCh, upReqs, err := k.up.OpenChannel(nch.ChannelType(), nch.ExtraData())
	if err != nil {
		var oe *ssh.OpenChannelError
		if errors.As(err, &oe) {
			_ = nch.Reject(oe.Reason, oe.Message)
			return
		}
		k.up.Close()
		sc.Close()
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		upCh.Close()
		return
	}
	relay(ch, reqs, upCh, upReqs)
}

// relay joins the client's end of a channel (near) to the host's (far).
// Requests go both ways with their replies; the host's output (stdout and
// stderr) is passed on in full before the client's end is closed, so the
// exit status never overtakes the end of the output.
func relay(near ssh.Channel, nearReqs <-chan *ssh.Request, far ssh.Channel, farReqs <-chan *ssh.Request) {
	go func() {
		_, _ = io.Copy(far, near)
		_ = far.CloseWrite()
	}()
	go func() {
		forwardRequests(nearReqs, far)
		far.Close() // the client closed its end
	}()
	output := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = io.Copy(near.Stderr(), far.Stderr())
		}()
		_, _ = io.Copy(near, far)
		wg.Wait()
		_ = near.CloseWrite()
		close(output)
	}()
	forwardRequests(farReqs, near)
	<-output
	near.Close()
}

func forwardRequests(reqs <-chan *ssh.Request, to ssh.Channel) {
	for r := range reqs {
		ok, err := to.SendRequest(r.Type, r.WantReply, r.Payload)
		if r.WantReply {
			_ = r.Reply(ok && err == nil, nil)
		}
	}
}
