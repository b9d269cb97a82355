package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Router owns the services, routes requests to them and persists state.
type Router struct {
	log       *slog.Logger
	stateDir  string
	statePath string
	httpsPort int
	// acmeDirectory is the ACME CA for services that name none (empty: Let's
	// Encrypt production).
	acmeDirectory string
	certEnv       *certEnv

	mu       sync.Mutex // guards services, deployMu and state writes
	services map[string]*Service
	deployMu map[string]*sync.Mutex
	table    atomic.Pointer[routeTable]
}

// NewRouter creates an empty router. stateDir may be empty (no persistence).
func NewRouter(log *slog.Logger, stateDir string, httpsPort int) *Router {
	if log == nil {
		log = slog.Default()
	}
	r := &Router{log: log, stateDir: stateDir, httpsPort: httpsPort, services: map[string]*Service{}, deployMu: map[string]*sync.Mutex{},
		certEnv: &certEnv{failures: newCertFailures()}}
	if stateDir != "" {
		r.statePath = stateFile(stateDir)
	}
	r.table.Store(&routeTable{hosts: map[string][]binding{}})
	return r
}

type binding struct {
	prefix string
	svc    *Service
}

type routeTable struct {
	hosts map[string][]binding // host ("" = catch-all) -> longest prefix first
}

// canonicalRequestHost strips the port, lowercases and drops a trailing dot.
func canonicalRequestHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	h = strings.TrimSuffix(h, ".")
	return strings.ToLower(h)
}

func (t *routeTable) bindingsFor(host string) []binding {
	if b, ok := t.hosts[host]; ok {
		return b
	}
	if i := strings.IndexByte(host, '.'); i >= 0 {
		if b, ok := t.hosts["*"+host[i:]]; ok {
			return b
		}
	}
	return t.hosts[""]
}

func prefixMatches(path, prefix string) bool {
	if prefix == rootPath {
		return true
	}
	return strings.HasPrefix(path, prefix) && (len(path) == len(prefix) || path[len(prefix)] == '/')
}

func (t *routeTable) lookup(host, path string) (*Service, string) {
	for _, b := range t.bindingsFor(host) {
		if prefixMatches(path, b.prefix) {
			return b.svc, b.prefix
		}
	}
	return nil, ""
}

// ServeHTTP routes a request; nothing matching gives the built-in 404.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if p := pendingOf(req); p != nil && p.take() {
		p.svc.servePending(w, req, p)
		return
	}
	svc, prefix := r.table.Load().lookup(canonicalRequestHost(req.Host), req.URL.Path)
	if svc == nil {
		writeErrorPage(w, nil, http.StatusNotFound, nil)
		return
	}
	svc.serveHTTP(w, req, prefix)
}

// rebuild recomputes the route table; r.mu must be held.
func (r *Router) rebuild() {
	t := &routeTable{hosts: map[string][]binding{}}
	for _, svc := range r.services {
		so := svc.options
		hosts := so.Hosts
		if len(hosts) == 0 {
			hosts = []string{""}
		}
		for _, h := range hosts {
			for _, p := range so.PathPrefixes {
				t.hosts[h] = append(t.hosts[h], binding{prefix: p, svc: svc})
			}
		}
	}
	for _, bs := range t.hosts {
		sort.Slice(bs, func(i, j int) bool {
			if len(bs[i].prefix) != len(bs[j].prefix) {
				return len(bs[i].prefix) > len(bs[j].prefix)
			}
			return bs[i].prefix < bs[j].prefix
		})
	}
	// Services below a path inherit TLS behaviour from the root service of
	// their first host, so redirects and certificates stay consistent. With
	// no root service (never deployed, or removed) they serve plain HTTP, as
	// --tls is refused on a path prefix.
	for _, svc := range r.services {
		so := svc.options
		if so.servesRoot() {
			continue
		}
		host := ""
		if len(so.Hosts) > 0 {
			host = so.Hosts[0]
		}
		tlsEnabled, tlsRedirect := false, true
		for _, b := range t.hosts[host] {
			if b.prefix == rootPath && b.svc != svc {
				tlsEnabled, tlsRedirect = b.svc.options.TLSEnabled, b.svc.options.TLSRedirect
			}
		}
		svc.mu.Lock()
		svc.options.TLSEnabled, svc.options.TLSRedirect = tlsEnabled, tlsRedirect
		svc.mu.Unlock()
	}
	r.table.Store(t)
}

