package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// Config configures a proxy server.
type Config struct {
	Bind        string // listen address for HTTP(S) and metrics; "" = all interfaces
	HTTPPort    int
	HTTPSPort   int
	MetricsPort int  // 0 disables metrics
	HTTP3       bool // HTTP/3 over UDP on the HTTPS port
	StateDir    string
	SocketPath  string
	Logger      *slog.Logger

	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// RequestBodyTimeout bounds how long a request body may take: this long
	// plus one second per RequestBodyMinRate bytes received. Negative turns
	// it off; zero means the defaults.
	RequestBodyTimeout time.Duration
	RequestBodyMinRate int64

	// ACMEDirectory is the ACME CA of TLS services deployed without one
	// (empty: Let's Encrypt production).
	ACMEDirectory string
	// EagerCertificates asks for the certificates of listed hosts when a
	// service is deployed or restored, not at the first handshake.
	EagerCertificates bool

	// Version is this proxy's version, told to the process it takes over from.
	Version string
	// Handover tunes how traffic moves between processes (handover.go).
	Handover HandoverConfig
}

// DefaultStateDir is $HOME/.config/kamal-proxy, or the temp dir without a home.
func DefaultStateDir() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "kamal-proxy")
	}
	return filepath.Join(home, ".config", "kamal-proxy")
}

// Server runs the listeners and the command socket.
type Server struct {
	cfg     Config
	log     *slog.Logger
	Router  *Router
	metrics *Metrics
	gate    *commandGate

	socks   sockets  // the traffic sockets, set by Start
	traffic *traffic // the servers accepting on them now
	rpcLn   net.Listener
	ho      handoverState
}

// server is an HTTP/1+2 (net/http) or HTTP/3 (quic-go) server.
type server interface {
	Shutdown(context.Context) error
	Close() error
}

// NewServer prepares a server; Start opens the listeners.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.RequestBodyTimeout == 0 {
		cfg.RequestBodyTimeout = DefaultRequestBodyTimeout
	}
	if cfg.RequestBodyMinRate == 0 {
		cfg.RequestBodyMinRate = DefaultRequestBodyMinRate
	}
	s := &Server{cfg: cfg, log: cfg.Logger, gate: newCommandGate()}
	s.ho.init()
	s.Router = NewRouter(cfg.Logger, cfg.StateDir, cfg.HTTPSPort)
	s.Router.acmeDirectory = cfg.ACMEDirectory
	s.Router.certEnv.eager = cfg.EagerCertificates
	if cfg.MetricsPort != 0 {
		s.metrics = NewMetrics()
	}
	return s
}

// newHandler is the handler chain of one listener: access log and metrics
// outermost, then the request body timeout, then routing.
func (s *Server) newHandler(port int) http.Handler {
	return &accessHandler{next: withBodyTimeout(s.Router, s.cfg.RequestBodyTimeout, s.cfg.RequestBodyMinRate, s.log), log: s.log, port: port, metrics: s.metrics}
}

func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelInfo),
	}
}

// plainHTTP puts the fast loop in front of srv on a plain-HTTP listener
// of the given port: srv serves the connections the loop hands over
// (fastserver.go).
func plainHTTP(ln net.Listener, port int, srv *http.Server, r *Router, log *slog.Logger, m *Metrics) *fastServer {
	fast := newFastServer(ln, r, log, m, port, srv.ReadHeaderTimeout, srv.IdleTimeout)
	srv.ConnContext = fast.connContext
	return fast
}

// Start restores state, opens every listener and serves them. When another
// kamal-proxy of the same state directory serves in this network namespace
// (a reboot starts the new proxy beside the old one), it takes the traffic
// sockets over from it instead of opening them; see handover.go.
func (s *Server) Start() error {
	if err := s.prepareStateDir(); err != nil {
		return err
	}
	tookOver, err := s.takeOver()
	if err != nil {
		s.Router.Shutdown()
		return err
	}
	if !tookOver {
		// Nobody to take over from: this process opens the sockets, so its
		// container is the one that publishes the ports.
		_ = s.Router.RestoreState() // errors are logged; a bad file never blocks startup
		if err := s.openListeners(nil); err != nil {
			s.Router.Shutdown()
			return err
		}
		s.ho.owner = true
		if err := s.serveTraffic(); err != nil {
			s.socks.close()
			s.Router.Shutdown()
			return err
		}
	}

	sock := s.cfg.SocketPath
	if sock == "" {
		sock = SocketPath()
	}
	if s.rpcLn, err = listenRPC(sock, s.Router, s.gate); err != nil {
		s.Stop()
		return fmt.Errorf("command socket: %w", err)
	}
	s.listenForSuccessors()
	s.log.Info("Server started", "http", s.port(socketHTTP), "https", s.port(socketHTTPS), "http3", s.socks[socketHTTP3] != nil, "socket", sock)
	return nil
}

