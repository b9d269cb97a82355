package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/syncbuf"
)

// The ACME tests run Let's Encrypt's test CA, pebble, and its DNS server,
// pebble-challtestsrv, as real processes, built from the versions go.mod
// pins as tools. The DNS server answers 127.0.0.1 for every name, so pebble
// validates challenges against our proxy, which runs as a process too.

var (
	toolsOnce sync.Once
	toolsDir  string
	toolsErr  error
)

// pebbleTools builds pebble and pebble-challtestsrv once per test binary.
// Without a Go toolchain the test is skipped, except under CI=true.
func pebbleTools(t *testing.T) (pebble, challtestsrv, certsDir string) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("builds and runs pebble")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go toolchain not found; the ACME tests build pebble with it")
		}
		t.Skip("go toolchain not found")
	}
	toolsOnce.Do(func() {
		if toolsDir, toolsErr = os.MkdirTemp("", "kamal-proxy-pebble-"); toolsErr != nil {
			return
		}
		for _, pkg := range []string{"github.com/letsencrypt/pebble/v2/cmd/pebble", "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv"} {
			out, err := exec.Command(goBin, "build", "-o", toolsDir, pkg).CombinedOutput()
			if err != nil {
				toolsErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
		out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2").Output()
		if err != nil {
			toolsErr = fmt.Errorf("locate pebble's test certificates: %v", err)
			return
		}
		if err := os.Symlink(filepath.Join(strings.TrimSpace(string(out)), "test", "certs"), filepath.Join(toolsDir, "certs")); err != nil {
			toolsErr = err
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return filepath.Join(toolsDir, "pebble"), filepath.Join(toolsDir, "pebble-challtestsrv"), filepath.Join(toolsDir, "certs")
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProcess runs a helper process until the test ends and waits until
// addr accepts connections.
func startProcess(t *testing.T, addr string, env []string, name string, args ...string) *syncbuf.Buffer {
	t.Helper()
	var out syncbuf.Buffer
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s:\n%s", filepath.Base(name), addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// acmeCA is a running pebble with its DNS server.
type acmeCA struct {
	directory string         // ACME directory URL
	apiRoots  *x509.CertPool // trusts pebble's API (and management) endpoints
	mgmt      string         // pebble management address
	dnsMgmt   string         // challtestsrv management address
	log       *syncbuf.Buffer
}

// startPebble starts pebble on api, validating HTTP-01 on httpPort and
// TLS-ALPN-01 on tlsPort, issuing certificates valid for validity.
func startPebble(t *testing.T, api string, httpPort, tlsPort int, validity time.Duration) *acmeCA {
	t.Helper()
	pebble, challtestsrv, certs := pebbleTools(t)
	dns, dnsMgmt := "127.0.0.1:"+strconv.Itoa(freePort(t)), "127.0.0.1:"+strconv.Itoa(freePort(t))
	startProcess(t, dnsMgmt, nil, challtestsrv, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", dns, "-management", dnsMgmt, "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")

	mgmt := "127.0.0.1:" + strconv.Itoa(freePort(t))
	config := map[string]any{"pebble": map[string]any{
		"listenAddress": api, "managementListenAddress": mgmt,
		"certificate": filepath.Join(certs, "localhost", "cert.pem"), "privateKey": filepath.Join(certs, "localhost", "key.pem"),
		"httpPort": httpPort, "tlsPort": tlsPort, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"profiles": map[string]any{"default": map[string]any{"description": "test", "validityPeriod": int(validity.Seconds())}},
	}}
	configFile := filepath.Join(t.TempDir(), "pebble.json")
	data, _ := json.Marshal(config)
	if err := os.WriteFile(configFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	log := startProcess(t, api, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		pebble, "-config", configFile, "-dnsserver", dns)

	pem, err := os.ReadFile(filepath.Join(certs, "pebble.minica.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &acmeCA{directory: "https://" + api + "/dir", apiRoots: pool, mgmt: mgmt, dnsMgmt: dnsMgmt, log: log}
}

// issuerRoots trusts the certificates pebble issues (its root is made at
// start-up and served by the management API).
func (ca *acmeCA) issuerRoots(t *testing.T) *x509.CertPool {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.apiRoots}}}
	res, err := client.Get("https://" + ca.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	pem, _ := io.ReadAll(res.Body)
	pool := x509.NewCertPool()
	if res.StatusCode != 200 || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("pebble root: %d %s", res.StatusCode, pem)
	}
	return pool
}

// resolve makes the DNS server answer host with ip.
func (ca *acmeCA) resolve(t *testing.T, host, ip string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"host": host, "addresses": []string{ip}})
	res, err := http.Post("http://"+ca.dnsMgmt+"/add-a", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("add-a %s: %d", host, res.StatusCode)
	}
}

// startACMEProxy starts a kamal-proxy process whose ACME client uses a
// pebble and trusts its API, then that pebble, validating against the
// proxy's ports. deadTLS points TLS-ALPN-01 validation at a closed port, so
// HTTP-01 through the proxy has to do the job. Commands of the test go to
// this proxy.
func startACMEProxy(t *testing.T, validity time.Duration, deadTLS bool) (*proxyProcess, *acmeCA) {
	t.Helper()
	_, _, certs := pebbleTools(t)
	api := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := startProxy(t, []string{"SSL_CERT_FILE=" + filepath.Join(certs, "pebble.minica.pem")}, "--tls-acme-directory=https://"+api+"/dir")
	tlsPort := p.httpsPort
	if deadTLS {
		tlsPort = freePort(t)
	}
	ca := startPebble(t, api, p.httpPort, tlsPort, validity)
	t.Setenv("KAMAL_PROXY_SOCKET", p.sock)
	return p, ca
}

// httpsVia makes one HTTPS request for host through the proxy's HTTPS port
// and returns the status, the body and the certificate served.
func httpsVia(t *testing.T, p *proxyProcess, roots *x509.CertPool, host, path string) (int, string, *x509.Certificate, error) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(p.httpsPort)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout: time.Minute, // the first handshake waits for issuance
		DisableKeepAlives:   true,
	}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: 2 * time.Minute}).Get("https://" + host + path)
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.TLS.PeerCertificates[0], nil
}

// httpVia makes one plain HTTP request for host, not following redirects.
func httpVia(t *testing.T, p *proxyProcess, host, path string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(p.httpPort)+path, nil)
	req.Host = host
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}

