package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// writeCert creates a self-signed certificate for hosts and returns the PEM
// paths and a pool that trusts it.
func writeCert(t *testing.T, hosts ...string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return cp, kp, pool
}

func startServer(t *testing.T) *Server {
	t.Helper()
	dir := t.TempDir()
	srv := NewServer(Config{Bind: "127.0.0.1", StateDir: filepath.Join(dir, "state"), SocketPath: filepath.Join(dir, "kp.sock"), Logger: discardLogger(), MetricsPort: 0})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func TestTLSWithCustomCertificate(t *testing.T) {
	srv := startServer(t)
	a := newTestApp(t, "a")
	plain := newTestApp(t, "plain")
	cp, kp, pool := writeCert(t, "secure.test")
	so := hostOpts("secure.test")
	so.TLSEnabled, so.TLSCertificatePath, so.TLSPrivateKeyPath = true, cp, kp
	to := fastTargetOptions()
	to.ForwardHeaders = false
	if err := srv.Router.Deploy("secure", []string{a.addr()}, nil, fastDeploy(), so, to); err != nil {
		t.Fatal(err)
	}
	if err := srv.Router.Deploy("plain", []string{plain.addr()}, nil, fastDeploy(), hostOpts("plain.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			DialContext:       dialTo(srv.HTTPSAddr()),
			ForceAttemptHTTP2: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Get("https://secure.test/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "a /x?" || res.Header.Get("Echo-X-Forwarded-Proto") != "https" {
		t.Fatalf("https: %d %q %v", res.StatusCode, body, res.Header)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("expected HTTP/2 over TLS, got %s", res.Proto)
	}

	// Plain HTTP redirects to HTTPS. A client that named a port talks to our
	// listeners directly and gets the HTTPS port; one that named none came in
	// on its default port (maybe through a port mapping) and gets none.
	_, httpPort, _ := net.SplitHostPort(srv.HTTPAddr())
	_, httpsPort, _ := net.SplitHostPort(srv.HTTPSAddr())
	plainClient := &http.Client{CheckRedirect: client.CheckRedirect}
	for host, want := range map[string]string{
		"secure.test:" + httpPort: "https://secure.test:" + httpsPort + "/a?b=c",
		"secure.test":             "https://secure.test/a?b=c",
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/a?b=c", nil)
		req.Host = host
		res, err = plainClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 301 || res.Header.Get("Location") != want {
			t.Fatalf("redirect for Host %s: %d %q, want %q", host, res.StatusCode, res.Header.Get("Location"), want)
		}
	}

	// No SNI (IP address URL): the deterministic default host's certificate.
	conn, err := tls.Dial("tcp", srv.HTTPSAddr(), &tls.Config{RootCAs: pool, ServerName: "secure.test", InsecureSkipVerify: false})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	raw, err := tls.Dial("tcp", srv.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("no-SNI handshake: %v", err)
	}
	if cn := raw.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "secure.test" {
		t.Fatalf("default cert %q", cn)
	}
	raw.Close()

	// Unknown SNI fails the handshake.
	if c, err := tls.Dial("tcp", srv.HTTPSAddr(), &tls.Config{ServerName: "nope.test", InsecureSkipVerify: true}); err == nil {
		c.Close()
		t.Fatal("handshake for unknown name succeeded")
	}
}

func TestTLSConfigurationErrors(t *testing.T) {
	r := NewRouter(discardLogger(), t.TempDir(), 443)
	defer r.Shutdown()
	a := newTestApp(t, "a")
	so := hostOpts("*.wild.test")
	so.TLSEnabled = true
	if err := r.Deploy("w", []string{a.addr()}, nil, fastDeploy(), so, fastTargetOptions()); err == nil || err.Error() != "automatic TLS does not support wildcards" {
		t.Fatalf("err = %v", err)
	}
	so = hostOpts("x.test")
	so.TLSEnabled, so.TLSCertificatePath, so.TLSPrivateKeyPath = true, "/nonexistent.pem", "/nonexistent.key"
	if err := r.Deploy("x", []string{a.addr()}, nil, fastDeploy(), so, fastTargetOptions()); err == nil || err.Error() != "unable to load certificate" {
		t.Fatalf("err = %v", err)
	}
	if len(r.List()) != 0 {
		t.Fatal("failed deploys registered a service")
	}
}

func TestAutomaticTLSUsesStateDirCache(t *testing.T) {
	dir := t.TempDir()
	so := hostOpts("auto.test")
	so.TLSEnabled = true
	cm, err := newCertManager(so, "auto", dir, nil, certEnv{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := cm.(*acmeCerts)
	if !ok {
		t.Fatalf("got %T", cm)
	}
	m := a.m
	cache, ok := m.Cache.(autocert.DirCache)
	if !ok || !strings.HasPrefix(string(cache), filepath.Join(dir, "certs")+string(filepath.Separator)) {
		t.Fatalf("cache %v", m.Cache)
	}
	if err := m.HostPolicy(t.Context(), "auto.test"); err != nil {
		t.Fatal(err)
	}
	if err := m.HostPolicy(t.Context(), "other.test"); err == nil {
		t.Fatal("host policy allowed an unknown host")
	}
	staging := so
	staging.ACMEDirectory = LetsEncryptStagingURL
	if acmeCacheDir("x", staging.ACMEDirectory) == acmeCacheDir("x", "") {
		t.Fatal("staging and production share a cache")
	}
}

func TestHTTPSRequestToPlainServiceGets503(t *testing.T) {
	srv := startServer(t)
	a := newTestApp(t, "a")
	// A TLS service provides the certificate; the catch-all service is plain.
	cp, kp, pool := writeCert(t, "secure.test")
	so := hostOpts("secure.test")
	so.TLSEnabled, so.TLSCertificatePath, so.TLSPrivateKeyPath = true, cp, kp
	if err := srv.Router.Deploy("secure", []string{a.addr()}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	plain := hostOpts("secure.test")
	plain.PathPrefixes = []string{"/plain"}
	if err := srv.Router.Deploy("plain", []string{a.addr()}, nil, fastDeploy(), plain, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	// The /plain service inherits TLS from the root service of its host.
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext:     dialTo(srv.HTTPSAddr()),
	}}
	res, err := client.Get("https://secure.test/plain/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "a /x?" {
		t.Fatalf("%d %q", res.StatusCode, body)
	}

	// TLS handshake for secure.test, but the Host names a plain service.
	if err := srv.Router.Deploy("other", []string{a.addr()}, nil, fastDeploy(), hostOpts("other.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	client.Transport.(*http.Transport).TLSClientConfig.ServerName = "secure.test"
	res, err = client.Get("https://other.test/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("https to plain service: %d", res.StatusCode)
	}
}

// TestAutomaticTLSWithLocalACMEServer runs the whole autocert flow against a
// loopback ACME server that offers one challenge type and validates it against
// the proxy's own listeners: HTTP-01 on the HTTP port, TLS-ALPN-01 on the
// HTTPS port. The issued certificate must land in the state directory's cache
// and be served afterwards.
func TestAutomaticTLSWithLocalACMEServer(t *testing.T) {
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			srv := startServer(t)
			a := newTestApp(t, "a")
			ca := newTestCA(t, challenge, srv.HTTPAddr(), srv.HTTPSAddr())
			so := hostOpts("auto.test")
			so.TLSEnabled = true
			so.ACMEDirectory = ca.directoryURL()
			if err := srv.Router.Deploy("auto", []string{a.addr()}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
				t.Fatal(err)
			}

			status, body := httpsGetVia(t, srv.HTTPSAddr(), "auto.test", "/x", ca.pool())
			if status != 200 || body != "a /x?" {
				t.Fatalf("https: %d %q", status, body)
			}
			if got := ca.passed(); len(got) != 1 || got[0] != challenge {
				t.Fatalf("validated challenges %v, want [%s]", got, challenge)
			}
			cached := filepath.Join(acmeCacheDir(filepath.Join(srv.cfg.StateDir, "certs"), ca.directoryURL()), "auto.test")
			if _, err := os.Stat(cached); err != nil {
				t.Fatalf("certificate not cached in the state directory: %v", err)
			}

			// Plain HTTP is redirected, but challenge paths never are.
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/x", nil)
			req.Host = "auto.test"
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 301 || !strings.HasPrefix(res.Header.Get("Location"), "https://auto.test") {
				t.Fatalf("http: %d %q", res.StatusCode, res.Header.Get("Location"))
			}
			req, _ = http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/.well-known/acme-challenge/unknown", nil)
			req.Host = "auto.test"
			if res, err = client.Do(req); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown challenge token: %d", res.StatusCode)
			}
		})
	}
}

// TestOnDemandTLS issues certificates for names nobody listed, once the
// check URL answers 200 for ?host=<name>: an external URL (not followed
// through redirects) and a path served by the service itself (never
// redirected to HTTPS). Denied names fail the handshake.
func TestOnDemandTLS(t *testing.T) {
	var asked []string
	var mu sync.Mutex
	check := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RawQuery)
		mu.Unlock()
		switch r.URL.Query().Get("host") {
		case "allowed.test":
			fmt.Fprint(w, "ok")
		case "redirected.test":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			http.Error(w, "not ours", http.StatusForbidden)
		}
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/up":
		case "/tls-check":
			check(w, r)
		default:
			fmt.Fprintf(w, "app %s", r.URL.Path)
		}
	}))
	t.Cleanup(app.Close)
	external := httptest.NewServer(http.HandlerFunc(check))
	t.Cleanup(external.Close)

	for _, tc := range []struct{ name, url, wantQuery string }{
		{"path", "/tls-check", "host=allowed.test"},
		{"external", external.URL + "/check?key=v", "host=allowed.test&key=v"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			asked = nil
			mu.Unlock()
			srv := startServer(t)
			ca := newTestCA(t, "tls-alpn-01", srv.HTTPAddr(), srv.HTTPSAddr())
			so := DefaultServiceOptions()
			so.TLSEnabled, so.TLSOnDemandURL, so.ACMEDirectory = true, tc.url, ca.directoryURL()
			if err := srv.Router.Deploy("ondemand", []string{strings.TrimPrefix(app.URL, "http://")}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
				t.Fatal(err)
			}
			if status, body := httpsGetVia(t, srv.HTTPSAddr(), "allowed.test", "/x", ca.pool()); status != 200 || body != "app /x" {
				t.Fatalf("allowed: %d %q", status, body)
			}
			mu.Lock()
			first := append([]string(nil), asked...)
			mu.Unlock()
			if len(first) == 0 || first[0] != tc.wantQuery {
				t.Fatalf("check queries %q, want %q first", first, tc.wantQuery)
			}
			for _, denied := range []string{"denied.test", "redirected.test"} {
				c, err := tls.Dial("tcp", srv.HTTPSAddr(), &tls.Config{ServerName: denied, RootCAs: ca.pool()})
				if err == nil {
					c.Close()
					t.Fatalf("%s: handshake succeeded", denied)
				}
			}
			if n := len(ca.passed()); n != 1 {
				t.Fatalf("%d certificates validated, want 1", n)
			}
		})
	}
}

