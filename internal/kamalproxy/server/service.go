package server

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Service is a named application behind the proxy.
type Service struct {
	name string
	log  *slog.Logger

	mu            sync.RWMutex
	options       ServiceOptions
	targetOptions TargetOptions
	active        *Pool
	rollout       *Pool
	rolloutCtl    *RolloutController
	certs         certManager
	pages         *errorPages

	pause *PauseController
	// httpsPort lets TLS redirects keep a non-default port.
	httpsPort int
	// certEnv is shared by the router's services: among others the names
	// whose certificate could not be obtained.
	certEnv *certEnv
	// failure is set while a service that could not be restored from the
	// state file waits for a deploy; it then has no pools.
	failure atomic.Pointer[restoreFailure]
}

// unavailable reports why the service cannot serve, or nil.
func (s *Service) unavailable() error {
	if f := s.failure.Load(); f != nil {
		return f.err
	}
	return nil
}

// Name returns the service name.
func (s *Service) Name() string { return s.name }

// configure validates and installs options, error pages and certificates.
// On error the service is unchanged.
func (s *Service) configure(so ServiceOptions, to TargetOptions, stateDir string) error {
	var pages *errorPages
	if so.ErrorPagePath != "" {
		p, err := loadErrorPages(so.ErrorPagePath)
		if err != nil {
			s.log.Error("Unable to parse custom error pages", "service", s.name, "path", so.ErrorPagePath)
			return err
		}
		pages = p
	}
	certs, err := newCertManager(so, s.name, stateDir, http.HandlerFunc(s.serveInternal), s.certEnvOrEmpty(), s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.certs
	s.options, s.targetOptions, s.pages, s.certs = so, to, pages, certs
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// startCerts begins obtaining certificates once the service is routable.
func (s *Service) startCerts() {
	s.mu.RLock()
	c := s.certs
	s.mu.RUnlock()
	if c != nil {
		c.start()
	}
}

func (s *Service) snapshot() (ServiceOptions, TargetOptions, *Pool, *Pool, *RolloutController, *errorPages, certManager) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.options, s.targetOptions, s.active, s.rollout, s.rolloutCtl, s.pages, s.certs
}

// serveHTTP handles a request routed to this service under prefix.
func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request, prefix string) {
	so, to, active, rollout, rctl, pages, certs := s.snapshot()
	st := stateOf(r)
	st.service = s.name
	if s.failure.Load() != nil {
		writeErrorPage(w, r, http.StatusServiceUnavailable, nil)
		return
	}
	if g := st.metrics.inFlightGauge(s.name); g != nil {
		g.Inc()
		defer g.Dec()
	}
	describe(r, st, prefix, so, to, pages)
	if !so.TLSEnabled && r.TLS != nil {
		writeErrorPage(w, r, http.StatusServiceUnavailable, nil)
		return
	}
	if certs != nil && r.TLS == nil && strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
		// The CA names the port when it validates on another than 80;
		// autocert would check that against the host list as is.
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r = r.Clone(r.Context())
			r.Host = host
		}
		certs.HTTPHandler(http.NotFoundHandler()).ServeHTTP(w, r)
		return
	}
	if u := s.redirectURL(r, so); u != "" && !st.internal {
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, u, http.StatusMovedPermanently)
		return
	}
	if s.pause.State() != PauseRunning && to.IsHealthCheckRequest(r, prefix) {
		w.WriteHeader(http.StatusOK)
		return
	}
	switch action, msg := s.pause.wait(r.Context().Done()); action {
	case pauseWasStopped:
		writeErrorPage(w, r, http.StatusServiceUnavailable, pageData{Message: msg})
		return
	case pauseTimedOut:
		if r.Context().Err() != nil {
			st.status = 499
			return
		}
		s.log.Warn("Rejecting request due to expired pause", "service", s.name, "path", r.URL.Path)
		writeErrorPage(w, r, http.StatusGatewayTimeout, nil)
		return
	}

	if so.StripPrefix && prefix != rootPath {
		r = stripPrefix(r, prefix)
	}

	if to.BufferRequests {
		buf := newSpillBuffer(to.MaxMemoryBufferSize, to.MaxRequestBodySize)
		defer buf.Close()
		if r.Body != nil && r.Body != http.NoBody {
			if _, err := buf.ReadFrom(r.Body); err != nil {
				switch {
				case errors.Is(err, ErrMaximumSizeExceeded):
					writeErrorPage(w, r, http.StatusRequestEntityTooLarge, nil)
				case bodyTimedOut(r):
					writeBodyTimeout(w, r, s.log)
				case strings.Contains(err.Error(), "chunk"):
					writeErrorPage(w, r, http.StatusBadRequest, nil)
				case r.Context().Err() != nil:
					st.status = 499
				default:
					writeErrorPage(w, r, http.StatusInternalServerError, nil)
				}
				return
			}
		}
		r.Body = io.NopCloser(buf)
		r.ContentLength = buf.Len()
		r.TransferEncoding = nil
		r.Header.Set("Content-Length", strconv.FormatInt(buf.Len(), 10))
	}

	// Claiming a target can race with a deploy that starts draining it. The
	// claim is atomic with respect to the drain, so on failure we reload the
	// (by then swapped) pool instead of answering 503.
	for attempt := 0; attempt < 4; attempt++ {
		pool := active
		if rollout != nil && rctl != nil && rctl.usesRollout(r) {
			pool = rollout
		}
		t := pool.pick(r, st)
		if t == nil {
			break
		}
		if cr, f, ok := t.claim(r); ok {
			t.serve(w, cr, f)
			return
		}
		_, _, active, rollout, rctl, _, _ = s.snapshot()
	}
	writeErrorPage(w, r, http.StatusServiceUnavailable, nil)
}

