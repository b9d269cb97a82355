package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned returns a certificate and key (PEM) for name.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), cert
}

// TestCustomCertificate: a certificate and key from secrets are uploaded
// next to the proxy config and kamal-proxy serves HTTPS with them.
func TestCustomCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	const name = "tls.example.test"
	certPEM, keyPEM, cert := selfSigned(t, name)
	pemDir := t.TempDir()
	for file, data := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(pemDir, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := newAppProject(t, appSpec{
		Service:    "tlsapp",
		Web:        hostIPs(0),
		Host:       name,
		ProxyExtra: "  ssl:\n    certificate_pem: CERT_PEM\n    private_key_pem: KEY_PEM\n",
		Secrets: "CERT_PEM=$(cat " + filepath.Join(pemDir, "cert.pem") + ")\n" +
			"KEY_PEM=$(cat " + filepath.Join(pemDir, "key.pem") + ")\n",
	})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")

	h := env.Hosts[0]
	uploaded, err := os.ReadFile(filepath.Join(h.Home, ".kamal/proxy/apps-config/tlsapp/tls/web/cert.pem"))
	if err != nil || strings.TrimSpace(string(uploaded)) != strings.TrimSpace(string(certPEM)) {
		t.Fatalf("uploaded certificate: %v\n%s", err, uploaded)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: name},
	}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+h.IP+"/", nil)
	req.Host = name
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS through the proxy: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "version=v1 ") {
		t.Errorf("HTTPS GET / = %d %q", resp.StatusCode, body)
	}
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("served certificate serial %v, want ours %v", got, cert.SerialNumber)
	}
}
