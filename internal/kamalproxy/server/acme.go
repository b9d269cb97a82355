package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// After a failed issuance a name is not tried again for a while, which
// spares the CA's rate limits (Let's Encrypt allows five failed validations
// per name and hour); the wait doubles up to the maximum.
const (
	acmeRetryFirst = 5 * time.Minute
	acmeRetryMax   = time.Hour
	acmeIssueLimit = 5 * time.Minute // one issuance attempt at most
)

// certFailures records the names whose certificate could not be obtained.
// While a name is in it, its plain HTTP requests are served instead of being
// redirected to an HTTPS that could not complete a handshake. One per router,
// because a service on a path prefix inherits TLS from the host's root
// service and must make the same decision.
type certFailures struct {
	mu    sync.Mutex
	names map[string]certFailure
}

// certEnv is what the services of one router share for ACME.
type certEnv struct {
	failures *certFailures
	// eager asks for the certificates of listed hosts as soon as a service
	// is deployed or restored, so a failure shows (and plain HTTP is kept)
	// before any visitor; otherwise the first TLS handshake asks, as in the
	// original kamal-proxy. The server turns it on; tests that deploy TLS
	// services without a CA leave it off so they never reach the network.
	eager bool
}

type certFailure struct {
	err     error
	retryAt time.Time
	wait    time.Duration
}

func newCertFailures() *certFailures { return &certFailures{names: map[string]certFailure{}} }

// failed reports whether name's last issuance failed and its retry is not due.
func (f *certFailures) failed(name string) (error, bool) {
	if f == nil {
		return nil, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.names[name]
	if !ok || !time.Now().Before(c.retryAt) {
		return nil, false
	}
	return c.err, true
}

// record notes a failure and returns how long until the next attempt, and
// whether this is news: handshakes that waited on the same attempt report
// the same failure, which must neither be logged again nor lengthen the wait.
func (f *certFailures) record(name string, err error) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	wait := acmeRetryFirst
	if prev, ok := f.names[name]; ok {
		if now.Before(prev.retryAt) {
			return prev.retryAt.Sub(now), false
		}
		wait = min(prev.wait*2, acmeRetryMax)
	}
	f.names[name] = certFailure{err: err, retryAt: now.Add(wait), wait: wait}
	return wait, true
}

// clear forgets a failure; it reports whether there was one.
func (f *certFailures) clear(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.names[name]
	delete(f.names, name)
	return ok
}

// acmeCerts obtains certificates from an ACME CA (Let's Encrypt by default)
// through autocert, for the hosts of one service or, on demand, for names its
// check approves. Listed hosts are requested at deploy time, in the
// background, instead of at a visitor's first handshake. A failure is logged
// once, with what to check, and the name is served over plain HTTP until a
// later attempt succeeds.
type acmeCerts struct {
	m        *autocert.Manager
	service  string
	hosts    []string
	log      *slog.Logger
	failures *certFailures
	eager    bool
	allowed  sync.Map // names the host policy let through

	ctx    context.Context // ends when the service stops using this manager
	cancel context.CancelFunc
}

func newACMECerts(so ServiceOptions, service string, cache autocert.Cache, policy autocert.HostPolicy, env certEnv, log *slog.Logger) *acmeCerts {
	a := &acmeCerts{service: service, hosts: so.Hosts, log: log, failures: env.failures, eager: env.eager}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.m = &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Cache:  cache,
		HostPolicy: func(ctx context.Context, host string) error {
			if err := policy(ctx, host); err != nil {
				return err
			}
			a.allowed.Store(host, true)
			return nil
		},
		Client: &acme.Client{DirectoryURL: so.ACMEDirectory},
	}
	// autocert only offers HTTP-01 once HTTPHandler has been called; the
	// service calls it lazily per challenge request, which would be too late,
	// so enable it here. TLS-ALPN-01 is always offered.
	a.m.HTTPHandler(nil)
	return a
}

// start requests a certificate for every listed host, when eager.
func (a *acmeCerts) start() {
	if !a.eager {
		return
	}
	for _, h := range a.hosts {
		a.obtainLater(h, 0)
	}
}

// obtainLater asks for host's certificate after wait, unless closed first.
func (a *acmeCerts) obtainLater(host string, wait time.Duration) {
	go func() {
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(wait):
		}
		// A hello like a current browser's, so the ECDSA certificate that
		// visitors will ask for is the one obtained.
		_, _ = a.GetCertificate(&tls.ClientHelloInfo{
			ServerName:       host,
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedCurves:  []tls.CurveID{tls.CurveP256},
			CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		})
	}()
}

// close stops background requests (one under way finishes on its own,
// unrecorded); certificates in the cache stay.
func (a *acmeCerts) close() { a.cancel() }

func (a *acmeCerts) HTTPHandler(fallback http.Handler) http.Handler { return a.m.HTTPHandler(fallback) }

func (a *acmeCerts) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if slices.Contains(hello.SupportedProtos, acme.ALPNProto) {
		return a.m.GetCertificate(hello) // a CA validating TLS-ALPN-01
	}
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if err, ok := a.failures.failed(name); ok {
		return nil, fmt.Errorf("no certificate for %s yet: %w", name, err)
	}
	cert, err := a.m.GetCertificate(hello)
	if err == nil {
		if a.failures.clear(name) {
			a.log.Info("TLS certificate obtained; redirecting to HTTPS again", "service", a.service, "host", name)
		}
		return cert, nil
	}
	if _, allowed := a.allowed.Load(name); !allowed || a.ctx.Err() != nil {
		return nil, err // a name nobody asked for, or the service is gone
	}
	wait, news := a.failures.record(name, err)
	if !news {
		return nil, err
	}
	a.log.Error("Unable to obtain a TLS certificate; serving plain HTTP until it succeeds", "service", a.service, "host", name,
		"error", err.Error(), "retry_in", wait.String(),
		"check", "DNS for the host must point to this server and the CA must reach it on port 80 (HTTP-01) or 443 (TLS-ALPN-01)")
	if slices.Contains(a.hosts, name) {
		a.obtainLater(name, wait)
	}
	return nil, err
}