// describe records in st what the access log, the error pages and the
// response hooks need to know of a request routed to a service.
func describe(r *http.Request, st *reqState, prefix string, so ServiceOptions, to TargetOptions, pages *errorPages) {
	st.prefix = prefix
	st.pages = pages
	st.logReqHeaders, st.logRespHeaders = to.LogRequestHeaders, to.LogResponseHeaders
	st.noMetrics = isExcluded(to.ExcludeMetricsPaths, r.URL.Path, prefix, so.StripPrefix)
	if to.ClientIPHeader != "" {
		if ip := r.Header.Get(to.ClientIPHeader); ip != "" {
			r.Header.Set("X-Forwarded-For", ip)
		}
	}
}

// servePending answers a request the fast loop already sent to a target
// (see pendingExchange), on the connection it handed to net/http.
func (s *Service) servePending(w http.ResponseWriter, r *http.Request, p *pendingExchange) {
	so, to, _, _, _, pages, _ := s.snapshot()
	st := stateOf(r)
	st.service = s.name
	if g := st.metrics.inFlightGauge(s.name); g != nil {
		g.Inc()
		defer g.Dec()
	}
	describe(r, st, p.prefix, so, to, pages)
	p.target.serve(w, r, p.f)
}

func isExcluded(paths []string, p, prefix string, strip bool) bool {
	if len(paths) == 0 {
		return false
	}
	if strip && prefix != rootPath {
		p = strippedPath(p, prefix)
	}
	return slices.Contains(paths, p)
}

// stripPrefix gives the app the path below prefix. The raw (escaped) form is
// kept only when it still encodes the stripped path: "/raw%2Fx" under "/raw"
// reaches the app as "/x", never as "%2Fx".
func stripPrefix(r *http.Request, prefix string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = strippedPath(r.URL.Path, prefix)
	u.RawPath = ""
	if raw, ok := strings.CutPrefix(r.URL.RawPath, prefix); ok && (raw == "" || raw[0] == '/') {
		raw = removeDotSegments(rooted(raw))
		if p, err := url.PathUnescape(raw); err == nil && p == u.Path {
			u.RawPath = raw
		}
	}
	r2.URL = &u
	return r2
}

// strippedPath is path below prefix: always rooted, dot segments resolved
// ("/raw/../api" under "/raw" is "/api", not "/../api").
func strippedPath(path, prefix string) string {
	return removeDotSegments(rooted(strings.TrimPrefix(path, prefix)))
}

func rooted(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// removeDotSegments resolves "." and ".." in a rooted path as RFC 3986
// (5.2.4) does; unlike path.Clean it keeps empty segments ("//") and a
// trailing slash, which apps may give meaning to.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
			continue
		}
		if last {
			out = append(out, "") // "/a/." and "/a/b/.." name a directory
		}
	}
	return "/" + strings.Join(out, "/")
}

// redirectURL returns where to send the client for TLS or canonical-host
// redirects, in one hop. Deliberate: a port the client named is kept (the
// original always drops it).
func (s *Service) redirectURL(r *http.Request, so ServiceOptions) string {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	wantScheme, wantHost, wantPort := scheme, host, port
	if so.TLSEnabled && so.TLSRedirect && r.TLS == nil && !s.certificateFailed(host) {
		wantScheme = "https"
		// A client that named no port reached us on its default port, maybe
		// through a port mapping (8443 published as 443): it gets none back.
		// One that named a port talks to our listeners directly.
		wantPort = ""
		if port != "" && s.httpsPort != 0 {
			wantPort = strconv.Itoa(s.httpsPort)
		}
	}
	if so.CanonicalHost != "" && !strings.EqualFold(strings.TrimSuffix(host, "."), so.CanonicalHost) {
		wantHost = so.CanonicalHost
	}
	if wantScheme == scheme && wantHost == host {
		return ""
	}
	if (wantScheme == "http" && wantPort == "80") || (wantScheme == "https" && wantPort == "443") {
		wantPort = ""
	}
	h := wantHost
	if wantPort != "" {
		h = net.JoinHostPort(wantHost, wantPort)
	}
	return wantScheme + "://" + h + r.URL.RequestURI()
}

// certificateFailed reports whether host's certificate could not be
// obtained; its plain HTTP requests are then served, not redirected.
func (s *Service) certificateFailed(host string) bool {
	if s.certEnv == nil {
		return false
	}
	_, failed := s.certEnv.failures.failed(strings.TrimSuffix(strings.ToLower(host), "."))
	return failed
}

func (s *Service) certEnvOrEmpty() certEnv {
	if s.certEnv == nil {
		return certEnv{}
	}
	return *s.certEnv
}

// drainAll waits for in-flight requests of both pools (pause/stop).
func (s *Service) drainAll(timeout time.Duration) {
	_, _, active, rollout, _, _, _ := s.snapshot()
	var wg sync.WaitGroup
	for _, p := range []*Pool{active, rollout} {
		if p == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); p.WaitIdle(timeout) }()
	}
	wg.Wait()
}

func (s *Service) dispose() {
	_, _, active, rollout, _, _, certs := s.snapshot()
	if active != nil {
		active.Stop()
	}
	if rollout != nil {
		rollout.Stop()
	}
	if certs != nil {
		certs.close()
	}
}

func (s *Service) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.RLock()
	c := s.certs
	s.mu.RUnlock()
	if c == nil {
		return nil, errors.New("unknown server name")
	}
	return c.GetCertificate(hello)
}
