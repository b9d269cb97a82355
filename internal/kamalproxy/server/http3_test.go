package server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// TestHTTP3 serves HTTP/3 next to HTTP/1.1 and HTTP/2 when enabled: HTTPS
// responses announce it with Alt-Svc, and a quic-go client reaches the
// target its host routes to, with the service's certificate.
func TestHTTP3(t *testing.T) {
	srv, stop := startLoggedServer(t, Config{HTTP3: true})
	cp, kp, pool := writeCert(t, "a.test", "b.test")
	for _, name := range []string{"a", "b"} {
		so := hostOpts(name + ".test")
		so.TLSEnabled, so.TLSCertificatePath, so.TLSPrivateKeyPath = true, cp, kp
		if err := srv.Router.Deploy(name, []string{newTestApp(t, name).addr()}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
			t.Fatal(err)
		}
	}
	_, port, _ := net.SplitHostPort(srv.HTTPSAddr())

	// HTTPS over TCP announces HTTP/3 on the same port.
	status, _, h := httpsGetWithHeader(t, srv.HTTPSAddr(), "a.test", "/", pool)
	if want := `h3=":` + port + `"; ma=2592000`; status != 200 || h.Get("Alt-Svc") != want {
		t.Fatalf("HTTPS: %d Alt-Svc %q, want %q", status, h.Get("Alt-Svc"), want)
	}

	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, "127.0.0.1:"+port, tlsCfg, cfg)
		},
	}
	defer tr.Close()
	client := &http.Client{Transport: tr}
	for _, name := range []string{"a", "b"} {
		res, err := client.Get("https://" + name + ".test:" + port + "/path?q=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != name+" /path?q=1" || res.ProtoMajor != 3 {
			t.Fatalf("HTTP/3 %s.test: %d %q %s", name, res.StatusCode, body, res.Proto)
		}
	}
	logs := stop()
	if !strings.Contains(logs, `"host":"b.test:`+port+`","port":`+port+`,"path":"/path"`) || !strings.Contains(logs, `"proto":"HTTP/3.0"`) {
		t.Fatalf("access log:\n%s", logs)
	}
	if strings.Contains(logs, "Listener failed") || !strings.Contains(logs, `"msg":"Server stopped"`) {
		t.Fatalf("stop:\n%s", logs)
	}
}

// TestNoHTTP3UnlessEnabled: no Alt-Svc and nothing on UDP without HTTP3.
func TestNoHTTP3UnlessEnabled(t *testing.T) {
	srv := startServer(t)
	cp, kp, pool := writeCert(t, "a.test")
	so := hostOpts("a.test")
	so.TLSEnabled, so.TLSCertificatePath, so.TLSPrivateKeyPath = true, cp, kp
	if err := srv.Router.Deploy("a", []string{newTestApp(t, "a").addr()}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	status, _, h := httpsGetWithHeader(t, srv.HTTPSAddr(), "a.test", "/", pool)
	if quic := srv.socks[socketHTTP3]; status != 200 || h.Get("Alt-Svc") != "" || quic != nil {
		t.Fatalf("%d Alt-Svc %q quic %v", status, h.Get("Alt-Svc"), quic)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(srv.port(socketHTTPS)))
	if err != nil {
		t.Fatalf("the UDP port is taken: %v", err)
	}
	udp.Close()
}