// checkConflicts fails when a host × prefix pair belongs to another service;
// r.mu must be held.
func (r *Router) checkConflicts(name string, so ServiceOptions) error {
	hosts := so.Hosts
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	for _, other := range r.services {
		if other.name == name {
			continue
		}
		oh := other.options.Hosts
		if len(oh) == 0 {
			oh = []string{""}
		}
		for _, h := range hosts {
			if !slices.Contains(oh, h) {
				continue
			}
			for _, p := range so.PathPrefixes {
				if slices.Contains(other.options.PathPrefixes, p) {
					return ErrHostSettingsConflict
				}
			}
		}
	}
	return nil
}

func (r *Router) lockService(name string) func() {
	r.mu.Lock()
	m, ok := r.deployMu[name]
	if !ok {
		m = &sync.Mutex{}
		r.deployMu[name] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (r *Router) prepare(name string, writers, readers []string, so *ServiceOptions, to TargetOptions) error {
	if name == "" {
		return errors.New("service name must be set")
	}
	if len(writers) == 0 {
		return errors.New("at least one target must be set")
	}
	so.Normalize()
	r.fillACMECachePath(so)
	if so.TLSEnabled && so.TLSCertificatePath == "" && so.ACMEDirectory == "" {
		so.ACMEDirectory = r.acmeDirectory
	}
	if err := so.Validate(); err != nil {
		return err
	}
	if err := to.Validate(); err != nil {
		return err
	}
	for _, t := range append(append([]string(nil), writers...), readers...) {
		if err := ValidateTarget(t); err != nil {
			return err
		}
	}
	return nil
}

// fillACMECachePath stores where certificates are cached as an absolute path,
// as the original kamal-proxy's client does: it uses the persisted path as
// is, so an empty one would put its cache in its working directory.
func (r *Router) fillACMECachePath(so *ServiceOptions) {
	if so.ACMECachePath == "" && r.stateDir != "" {
		so.ACMECachePath = filepath.Join(r.stateDir, "certs")
	}
}

func (r *Router) waitHealthy(pool *Pool, opts DeploymentOptions) error {
	pool.StartHealthChecks()
	if opts.Force {
		return nil
	}
	timeout := opts.DeployTimeout
	if timeout <= 0 {
		timeout = DefaultDeployTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := pool.WaitHealthy(ctx); err != nil {
		pool.Stop()
		return fmt.Errorf("target failed to become healthy within configured timeout (%s)", timeout)
	}
	return nil
}

// Deploy health-checks the new targets, swaps them in atomically and drains
// the old ones before returning.
func (r *Router) Deploy(name string, writers, readers []string, opts DeploymentOptions, so ServiceOptions, to TargetOptions) error {
	if err := r.prepare(name, writers, readers, &so, to); err != nil {
		return err
	}
	// Deliberate: conflicts are reported before waiting for health.
	r.mu.Lock()
	err := r.checkConflicts(name, so)
	r.mu.Unlock()
	if err != nil {
		return err
	}

	unlock := r.lockService(name)
	defer unlock()
	r.log.Info("Deploying", "service", name, "hosts", so.Hosts, "paths", so.PathPrefixes, "targets", writers, "readers", readers, "tls", so.TLSEnabled)

	pool, err := NewPool(writers, readers, so, to, r.log)
	if err != nil {
		return err
	}
	if err := r.waitHealthy(pool, opts); err != nil {
		return err
	}

	r.mu.Lock()
	if err := r.checkConflicts(name, so); err != nil {
		r.mu.Unlock()
		pool.Stop()
		return err
	}
	svc, exists := r.services[name]
	if !exists {
		svc = r.newService(name, nil)
	}
	if err := svc.configure(so, to, r.stateDir); err != nil {
		r.mu.Unlock()
		pool.Stop()
		return err
	}
	svc.mu.Lock()
	old := svc.active
	svc.active = pool
	svc.mu.Unlock()
	svc.failure.Store(nil) // a deploy repairs a service that failed to restore
	r.services[name] = svc
	r.rebuild()
	r.saveLocked()
	r.mu.Unlock()
	svc.startCerts()

	drain := opts.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	if old != nil {
		old.Drain(drain)
	}
	r.log.Info("Deployed", "service", name, "hosts", so.Hosts, "paths", so.PathPrefixes, "targets", writers, "readers", readers)
	return nil
}

// newService makes an empty service of this router; pause is its saved
// pause state, if any.
func (r *Router) newService(name string, pause *PauseController) *Service {
	if pause == nil {
		pause = NewPauseController()
	}
	return &Service{name: name, log: r.log, pause: pause, httpsPort: r.httpsPort, certEnv: r.certEnv}
}

func (r *Router) service(name string) (*Service, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	svc, ok := r.services[name]
	if !ok {
		return nil, ErrServiceNotFound
	}
	return svc, nil
}

// Remove unregisters a service, then lets its in-flight requests finish
// (deliberate: the reference does not wait).
func (r *Router) Remove(name string) error {
	r.mu.Lock()
	svc, ok := r.services[name]
	if !ok {
		r.mu.Unlock()
		return ErrServiceNotFound
	}
	delete(r.services, name)
	r.rebuild()
	r.saveLocked()
	r.mu.Unlock()
	_, _, active, rollout, _, _, certs := svc.snapshot()
	if certs != nil {
		certs.close()
	}
	for _, p := range []*Pool{active, rollout} {
		if p != nil {
			p.Drain(DefaultDrainTimeout)
		}
	}
	r.log.Info("Removed service", "service", name)
	return nil
}

// Pause holds new requests and waits for in-flight ones.
func (r *Router) Pause(name string, drainTimeout, pauseTimeout time.Duration) error {
	svc, err := r.service(name)
	if err != nil {
		return err
	}
	if pauseTimeout <= 0 {
		pauseTimeout = DefaultPauseTimeout
	}
	svc.pause.Pause(pauseTimeout)
	r.save()
	r.log.Info("Service paused", "service", name)
	svc.drainAll(drainTimeout)
	r.log.Info("Service drained", "service", name)
	return nil
}

// Stop answers every request with 503 and message, after draining.
func (r *Router) Stop(name string, drainTimeout time.Duration, message string) error {
	svc, err := r.service(name)
	if err != nil {
		return err
	}
	svc.pause.Stop(message)
	r.save()
	r.log.Info("Service stopped", "service", name)
	svc.drainAll(drainTimeout)
	r.log.Info("Service drained", "service", name)
	return nil
}

// Resume returns a paused or stopped service to normal.
func (r *Router) Resume(name string) error {
	svc, err := r.service(name)
	if err != nil {
		return err
	}
	svc.pause.Resume()
	r.save()
	r.log.Info("Service resumed", "service", name)
	return nil
}

// RolloutDeploy installs a second pool used for the cookie-based split.
func (r *Router) RolloutDeploy(name string, writers, readers []string, opts DeploymentOptions) error {
	svc, err := r.service(name)
	if err != nil {
		return err
	}
	unlock := r.lockService(name)
	defer unlock()
	if err := svc.unavailable(); err != nil {
		return fmt.Errorf("service is unavailable until deployed again: %w", err)
	}
	so, to, _, _, _, _, _ := svc.snapshot()
	for _, t := range append(append([]string(nil), writers...), readers...) {
		if err := ValidateTarget(t); err != nil {
			return err
		}
	}
	pool, err := NewPool(writers, readers, so, to, r.log)
	if err != nil {
		return err
	}
	if err := r.waitHealthy(pool, opts); err != nil {
		return err
	}
	svc.mu.Lock()
	old := svc.rollout
	svc.rollout = pool
	svc.mu.Unlock()
	r.save()
	if old != nil {
		old.Drain(orDefault(opts.DrainTimeout, DefaultDrainTimeout))
	}
	r.log.Info("Deployed rollout", "service", name, "targets", writers)
	return nil
}

// RolloutSet enables the split.
func (r *Router) RolloutSet(name string, percent int, allowlist []string) error {
	svc, err := r.service(name)
	if err != nil {
		return err
	}
	if percent < 0 || percent > 100 {
		return errors.New("percentage must be between 0 and 100")
	}
	svc.mu.Lock()
	if svc.rollout == nil {
		svc.mu.Unlock()
		return ErrRolloutTargetNotSet
	}
	svc.rolloutCtl = newRolloutController(percent, allowlist)
	svc.mu.Unlock()
	r.save()
	r.log.Info("Set rollout split", "service", name, "percentage", percent, "allowlist", allowlist)
	return nil
}

// RolloutStop removes the split and (deliberately) retires the rollout pool.
func (r *Router) RolloutStop(name string) error {
	svc, err := r.service(name)
	if err != nil {
		return err
	}
	svc.mu.Lock()
	old := svc.rollout
	svc.rolloutCtl = nil
	svc.rollout = nil
	svc.mu.Unlock()
	r.save()
	if old != nil {
		old.Drain(DefaultDrainTimeout)
	}
	r.log.Info("Stopped rollout", "service", name)
	return nil
}

// ServiceDescription is one row of `list`.
type ServiceDescription struct {
	Host   string
	Path   string
	TLS    bool
	Target string
	State  string
	Error  string // why an unavailable service could not be restored
}

// StateUnavailable is the state `list` shows for a service that could not be
// restored from the state file.
const StateUnavailable = "unavailable"

// List describes every service.
func (r *Router) List() map[string]ServiceDescription {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]ServiceDescription{}
	for name, svc := range r.services {
		so, _, active, _, _, _, _ := svc.snapshot()
		host := strings.Join(so.Hosts, ",")
		if host == "" {
			host = "*"
		}
		d := ServiceDescription{
			Host:  host,
			Path:  strings.Join(so.PathPrefixes, ","),
			TLS:   so.TLSEnabled,
			State: svc.pause.State().String(),
		}
		if f := svc.failure.Load(); f != nil {
			d.Target = strings.Join(append(append([]string(nil), f.saved.ActiveTargets...), f.saved.ActiveReaders...), ",")
			d.State, d.Error = StateUnavailable, f.err.Error()
		} else {
			d.Target = strings.Join(append(active.WriterNames(), active.ReaderNames()...), ",")
		}
		out[name] = d
	}
	return out
}

// GetCertificate picks the certificate by SNI with the same host tiers as
// routing. Without SNI it uses the first host of the alphabetically first TLS
// service, which is deterministic (the reference is not).
func (r *Router) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := canonicalRequestHost(hello.ServerName)
	if name == "" || net.ParseIP(name) != nil {
		name = r.defaultTLSHost()
		if name == "" {
			return nil, errors.New("no server name provided")
		}
		h := *hello
		h.ServerName = name
		hello = &h
	}
	svc, _ := r.table.Load().lookup(name, rootPath)
	if svc == nil {
		return nil, errors.New("unknown server name")
	}
	return svc.getCertificate(hello)
}

func (r *Router) defaultTLSHost() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.services))
	for n := range r.services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		so := r.services[n].options
		if !so.TLSEnabled {
			continue
		}
		for _, h := range so.Hosts {
			if !strings.Contains(h, "*") {
				return h
			}
		}
	}
	return ""
}

// Shutdown stops health checks of every service.
func (r *Router) Shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, svc := range r.services {
		svc.dispose()
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
