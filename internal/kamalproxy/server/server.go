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
	"strconv"
	"sync"
	"time"
)

// Config configures a proxy server.
type Config struct {
	Bind        string // listen address for HTTP(S) and metrics; "" = all interfaces
	HTTPPort    int
	HTTPSPort   int
	MetricsPort int // 0 disables metrics
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

	httpLn, httpsLn, metricsLn, rpcLn net.Listener
	servers                           []*http.Server
	wg                                sync.WaitGroup
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

func (s *Server) listen(port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(s.cfg.Bind, strconv.Itoa(port)))
}

func portOf(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

func (s *Server) newHTTPServer(h http.Handler, port int) *http.Server {
	return &http.Server{
		Handler:           &accessHandler{next: withBodyTimeout(h, s.cfg.RequestBodyTimeout, s.cfg.RequestBodyMinRate, s.log), log: s.log, port: port, metrics: s.metrics},
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelInfo),
	}
}

// Start restores state and opens every listener.
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

	var err error
	if s.metrics != nil {
		if s.metricsLn, err = s.listen(s.cfg.MetricsPort); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		srv := &http.Server{Handler: s.metrics, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout}
		s.serve(srv, func() error { return srv.Serve(s.metricsLn) })
	}
	if s.httpLn, err = s.listen(s.cfg.HTTPPort); err != nil {
		s.Stop()
		return fmt.Errorf("http listener: %w", err)
	}
	if s.httpsLn, err = s.listen(s.cfg.HTTPSPort); err != nil {
		s.httpLn.Close()
		s.Stop()
		return fmt.Errorf("https listener: %w", err)
	}
	if s.cfg.HTTPSPort == 0 {
		// Redirects must name the port actually in use.
		s.Router.httpsPort = portOf(s.httpsLn)
	}
	httpSrv := s.newHTTPServer(s.Router, portOf(s.httpLn))
	s.serve(httpSrv, func() error { return httpSrv.Serve(s.httpLn) })

	httpsSrv := s.newHTTPServer(s.Router, portOf(s.httpsLn))
	httpsSrv.TLSConfig = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.Router.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1", "acme-tls/1"},
	}
	s.serve(httpsSrv, func() error { return httpsSrv.ServeTLS(s.httpsLn, "", "") })

	sock := s.cfg.SocketPath
	if sock == "" {
		sock = SocketPath()
	}
	if s.rpcLn, err = listenRPC(sock, s.Router); err != nil {
		s.Stop()
		return fmt.Errorf("command socket: %w", err)
	}
	s.log.Info("Server started", "http", portOf(s.httpLn), "https", portOf(s.httpsLn), "socket", sock)
	return nil
}

func (s *Server) serve(srv *http.Server, run func() error) {
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
func (s *Server) HTTPAddr() string  { return s.httpLn.Addr().String() }
func (s *Server) HTTPSAddr() string { return s.httpsLn.Addr().String() }
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
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