func (s *Server) prepareStateDir() error {
	if s.cfg.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(s.cfg.StateDir, 0o700); err != nil {
		// Like the reference, keep serving with state in the temp dir.
		fallback := filepath.Join(os.TempDir(), "kamal-proxy")
		s.log.Error("Unable to create state directory; using temporary directory", "path", s.cfg.StateDir, "fallback", fallback, "error", err)
		if err := os.MkdirAll(fallback, 0o700); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
		s.cfg.StateDir = fallback
		s.Router.stateDir, s.Router.statePath = fallback, stateFile(fallback)
	}
	return nil
}

// serveTraffic starts servers on the traffic sockets.
func (s *Server) serveTraffic() error {
	t, err := s.newTraffic()
	if err != nil {
		return err
	}
	t.start(s.log)
	s.traffic = t
	return nil
}

// traffic is one set of servers accepting on the traffic sockets. A
// hand-over stops one set accepting while its requests finish, and a
// failed hand-over starts a new set on the same sockets.
type traffic struct {
	servers  []server
	http     []*http.Server
	run      []func() error
	accepted []net.Listener
	fast     *fastServer // in front of the plain-HTTP server
	h3       *http3.Server
	quic     net.PacketConn
	busy     busyConns
	wg       sync.WaitGroup
}

// busyConns are the connections with a request to answer: accepted and not
// yet idle or closed. http.Server.Shutdown closes a connection whose
// request it reads after shutting down began, without an answer (a
// connection accepted just before a hand-over); stopAccepting therefore
// shuts down once they are done.
type busyConns struct {
	mu    sync.Mutex
	cond  *sync.Cond
	conns map[net.Conn]bool
}

func (b *busyConns) track(c net.Conn, st http.ConnState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conns == nil {
		b.conns = map[net.Conn]bool{}
		b.cond = sync.NewCond(&b.mu)
	}
	switch st {
	case http.StateNew, http.StateActive:
		b.conns[c] = true
	default:
		delete(b.conns, c)
		b.cond.Broadcast()
	}
}

// wait returns when no connection is busy, or at deadline.
func (b *busyConns) wait(deadline time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cond == nil {
		return
	}
	t := time.AfterFunc(time.Until(deadline), func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer t.Stop()
	for len(b.conns) > 0 && time.Now().Before(deadline) {
		b.cond.Wait()
	}
}

// busyWait bounds how long a stop waits for busy connections before it
// shuts down: a client that sends nothing, or an HTTP/2 connection that
// keeps opening streams (it moves at the shutdown's GOAWAY), is not waited
// for longer.
const busyWait = 5 * time.Second

// newTraffic builds the servers over s.socks; start runs them.
func (s *Server) newTraffic() (t *traffic, err error) {
	t = &traffic{}
	defer func() {
		if err != nil {
			for _, l := range t.accepted {
				l.Close()
			}
			if t.quic != nil {
				t.quic.Close()
			}
		}
	}()
	listen := func(name string) (net.Listener, error) {
		ln, err := net.FileListener(s.socks[name])
		if err != nil {
			return nil, fmt.Errorf("%s listener: %w", name, err)
		}
		t.accepted = append(t.accepted, ln)
		return ln, nil
	}
	addHTTP := func(srv *http.Server, run func() error) {
		srv.ConnState = t.busy.track
		t.http = append(t.http, srv)
		t.servers = append(t.servers, srv)
		t.run = append(t.run, run)
	}
	if s.socks[socketMetrics] != nil {
		ln, err := listen(socketMetrics)
		if err != nil {
			return nil, err
		}
		srv := &http.Server{Handler: s.metrics, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout}
		addHTTP(srv, func() error { return srv.Serve(ln) })
	}
	httpLn, err := listen(socketHTTP)
	if err != nil {
		return nil, err
	}
	httpSrv := s.newHTTPServer(s.newHandler(s.port(socketHTTP)))
	fast := plainHTTP(httpLn, s.port(socketHTTP), httpSrv, s.Router, s.log, s.metrics)
	fast.connState = t.busy.track
	t.fast = fast
	t.servers = append(t.servers, fast)
	t.run = append(t.run, func() error { fast.serve(); return nil })
	addHTTP(httpSrv, func() error { return httpSrv.Serve(fast.listener()) })

	httpsLn, err := listen(socketHTTPS)
	if err != nil {
		return nil, err
	}
	if s.cfg.HTTPSPort == 0 {
		// Redirects must name the port actually in use.
		s.Router.httpsPort = s.port(socketHTTPS)
	}
	tlsConfig := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.Router.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1", "acme-tls/1"},
	}
	httpsHandler := s.newHandler(s.port(socketHTTPS))
	if f := s.socks[socketHTTP3]; f != nil {
		if t.quic, err = net.FilePacketConn(f); err != nil {
			return nil, fmt.Errorf("http3 listener: %w", err)
		}
		h3 := &http3.Server{
			Handler:     httpsHandler,
			TLSConfig:   http3.ConfigureTLSConfig(&tls.Config{MinVersion: tls.VersionTLS13, GetCertificate: s.Router.GetCertificate}),
			IdleTimeout: s.cfg.IdleTimeout,
			Logger:      s.log,
		}
		quic := t.quic
		t.h3 = h3
		t.servers = append(t.servers, h3)
		t.run = append(t.run, func() error { return h3.Serve(quic) })
		httpsHandler = announceHTTP3(h3, httpsHandler)
	}
	httpsSrv := s.newHTTPServer(httpsHandler)
	httpsSrv.TLSConfig = tlsConfig
	addHTTP(httpsSrv, func() error { return httpsSrv.ServeTLS(httpsLn, "", "") })
	return t, nil
}

