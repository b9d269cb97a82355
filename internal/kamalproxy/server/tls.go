package server

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/acme/autocert"
)

// LetsEncryptStagingURL is used with --tls-staging.
const LetsEncryptStagingURL = "https://acme-staging-v02.api.letsencrypt.org/directory"

type certManager interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	HTTPHandler(fallback http.Handler) http.Handler
	start() // begins obtaining certificates, once the service is installed
	close() // stops that when the service drops this manager
}

type staticCert struct{ cert *tls.Certificate }

func (s staticCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cert, nil
}
func (s staticCert) HTTPHandler(h http.Handler) http.Handler { return h }
func (staticCert) start()                                    {}
func (staticCert) close()                                    {}

func loadStaticCert(certPath, keyPath string) (certManager, error) {
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, ErrUnableToLoadCertificate
	}
	return staticCert{&c}, nil
}

// acmeCacheDir scopes the cache by directory URL so staging and production
// certificates never mix and redeploys reuse what was issued.
func acmeCacheDir(base, directory string) string {
	sum := sha256.Sum256([]byte(directory))
	return filepath.Join(base, hex.EncodeToString(sum[:]))
}

// newCertManager builds the certificate source of a service. local serves
// in-process on-demand checks (a --tls-on-demand-url that is a path).
func newCertManager(so ServiceOptions, service, stateDir string, local http.Handler, env certEnv, log *slog.Logger) (certManager, error) {
	if !so.TLSEnabled {
		return nil, nil
	}
	if so.TLSCertificatePath != "" {
		return loadStaticCert(so.TLSCertificatePath, so.TLSPrivateKeyPath)
	}
	for _, h := range so.Hosts {
		if strings.Contains(h, "*") {
			return nil, ErrAutoTLSNoWildcards
		}
	}
	base := so.ACMECachePath
	if base == "" {
		// Deliberate: the cache lives in the server's state directory (the
		// mounted volume), not wherever the client's $HOME points.
		base = filepath.Join(stateDir, "certs")
	}
	cache := autocert.DirCache(acmeCacheDir(base, so.ACMEDirectory))
	policy := autocert.HostWhitelist(so.Hosts...)
	if so.TLSOnDemandURL != "" {
		policy = (&onDemandChecker{url: so.TLSOnDemandURL, cache: cache, local: local, log: log}).allow
	}
	if env.failures == nil {
		env.failures = newCertFailures()
	}
	if log == nil {
		log = slog.Default()
	}
	return newACMECerts(so, service, cache, policy, env, log), nil
}