// acmeApp answers "<name> <path>" and, on /allow, approves on-demand
// certificates for names starting with "ok".
func acmeApp(t *testing.T, name string) string {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/allow" {
			if !strings.HasPrefix(r.URL.Query().Get("host"), "ok") {
				http.Error(w, "not ours", http.StatusForbidden)
			}
			return
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(app.Close)
	return "--target=" + strings.TrimPrefix(app.URL, "http://")
}

func mustDeploy(t *testing.T, args ...string) {
	t.Helper()
	if code, _, stderr := run(t, append([]string{"deploy"}, append(args, "--health-check-interval=50ms")...)...); code != 0 {
		t.Fatalf("deploy %v: %s", args, stderr)
	}
}

// TestACMEWithPebble: certificates from a real ACME CA. Issuance for a
// listed host starts at deploy and validates over HTTP-01 through the proxy
// (TLS-ALPN-01 is made to fail); on-demand TLS issues for approved names
// only; a host the CA cannot validate keeps being served over plain HTTP,
// with one clear log line.
func TestACMEWithPebble(t *testing.T) {
	p, ca := startACMEProxy(t, 90*24*time.Hour, true)
	ca.resolve(t, "unreachable.test", "127.0.0.2") // the proxy listens on 127.0.0.1 only
	roots := ca.issuerRoots(t)

	t.Run("issuance over HTTP-01", func(t *testing.T) {
		mustDeploy(t, "listed", acmeApp(t, "listed"), "--host=listed.test", "--tls")
		status, body, cert, err := httpsVia(t, p, roots, "listed.test", "/x")
		if err != nil || status != 200 || body != "listed /x" {
			t.Fatalf("https: %d %q %v\n%s", status, body, err, p.logs.String())
		}
		if cert.Subject.CommonName != "listed.test" && (len(cert.DNSNames) != 1 || cert.DNSNames[0] != "listed.test") {
			t.Fatalf("certificate for %v %v", cert.Subject, cert.DNSNames)
		}
		// pebble fetched the HTTP-01 token through the proxy's HTTP port.
		p.waitForLog(t, 10*time.Second, `"msg":"Request"`, `"host":"listed.test:`, `"path":"/.well-known/acme-challenge/`, `"status":200`, `"user_agent":"LetsEncrypt-Pebble-VA`)
		matches, _ := filepath.Glob(filepath.Join(p.home, ".config", "kamal-proxy", "certs", "*", "listed.test"))
		if len(matches) != 1 {
			t.Fatalf("certificate not cached in the state directory: %v", matches)
		}
		if status, _, h := httpVia(t, p, "listed.test", "/x"); status != 301 || h.Get("Location") != "https://listed.test/x" {
			t.Fatalf("plain HTTP: %d %v", status, h)
		}
	})

	t.Run("on demand", func(t *testing.T) {
		mustDeploy(t, "ondemand", acmeApp(t, "ondemand"), "--tls", "--tls-on-demand-url=/allow")
		status, body, cert, err := httpsVia(t, p, roots, "ok-1.test", "/y")
		if err != nil || status != 200 || body != "ondemand /y" || cert.DNSNames[0] != "ok-1.test" {
			t.Fatalf("approved name: %d %q %v\n%s", status, body, err, p.logs.String())
		}
		if _, _, _, err := httpsVia(t, p, roots, "denied.test", "/y"); err == nil {
			t.Fatal("a name the check refused got a certificate")
		}
		p.waitForLog(t, 10*time.Second, `"msg":"On-demand TLS denied"`, `"host":"denied.test"`, `"status":403`)
	})

	t.Run("failed validation keeps plain HTTP", func(t *testing.T) {
		mustDeploy(t, "unreachable", acmeApp(t, "unreachable"), "--host=unreachable.test", "--tls")
		line := p.waitForLog(t, time.Minute, `"level":"ERROR"`, `"msg":"Unable to obtain a TLS certificate; serving plain HTTP until it succeeds"`,
			`"service":"unreachable"`, `"host":"unreachable.test"`, `"retry_in":"5m0s"`)
		if !strings.Contains(line, `"check":"DNS for the host must point to this server`) {
			t.Fatalf("log line lacks the hint: %s", line)
		}
		if status, body, _ := httpVia(t, p, "unreachable.test", "/z"); status != 200 || body != "unreachable /z" {
			t.Fatalf("plain HTTP after the failure: %d %q", status, body)
		}
		if _, _, _, err := httpsVia(t, p, roots, "unreachable.test", "/z"); err == nil {
			t.Fatal("HTTPS worked without a certificate")
		}
		if n := strings.Count(p.logs.String(), `"msg":"Unable to obtain a TLS certificate; serving plain HTTP until it succeeds","service":"unreachable"`); n != 1 {
			t.Fatalf("the failure was logged %d times", n)
		}
	})
}

// TestACMERenewal: with certificates valid for 15 s, the proxy renews on its
// own (autocert renews once two thirds of the lifetime are gone) and serves
// the new certificate without a deploy.
func TestACMERenewal(t *testing.T) {
	p, ca := startACMEProxy(t, 15*time.Second, false)
	roots := ca.issuerRoots(t)
	mustDeploy(t, "renew", acmeApp(t, "renew"), "--host=renew.test", "--tls")
	_, _, first, err := httpsVia(t, p, roots, "renew.test", "/")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		status, _, cert, err := httpsVia(t, p, roots, "renew.test", "/")
		if err == nil && status == 200 && cert.SerialNumber.Cmp(first.SerialNumber) != 0 {
			if !cert.NotAfter.After(first.NotAfter) {
				t.Fatalf("renewed certificate ends %s, the first %s", cert.NotAfter, first.NotAfter)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no renewal within a minute (last: %d %v)\n%s", status, err, p.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
