package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// testCA is a minimal RFC 8555 server for tests: enough of the protocol for
// autocert to register, order, answer one challenge type and fetch a
// certificate. It validates challenges for real, against the proxy's
// loopback listeners, so a broken HTTP-01 or TLS-ALPN-01 path fails the test.
// JWS signatures are not verified; the account key is only needed for the
// key authorization.
type testCA struct {
	t         *testing.T
	srv       *httptest.Server
	challenge string // the only challenge type offered
	httpAddr  string // where HTTP-01 is validated
	httpsAddr string // where TLS-ALPN-01 is validated

	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate

	mu         sync.Mutex
	nonce      int
	thumbprint string
	orders     []*caOrder
	validated  []string // challenge types that passed
}

type caOrder struct {
	host, token string
	authzValid  bool
	certPEM     []byte
}

func newTestCA(t *testing.T, challenge, httpAddr, httpsAddr string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ACME CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{t: t, challenge: challenge, httpAddr: httpAddr, httpsAddr: httpsAddr, caKey: key}
	ca.caCert, _ = x509.ParseCertificate(der)
	ca.srv = httptest.NewServer(http.HandlerFunc(ca.serve))
	t.Cleanup(ca.srv.Close)
	return ca
}

func (ca *testCA) directoryURL() string { return ca.srv.URL + "/dir" }

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.caCert)
	return p
}

func (ca *testCA) passed() []string {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return append([]string(nil), ca.validated...)
}

func (ca *testCA) fail(w http.ResponseWriter, status int, format string, args ...any) {
	ca.t.Logf("test CA: "+format, args...)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"type": "urn:ietf:params:acme:error:malformed", "detail": fmt.Sprintf(format, args...)})
}

func (ca *testCA) reply(w http.ResponseWriter, status int, location string, v any) {
	if location != "" {
		w.Header().Set("Location", location)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (ca *testCA) serve(w http.ResponseWriter, r *http.Request) {
	ca.mu.Lock()
	ca.nonce++
	w.Header().Set("Replay-Nonce", "n"+strconv.Itoa(ca.nonce))
	ca.mu.Unlock()
	base := ca.srv.URL
	path := r.URL.Path
	if path == "/dir" {
		ca.reply(w, 200, "", map[string]string{
			"newNonce": base + "/nonce", "newAccount": base + "/account", "newOrder": base + "/order",
			"revokeCert": base + "/revoke", "keyChange": base + "/key-change",
		})
		return
	}
	if path == "/nonce" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		ca.fail(w, 405, "%s %s", r.Method, path)
		return
	}
	var jws struct{ Protected, Payload string }
	if err := json.NewDecoder(r.Body).Decode(&jws); err != nil {
		ca.fail(w, 400, "jws: %v", err)
		return
	}
	payload, _ := base64.RawURLEncoding.DecodeString(jws.Payload)

	ca.mu.Lock()
	defer ca.mu.Unlock()
	id := func(prefix string) (*caOrder, int) {
		n, err := strconv.Atoi(strings.TrimPrefix(path, prefix))
		if err != nil || n < 0 || n >= len(ca.orders) {
			return nil, -1
		}
		return ca.orders[n], n
	}
	switch {
	case path == "/account":
		prot, _ := base64.RawURLEncoding.DecodeString(jws.Protected)
		var hdr struct {
			JWK struct{ Crv, Kty, X, Y string } `json:"jwk"`
		}
		json.Unmarshal(prot, &hdr)
		x, _ := base64.RawURLEncoding.DecodeString(hdr.JWK.X)
		y, _ := base64.RawURLEncoding.DecodeString(hdr.JWK.Y)
		if hdr.JWK.Kty != "EC" || hdr.JWK.Crv != "P-256" {
			ca.fail(w, 400, "unsupported account key %+v", hdr.JWK)
			return
		}
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			ca.fail(w, 400, "account key: %v", err)
			return
		}
		tp, err := acme.JWKThumbprint(key)
		if err != nil {
			ca.fail(w, 400, "thumbprint: %v", err)
			return
		}
		ca.thumbprint = tp
		ca.reply(w, http.StatusCreated, base+"/account/1", map[string]any{"status": "valid"})
	case path == "/order":
		var req struct {
			Identifiers []struct{ Type, Value string }
		}
		json.Unmarshal(payload, &req)
		if len(req.Identifiers) != 1 || req.Identifiers[0].Type != "dns" {
			ca.fail(w, 400, "identifiers %+v", req.Identifiers)
			return
		}
		ca.orders = append(ca.orders, &caOrder{host: req.Identifiers[0].Value, token: fmt.Sprintf("token-%d", len(ca.orders))})
		n := len(ca.orders) - 1
		ca.reply(w, http.StatusCreated, fmt.Sprintf("%s/order/%d", base, n), ca.orderJSON(n))
	case strings.HasPrefix(path, "/order/"):
		if _, n := id("/order/"); n >= 0 {
			ca.reply(w, 200, fmt.Sprintf("%s/order/%d", base, n), ca.orderJSON(n))
			return
		}
		ca.fail(w, 404, "no order %s", path)
	case strings.HasPrefix(path, "/authz/"):
		if o, n := id("/authz/"); o != nil {
			ca.reply(w, 200, "", ca.authzJSON(o, n))
			return
		}
		ca.fail(w, 404, "no authz %s", path)
	case strings.HasPrefix(path, "/challenge/"):
		o, n := id("/challenge/")
		if o == nil {
			ca.fail(w, 404, "no challenge %s", path)
			return
		}
		keyAuth := o.token + "." + ca.thumbprint
		// Validate outside the lock: the proxy's answer may take a moment.
		ca.mu.Unlock()
		err := ca.validate(o.host, o.token, keyAuth)
		ca.mu.Lock()
		if err != nil {
			ca.t.Logf("test CA: %s validation of %s failed: %v", ca.challenge, o.host, err)
		} else {
			o.authzValid = true
			ca.validated = append(ca.validated, ca.challenge)
		}
		ca.reply(w, 200, "", ca.challengeJSON(o, n))
	case strings.HasPrefix(path, "/finalize/"):
		o, n := id("/finalize/")
		if o == nil || !o.authzValid {
			ca.fail(w, 403, "order %s not authorized", path)
			return
		}
		var req struct{ CSR string }
		json.Unmarshal(payload, &req)
		der, _ := base64.RawURLEncoding.DecodeString(req.CSR)
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil || csr.CheckSignature() != nil {
			ca.fail(w, 400, "csr: %v", err)
			return
		}
		leaf := &x509.Certificate{
			SerialNumber: big.NewInt(int64(n) + 100), Subject: pkix.Name{CommonName: o.host}, DNSNames: csr.DNSNames,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca.caCert, csr.PublicKey, ca.caKey)
		if err != nil {
			ca.fail(w, 500, "issue: %v", err)
			return
		}
		o.certPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.caCert.Raw})...)
		ca.reply(w, 200, fmt.Sprintf("%s/order/%d", base, n), ca.orderJSON(n))
	case strings.HasPrefix(path, "/cert/"):
		if o, _ := id("/cert/"); o != nil && o.certPEM != nil {
			w.Header().Set("Content-Type", "application/pem-certificate-chain")
			w.Write(o.certPEM)
			return
		}
		ca.fail(w, 404, "no certificate %s", path)
	default:
		ca.fail(w, 404, "unknown %s", path)
	}
}