func (t *traffic) start(log *slog.Logger) {
	for _, run := range t.run {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			err := run()
			// A listener closed by stopAccepting ends Serve too.
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				log.Error("Listener failed", "error", err)
			}
		}()
	}
}

// stopAccepting stops the servers accepting and returns at once (the
// sockets stay open). Then in the background, without dropping a request:
// no connection is kept alive after its current request, the requests of
// the connections accepted before are answered, and the servers shut down
// gracefully; drained is closed when the requests in flight have finished,
// or were cut at deadline.
func (t *traffic) stopAccepting(deadline time.Time, log *slog.Logger) (drained <-chan struct{}) {
	done := make(chan struct{})
	if t.h3 != nil {
		// A QUIC listener on a socket of ours ends its connections when it
		// closes (they cannot move to another process anyway); clients
		// open new ones.
		t.h3.Close()
	}
	for _, srv := range t.http {
		srv.SetKeepAlivesEnabled(false) // also closes idle connections
	}
	t.fast.stopKeepAlives()
	for _, l := range t.accepted {
		l.Close()
	}
	go func() {
		defer close(done)
		wait := time.Now().Add(busyWait)
		if deadline.Before(wait) {
			wait = deadline
		}
		// The fast loop's connections end, or move to net/http and count
		// as busy there, before net/http's are waited for.
		moved, stop := context.WithDeadline(context.Background(), wait)
		_ = t.fast.Shutdown(moved)
		stop()
		t.busy.wait(wait)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		var wg sync.WaitGroup
		for _, srv := range t.servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := srv.Shutdown(ctx); err != nil {
					log.Info("Closing active connections")
					srv.Close()
				}
			}()
		}
		wg.Wait()
		t.wg.Wait()
		if t.quic != nil {
			t.quic.Close()
		}
	}()
	return done
}

// announceHTTP3 adds the Alt-Svc header that tells HTTPS clients HTTP/3 is
// served on the same port.
func announceHTTP3(h3 *http3.Server, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = h3.SetQUICHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// HTTPAddr, HTTPSAddr and MetricsAddr return the bound addresses.
func (s *Server) HTTPAddr() string    { return s.addr(socketHTTP) }
func (s *Server) HTTPSAddr() string   { return s.addr(socketHTTPS) }
func (s *Server) MetricsAddr() string { return s.addr(socketMetrics) }

// Stop is Shutdown without its error.
func (s *Server) Stop() { _ = s.Shutdown() }

// Shutdown ends what this process does. Serving: it stops accepting, lets
// the requests in flight finish (up to ShutdownTimeout, then closes what is
// left) and, when its sockets were handed to it, asks their holder to
// release the published ports. After a hand-over it waits for its
// requests; holding, it lets the ports go and returns
// ErrStoppedWhileHolding.
func (s *Server) Shutdown() error {
	s.ho.stopOnce.Do(func() { close(s.ho.stopping) })
	s.ho.mu.Lock()
	ln := s.ho.ln
	s.ho.ln = nil
	settled := s.ho.settled
	s.ho.mu.Unlock()
	if ln != nil {
		ln.Close() // no successor from now on
	}
	if settled != nil {
		<-settled // a hand-over in progress ends first
	}
	s.ho.mu.Lock()
	r, after, owner := s.ho.role, s.ho.after, s.ho.owner
	s.ho.mu.Unlock()
	if r == roleHandedOver && after != nil {
		<-after
		s.ho.mu.Lock()
		r = s.ho.role
		s.ho.mu.Unlock()
	}
	switch r {
	case roleServing:
		if s.rpcLn != nil {
			s.rpcLn.Close()
		}
		drain := s.cfg.ShutdownTimeout
		if !owner {
			// Docker kills a container 10 s after asking it to stop; the
			// release of the holder needs its share.
			drain = max(drain-s.cfg.Handover.ReleaseGrace-releaseReserve, time.Second)
		}
		if s.traffic != nil {
			<-s.traffic.stopAccepting(time.Now().Add(drain), s.log)
		}
		s.Router.Shutdown()
		if !owner {
			s.releaseHolder()
		}
		s.socks.close()
		s.ho.settle(roleStopped)
		s.log.Info("Server stopped")
		return nil
	case roleHolding:
		s.ho.mu.Lock()
		hl := s.ho.holderLn
		s.ho.holderLn = nil
		s.ho.role = roleStopped
		s.ho.mu.Unlock()
		if hl != nil {
			hl.Close()
		}
		s.socks.close()
		s.log.Info("Server stopped while holding the published ports for a newer kamal-proxy")
		return ErrStoppedWhileHolding
	}
	return nil
}

// releaseReserve is the time a release of the holder may take beyond its grace.
const releaseReserve = 2 * time.Second
