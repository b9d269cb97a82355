package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	p := newTestProxy(t)
	exact := newTestApp(t, "exact")
	wild := newTestApp(t, "wild")
	catch := newTestApp(t, "catch")
	api := newTestApp(t, "api")
	apiv2 := newTestApp(t, "apiv2")

	p.deploy(t, "exact", hostOpts("one.example.com"), exact)
	p.deploy(t, "wild", hostOpts("*.example.com"), wild)
	p.deploy(t, "catch", hostOpts(), catch)
	apiOpts := hostOpts("two.example.com")
	apiOpts.PathPrefixes = []string{"/api"}
	p.deploy(t, "api", apiOpts, api)
	v2 := hostOpts("two.example.com")
	v2.PathPrefixes = []string{"api/v2/"}
	v2.StripPrefix = false
	p.deploy(t, "apiv2", v2, apiv2)

	tests := []struct {
		host, path string
		status     int
		body       string
	}{
		{"one.example.com", "/x?q=1", 200, "exact /x?q=1"},
		{"ONE.Example.COM.", "/x", 200, "exact /x?"},   // case-insensitive, trailing dot
		{"one.example.com:8080", "/", 200, "exact /?"}, // port ignored
		{"three.example.com", "/", 200, "wild /?"},     // one-level wildcard
		{"a.b.example.com", "/", 200, "catch /?"},      // wildcard is one level only
		{"other.test", "/z", 200, "catch /z?"},         // catch-all
		{"two.example.com", "/api", 200, "api /?"},     // prefix stripped to /
		{"two.example.com", "/api/users?p=a;b", 200, "api /users?p=a;b"},
		{"two.example.com", "/apiary", 404, ""},                   // segment aligned, no fallback
		{"two.example.com", "/other", 404, ""},                    // host matched, no prefix: 404
		{"two.example.com", "/api/v2/x", 200, "apiv2 /api/v2/x?"}, // longest prefix, not stripped
	}
	for _, tc := range tests {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			status, body, _ := p.get(t, tc.host, tc.path)
			if status != tc.status {
				t.Fatalf("status = %d, want %d (body %q)", status, tc.status, body)
			}
			if tc.body != "" && body != tc.body {
				t.Fatalf("body = %q, want %q", body, tc.body)
			}
		})
	}
}

func TestRoutingNoServices404(t *testing.T) {
	p := newTestProxy(t)
	status, body, h := p.get(t, "x", "/")
	if status != http.StatusNotFound || !strings.Contains(body, "404") || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("got %d %q %v", status, body, h)
	}
}

