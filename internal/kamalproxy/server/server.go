package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

	ln      listeners
	rpcLn   net.Listener
	servers []server
	wg      sync.WaitGroup
}

// server is an HTTP/1+2 (net/http) or HTTP/3 (quic-go) server.
type server interface {
	Shutdown(context.Context) error
	Close() error
}

// listeners are the sockets the server accepts traffic on. openListeners is
// the one place that makes them, so that taking them over from a previous
// process instead only has to replace it.
type listeners struct {
	http, https net.Listener
	metrics     net.Listener   // nil without a metrics port
	quic        net.PacketConn // HTTP/3, UDP on the HTTPS port; nil without it
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
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.Router = NewRouter(cfg.Logger, cfg.StateDir, cfg.HTTPSPort)
	s.Router.acmeDirectory = cfg.ACMEDirectory
	s.Router.certEnv.eager = cfg.EagerCertificates
	if cfg.MetricsPort != 0 {
		s.metrics = NewMetrics()
	}
	return s
}

// openListeners opens every traffic socket; on error none stays open.
func (s *Server) openListeners() (err error) {
	l := &s.ln
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	addr := func(port int) string { return net.JoinHostPort(s.cfg.Bind, strconv.Itoa(port)) }
	if s.metrics != nil {
		if l.metrics, err = net.Listen("tcp", addr(s.cfg.MetricsPort)); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
	}
	if l.http, err = net.Listen("tcp", addr(s.cfg.HTTPPort)); err != nil {
		return fmt.Errorf("http listener: %w", err)
	}
	if l.https, err = net.Listen("tcp", addr(s.cfg.HTTPSPort)); err != nil {
		return fmt.Errorf("https listener: %w", err)
	}
	if s.cfg.HTTP3 {
		// The same port number as HTTPS, so that Alt-Svc can name it.
		if l.quic, err = net.ListenPacket("udp", addr(portOf(l.https))); err != nil {
			return fmt.Errorf("http3 listener: %w", err)
		}
	}
	return nil
}

func (l *listeners) close() {
	for _, c := range []io.Closer{l.metrics, l.http, l.https, l.quic} {
		if c != nil {
			c.Close()
		}
	}
}

func portOf(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

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

// Start restores state, opens every listener and serves them.
func (s *Server) Start() error {
	if s.cfg.StateDir != "" {
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
	}
	_ = s.Router.RestoreState() // errors are logged; a bad file never blocks startup

	if err := s.openListeners(); err != nil {
		s.Router.Shutdown()
		return err
	}
	l := &s.ln
	if s.cfg.HTTPSPort == 0 {
		// Redirects must name the port actually in use.
		s.Router.httpsPort = portOf(l.https)
	}
	if l.metrics != nil {
		srv := &http.Server{Handler: s.metrics, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout}
		s.serve(srv, func() error { return srv.Serve(l.metrics) })
	}
	httpSrv := s.newHTTPServer(s.newHandler(portOf(l.http)))
	s.serve(httpSrv, func() error { return httpSrv.Serve(l.http) })

	tlsConfig := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.Router.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1", "acme-tls/1"},
	}
	httpsHandler := s.newHandler(portOf(l.https))
	if l.quic != nil {
		h3 := &http3.Server{
			Handler:     httpsHandler,
			TLSConfig:   http3.ConfigureTLSConfig(&tls.Config{MinVersion: tls.VersionTLS13, GetCertificate: s.Router.GetCertificate}),
			IdleTimeout: s.cfg.IdleTimeout,
			Logger:      s.log,
		}
		s.serve(h3, func() error { return h3.Serve(l.quic) })
		httpsHandler = announceHTTP3(h3, httpsHandler)
	}
	httpsSrv := s.newHTTPServer(httpsHandler)
	httpsSrv.TLSConfig = tlsConfig
	s.serve(httpsSrv, func() error { return httpsSrv.ServeTLS(l.https, "", "") })

	sock := s.cfg.SocketPath
	if sock == "" {
		sock = SocketPath()
	}
	var err error
	if s.rpcLn, err = listenRPC(sock, s.Router); err != nil {
		s.Stop()
		return fmt.Errorf("command socket: %w", err)
	}
	s.log.Info("Server started", "http", portOf(l.http), "https", portOf(l.https), "http3", l.quic != nil, "socket", sock)
	return nil
}

// announceHTTP3 adds the Alt-Svc header that tells HTTPS clients HTTP/3 is
// served on the same port.
func announceHTTP3(h3 *http3.Server, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = h3.SetQUICHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func (s *Server) serve(srv server, run func() error) {
	s.servers = append(s.servers, srv)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := run(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("Listener failed", "error", err)
		}
	}()
}

// HTTPAddr, HTTPSAddr and MetricsAddr return the bound addresses.
func (s *Server) HTTPAddr() string  { return s.ln.http.Addr().String() }
func (s *Server) HTTPSAddr() string { return s.ln.https.Addr().String() }
func (s *Server) MetricsAddr() string {
	if s.ln.metrics == nil {
		return ""
	}
	return s.ln.metrics.Addr().String()
}

// Stop closes the command socket, then shuts the HTTP servers down together
// with one shared deadline; connections still open after it are closed.
func (s *Server) Stop() {
	if s.rpcLn != nil {
		s.rpcLn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				s.log.Info("Closing active connections")
				srv.Close()
			}
		}()
	}
	wg.Wait()
	s.wg.Wait()
	s.Router.Shutdown()
	s.log.Info("Server stopped")
}