// TestDefaultCertificateWithoutSNIIsDeterministic: a client that sends no SNI
// (an IP URL) gets the certificate of the alphabetically first TLS service,
// every time, whatever the deploy order (the reference picks by map order).
func TestDefaultCertificateWithoutSNIIsDeterministic(t *testing.T) {
	srv := startServer(t)
	a := newTestApp(t, "a")
	noSNI := func() (string, error) {
		c, err := tls.Dial("tcp", srv.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return "", err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
	}
	if _, err := noSNI(); err == nil {
		t.Fatal("handshake without SNI and without TLS services succeeded")
	}
	for _, name := range []string{"zeta", "alpha", "mid"} {
		cp, kp, _ := writeCert(t, name+".test")
		so := hostOpts(name + ".test")
		so.TLSEnabled, so.TLSCertificatePath, so.TLSPrivateKeyPath = true, cp, kp
		if err := srv.Router.Deploy(name, []string{a.addr()}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		cn, err := noSNI()
		if err != nil || cn != "alpha.test" {
			t.Fatalf("no-SNI certificate %q, %v; want alpha.test", cn, err)
		}
	}
}

// TestPathServiceFallsBackToPlainHTTPWhenRootTLSServiceIsRemoved: a service
// on /api inherits TLS from the host's root service while there is one, and
// serves plain HTTP again once that service is removed.
func TestPathServiceFallsBackToPlainHTTPWhenRootTLSServiceIsRemoved(t *testing.T) {
	srv := startServer(t)
	root, api := newTestApp(t, "root"), newTestApp(t, "api")
	cp, kp, _ := writeCert(t, "shop.test")
	so := hostOpts("shop.test")
	so.TLSEnabled, so.TLSCertificatePath, so.TLSPrivateKeyPath = true, cp, kp
	if err := srv.Router.Deploy("root", []string{root.addr()}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	apiOpts := hostOpts("shop.test")
	apiOpts.PathPrefixes = []string{"/api"}
	if err := srv.Router.Deploy("api", []string{api.addr()}, nil, fastDeploy(), apiOpts, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/api/x", nil)
		req.Host = "shop.test"
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, _ := get(); status != http.StatusMovedPermanently {
		t.Fatalf("with the TLS root service: %d, want a redirect to HTTPS", status)
	}
	if err := srv.Router.Remove("root"); err != nil {
		t.Fatal(err)
	}
	if status, body := get(); status != 200 || body != "api /x?" {
		t.Fatalf("after removing the root service: %d %q, want plain HTTP from api", status, body)
	}
	if d := srv.Router.List()["api"]; d.TLS {
		t.Fatalf("list still shows TLS for api: %+v", d)
	}
}

// dialTo is a DialContext that connects to addr whatever host a request names.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}