func TestHostConflicts(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	p.deploy(t, "a", hostOpts("Example.com"), a)

	tests := []struct {
		name string
		so   ServiceOptions
		err  error
	}{
		{"same host other service", hostOpts("example.com"), ErrHostSettingsConflict},
		{"different host", hostOpts("other.com"), nil},
		{"wildcard never conflicts with explicit", hostOpts("*.com"), nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.router.Deploy("svc"+string(rune('b'+i)), []string{a.addr()}, nil, fastDeploy(), tc.so, fastTargetOptions())
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	// Two catch-alls conflict.
	if err := p.router.Deploy("c1", []string{a.addr()}, nil, fastDeploy(), hostOpts(), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if err := p.router.Deploy("c2", []string{a.addr()}, nil, fastDeploy(), hostOpts(), fastTargetOptions()); !errors.Is(err, ErrHostSettingsConflict) {
		t.Fatalf("err = %v", err)
	}
	// Redeploying the same name may change hosts freely.
	if err := p.router.Deploy("a", []string{a.addr()}, nil, fastDeploy(), hostOpts("new.example.com"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := p.get(t, "example.com", "/"); status != 200 {
		// example.com is now served by the catch-all c1.
		t.Fatalf("status %d", status)
	}
}

func TestRemove(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	p.deploy(t, "a", hostOpts("example.com"), a)
	if err := p.router.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := p.get(t, "example.com", "/"); status != 404 {
		t.Fatalf("status %d", status)
	}
	if err := p.router.Remove("a"); !errors.Is(err, ErrServiceNotFound) || err.Error() != "service not found" {
		t.Fatalf("err = %v", err)
	}
}

func TestValidationMessages(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*ServiceOptions)
		want string
	}{
		{"tls needs host", func(o *ServiceOptions) { o.TLSEnabled = true }, "service options invalid: host must be set when using TLS"},
		{"tls on root", func(o *ServiceOptions) {
			o.TLSEnabled, o.Hosts, o.PathPrefixes = true, []string{"a.com"}, []string{"/app"}
		}, "service options invalid: TLS settings must be specified on the root path service"},
		{"canonical host", func(o *ServiceOptions) { o.Hosts, o.CanonicalHost = []string{"a.com"}, "b.com" },
			"service options invalid: canonical-host 'b.com' must be present in the hosts list: [a.com]"},
		{"bad wildcard", func(o *ServiceOptions) { o.Hosts = []string{"a.*.com"} }, "service options invalid: a.*.com :invalid host pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			so := DefaultServiceOptions()
			tc.mod(&so)
			so.Normalize()
			err := so.Validate()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	to := DefaultTargetOptions()
	to.MaxRequestBodySize = -1
	if err := to.Validate(); err == nil {
		t.Fatal("negative body limit accepted")
	}
	for _, bad := range []string{"http://x:80", "[::1]:80", "", "a b"} {
		if err := ValidateTarget(bad); err == nil {
			t.Errorf("target %q accepted", bad)
		}
	}
	for _, good := range []string{"web-1:3000", "127.0.0.1:80", "app_web.local"} {
		if err := ValidateTarget(good); err != nil {
			t.Errorf("target %q: %v", good, err)
		}
	}
}

func TestNormalizePathPrefix(t *testing.T) {
	for in, want := range map[string]string{"": "/", "/": "/", "app": "/app", "/app/": "/app", "a/b/": "/a/b"} {
		if got := NormalizePathPrefix(in); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

func BenchmarkRouteLookup(b *testing.B) {
	r := NewRouter(discardLogger(), "", 443)
	t := &routeTable{hosts: map[string][]binding{}}
	svc := &Service{name: "x"}
	t.hosts["example.com"] = []binding{{"/api", svc}, {"/", svc}}
	t.hosts["*.example.com"] = []binding{{"/", svc}}
	t.hosts[""] = []binding{{"/", svc}}
	r.table.Store(t)
	for _, host := range []string{"example.com", "a.example.com", "other.org"} {
		b.Run(host, func(b *testing.B) {
			for b.Loop() {
				r.table.Load().lookup(canonicalRequestHost(host+":80"), "/api/users")
			}
		})
	}
}

func TestCanonicalHostRedirectKeepsPort(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	so := hostOpts("example.com", "www.example.com")
	so.CanonicalHost = "example.com"
	p.deploy(t, "app", so, a)
	status, _, h := p.get(t, "www.example.com:8080", "/a/b?c=d")
	if status != 301 || h.Get("Location") != "http://example.com:8080/a/b?c=d" {
		t.Fatalf("%d %v", status, h)
	}
	if status, _, _ := p.get(t, "example.com", "/"); status != 200 {
		t.Fatalf("canonical host: %d", status)
	}
}

func TestStripPrefixAndScopedCookies(t *testing.T) {
	up := newTestApp(t, "a")
	up.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1", Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "t", Value: "2", Domain: "elsewhere.com"})
		fmt.Fprint(w, r.URL.Path)
	})
	p := newTestProxy(t)
	so := hostOpts()
	so.PathPrefixes = []string{"/app"}
	to := fastTargetOptions()
	to.ScopeCookiePaths = true
	if err := p.router.Deploy("app", []string{up.addr()}, nil, fastDeploy(), so, to); err != nil {
		t.Fatal(err)
	}
	status, body, h := p.get(t, "x", "/app/show")
	if status != 200 || body != "/show" {
		t.Fatalf("%d %q", status, body)
	}
	cookies := strings.Join(h.Values("Set-Cookie"), " | ")
	if !strings.Contains(cookies, "s=1; Path=/app") || !strings.Contains(cookies, "t=2; Domain=elsewhere.com") {
		t.Fatalf("cookies: %s", cookies)
	}
}

// TestStripPrefixPathCases sends request targets byte for byte and checks
// the request target the app receives: always rooted, dot segments
// resolved, escapes kept where they still encode the stripped path.
func TestStripPrefixPathCases(t *testing.T) {
	up := newTestApp(t, "raw")
	up.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RequestURI)
	})
	p := newTestProxy(t)
	so := hostOpts()
	so.PathPrefixes = []string{"/raw"}
	p.deploy(t, "raw", so, up)
	for target, want := range map[string]string{
		"/raw":                  "/",
		"/raw/":                 "/",
		"/raw/x":                "/x",
		"/raw%2Fx":              "/x",
		"/raw/a%2Fb":            "/a%2Fb",
		"/raw/../api":           "/api",
		"/raw/%2e%2e/api":       "/api",
		"/raw/./x/../y/?q=a;b%": "/y/?q=a;b%",
		"/raw/x/..":             "/",
		"/raw/x/.":              "/x/",
		"/raw//x":               "//x",
		"/raw/x..y/...":         "/x..y/...",
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(p.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		conn.Close()
		if res.StatusCode != 200 || string(body) != want {
			t.Errorf("%s reached the app as %q (%d), want %q", target, body, res.StatusCode, want)
		}
	}
}