func (ca *testCA) orderJSON(n int) map[string]any {
	o, base := ca.orders[n], ca.srv.URL
	v := map[string]any{
		"status":         "pending",
		"identifiers":    []map[string]string{{"type": "dns", "value": o.host}},
		"authorizations": []string{fmt.Sprintf("%s/authz/%d", base, n)},
		"finalize":       fmt.Sprintf("%s/finalize/%d", base, n),
	}
	switch {
	case o.certPEM != nil:
		v["status"], v["certificate"] = "valid", fmt.Sprintf("%s/cert/%d", base, n)
	case o.authzValid:
		v["status"] = "ready"
	}
	return v
}

func (ca *testCA) challengeJSON(o *caOrder, n int) map[string]any {
	status := "pending"
	if o.authzValid {
		status = "valid"
	}
	return map[string]any{"type": ca.challenge, "url": fmt.Sprintf("%s/challenge/%d", ca.srv.URL, n), "token": o.token, "status": status}
}

func (ca *testCA) authzJSON(o *caOrder, n int) map[string]any {
	status := "pending"
	if o.authzValid {
		status = "valid"
	}
	return map[string]any{
		"status":     status,
		"identifier": map[string]string{"type": "dns", "value": o.host},
		"challenges": []map[string]any{ca.challengeJSON(o, n)},
	}
}

// idPeACMEIdentifier is the certificate extension of a TLS-ALPN-01 answer (RFC 8737).
var idPeACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

func (ca *testCA) validate(host, token, keyAuth string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch ca.challenge {
	case "http-01":
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ca.httpAddr+"/.well-known/acme-challenge/"+token, nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || strings.TrimSpace(string(body)) != keyAuth {
			return fmt.Errorf("got %d %q", res.StatusCode, body)
		}
		return nil
	case "tls-alpn-01":
		d := tls.Dialer{Config: &tls.Config{ServerName: host, NextProtos: []string{"acme-tls/1"}, InsecureSkipVerify: true}}
		c, err := d.DialContext(ctx, "tcp", ca.httpsAddr)
		if err != nil {
			return err
		}
		defer c.Close()
		cs := c.(*tls.Conn).ConnectionState()
		if cs.NegotiatedProtocol != "acme-tls/1" {
			return fmt.Errorf("negotiated %q", cs.NegotiatedProtocol)
		}
		want := sha256.Sum256([]byte(keyAuth))
		for _, ext := range cs.PeerCertificates[0].Extensions {
			if ext.Id.Equal(idPeACMEIdentifier) {
				var got []byte
				if _, err := asn1.Unmarshal(ext.Value, &got); err != nil || !bytes.Equal(got, want[:]) {
					return fmt.Errorf("wrong acmeIdentifier: %v", err)
				}
				return nil
			}
		}
		return fmt.Errorf("no acmeIdentifier extension")
	}
	return fmt.Errorf("unknown challenge %q", ca.challenge)
}

// httpsGetVia sends GET https://host/path to addr, trusting pool.
func httpsGetVia(t *testing.T, addr, host, path string, pool *x509.CertPool) (int, string) {
	t.Helper()
	status, body, _ := httpsGetWithHeader(t, addr, host, path, pool)
	return status, body
}

// httpsGetWithHeader is httpsGetVia that returns the response header too.
func httpsGetWithHeader(t *testing.T, addr, host, path string, pool *x509.CertPool) (int, string, http.Header) {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	res, err := client.Get("https://" + host + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}
