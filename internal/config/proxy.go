package config

import (
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The proxy section (root, role or accessory): how kamal-proxy routes to
// the app, and (run:) how kamal-proxy itself is started.

// Proxy defaults.
const (
	DefaultAppPort = 80
	// DefaultProxyVersion is the kamal-proxy image version Kamal requires at least.
	DefaultProxyVersion    = "v0.9.2"
	defaultProxyRepository = "basecamp/kamal-proxy"
)

// DefaultProxyLogRequestHeaders are the request headers kamal-proxy logs
// when proxy.logging.request_headers is not set.
var DefaultProxyLogRequestHeaders = []string{"Cache-Control", "Last-Modified", "User-Agent"}

// Proxy is a proxy section (root, role or accessory), after merging.
type Proxy struct {
	Hosts           []string // host or hosts
	AppPort         int      // default 80
	SSL             bool
	SSLCertificate  string // secret name of a custom certificate PEM
	SSLPrivateKey   string // secret name of the custom key PEM
	SSLRedirect     *bool
	ForwardHeaders  *bool
	ResponseTimeout *int
	PathPrefixes    []string // path_prefix or path_prefixes
	StripPathPrefix *bool
	Healthcheck     *ProxyHealthcheck
	Buffering       ProxyBuffering
	Logging         ProxyLogging
	Run             *ProxyRun
	Raw             map[string]any // the merged raw section
}

// CustomSSL reports whether custom certificates are configured.
func (p *Proxy) CustomSSL() bool { return p.SSLCertificate != "" }

// ProxyHealthcheck holds proxy.healthcheck (nil fields are unset).
type ProxyHealthcheck struct {
	Interval *int
	Timeout  *int
	Path     string
}

// ProxyBuffering holds proxy.buffering (nil fields are unset; requests and
// responses default to true).
type ProxyBuffering struct {
	Requests        *bool
	Responses       *bool
	MaxRequestBody  *int
	MaxResponseBody *int
	Memory          *int
}

// ProxyLogging holds proxy.logging; RequestHeaders is nil when unset
// (DefaultProxyLogRequestHeaders then apply).
type ProxyLogging struct {
	RequestHeaders  []string
	ResponseHeaders []string
}

// ProxyRun holds proxy.run: how kamal-proxy itself is started.
type ProxyRun struct {
	HTTPPort     int  // default 80
	HTTPSPort    int  // default 443
	MetricsPort  *int // nil: no metrics
	Debug        bool
	LogMaxSize   string // default 10m
	Publish      bool   // default true
	BindIPs      []string
	Registry     string
	Repository   string // default basecamp/kamal-proxy
	Version      string // default: the minimum supported kamal-proxy version
	Options      map[string]any
	OptionsOrder []string
	Raw          map[string]any
}

var proxySchema = []field{
	f("host", tString),
	f("hosts", tStringArray),
	f("app_port", tInt),
	f("ssl", tSSL),
	f("ssl_redirect", tBool),
	f("forward_headers", tBool),
	f("response_timeout", tInt),
	f("path_prefix", tString),
	f("path_prefixes", tStringArray),
	f("strip_path_prefix", tBool),
	h("healthcheck", f("interval", tInt), f("path", tString), f("timeout", tInt)),
	h("buffering", f("requests", tBool), f("responses", tBool), f("max_request_body", tInt), f("max_response_body", tInt), f("memory", tInt)),
	h("logging", f("request_headers", tStringArray), f("response_headers", tStringArray)),
	h("run",
		f("http_port", tInt), f("https_port", tInt), f("metrics_port", tInt), f("debug", tBool),
		f("log_max_size", tString), f("publish", tBool), f("bind_ips", tStringArray),
		f("registry", tString), f("repository", tString), f("version", tString), f("options", tAnyHash)),
}

var sslSchema = []field{
	f("certificate_pem", tString),
	f("private_key_pem", tString),
}

// ProxyRoles returns the roles that run behind kamal-proxy.
func (c *Config) ProxyRoles() []*Role {
	var roles []*Role
	for _, r := range c.Servers {
		if r.Proxy != nil {
			roles = append(roles, r)
		}
	}
	return roles
}

// ProxyAccessories returns the accessories that run behind kamal-proxy.
func (c *Config) ProxyAccessories() []*Accessory {
	var as []*Accessory
	for _, a := range c.Accessories {
		if a.Proxy != nil {
			as = append(as, a)
		}
	}
	return as
}

// ProxyHosts returns the hosts of proxy roles and proxied accessories, unique.
func (c *Config) ProxyHosts() []string {
	var hosts []string
	for _, r := range c.ProxyRoles() {
		hosts = appendUnique(hosts, r.Hosts...)
	}
	for _, a := range c.ProxyAccessories() {
		hosts = appendUnique(hosts, a.Hosts...)
	}
	return hosts
}

// ProxyRunForHost returns the proxy `run:` settings that apply to host (from
// any proxy role or proxied accessory on it), or nil when none sets `run:`
// (the legacy boot_config files are then used).
func (c *Config) ProxyRunForHost(host string) *ProxyRun {
	for _, r := range c.RolesOnHost(host) {
		if r.Proxy != nil && r.Proxy.Run != nil {
			return r.Proxy.Run
		}
	}
	for _, a := range c.ProxyAccessories() {
		if slices.Contains(a.Hosts, host) && a.Proxy.Run != nil {
			return a.Proxy.Run
		}
	}
	return nil
}

// proxyRuns lists every `run:` setting that applies to host (they must agree).
func (c *Config) proxyRuns(host string) []*ProxyRun {
	var runs []*ProxyRun
	for _, r := range c.RolesOnHost(host) {
		if r.Proxy != nil && r.Proxy.Run != nil {
			runs = append(runs, r.Proxy.Run)
		}
	}
	for _, a := range c.AccessoriesOnHost(host) {
		if a.Proxy != nil && a.Proxy.Run != nil {
			runs = append(runs, a.Proxy.Run)
		}
	}
	return runs
}

func (v *validator) validateRootProxy(n *rubyyaml.Node) {
	if n == nil {
		return
	}
	v.withContext("proxy", func() {
		if n.Kind == rubyyaml.Bool {
			v.validateType(n, "hash")
		}
		v.validateProxy(n)
	})
}

// validateProxy checks a proxy section (root, role or accessory).
func (v *validator) validateProxy(n *rubyyaml.Node) {
	if n.IsNull() {
		return
	}
	v.validateAgainst(n, proxySchema, false)
	ssl := n.Get("ssl")
	if ssl != nil && ssl.Kind == rubyyaml.Map {
		v.with("ssl", func() {
			v.validateAgainst(ssl, sslSchema, false)
			if ssl.Get("certificate_pem").Present() && !ssl.Get("private_key_pem").Present() {
				v.fail(ssl, "Missing private_key_pem setting (required when certificate_pem is present)")
			}
			if ssl.Get("private_key_pem").Present() && !ssl.Get("certificate_pem").Present() {
				v.fail(ssl, "Missing certificate_pem setting (required when private_key_pem is present)")
			}
		})
	}
	if !n.Get("host").Present() && !n.Get("hosts").Present() && ssl.Present() {
		v.fail(ssl, "Must set a host to enable automatic SSL")
	}
	if n.Has("host") && n.Has("hosts") {
		v.fail(n.KeyNodes["hosts"], "Specify one of 'host' or 'hosts', not both")
	}
	if n.Has("path_prefix") && n.Has("path_prefixes") {
		v.fail(n.KeyNodes["path_prefixes"], "Specify one of 'path_prefix' or 'path_prefixes', not both")
	}
	if run := n.Get("run"); run != nil && run.Kind == rubyyaml.Map {
		if p := run.Get("publish"); p != nil && p.Kind == rubyyaml.Bool && !p.Bool {
			if run.Has("http_port") || run.Has("https_port") || run.Has("bind_ips") {
				v.with("run", func() { v.fail(run, "Cannot set http_port, https_port or bind_ips when publish is false") })
			}
		}
	}
}

func buildProxy(n *rubyyaml.Node) *Proxy {
	p := &Proxy{AppPort: intOr(n.Get("app_port"), DefaultAppPort), Raw: rawMap(n)}
	if hs := n.Get("hosts"); hs.Present() {
		for _, item := range hs.Items {
			if item.Kind == rubyyaml.Map && len(item.Keys) > 0 {
				p.Hosts = append(p.Hosts, item.Keys[0])
			} else {
				p.Hosts = append(p.Hosts, item.Text())
			}
		}
	} else if h := n.Get("host"); h.Present() {
		p.Hosts = strings.Split(h.Text(), ",")
	}
	if ssl := n.Get("ssl"); ssl != nil {
		switch ssl.Kind {
		case rubyyaml.Bool:
			p.SSL = ssl.Bool
		case rubyyaml.Map:
			p.SSL = true
			p.SSLCertificate = ssl.Get("certificate_pem").Text()
			p.SSLPrivateKey = ssl.Get("private_key_pem").Text()
		}
	}
	p.SSLRedirect = boolPtr(n.Get("ssl_redirect"))
	p.ForwardHeaders = boolPtr(n.Get("forward_headers"))
	p.ResponseTimeout = intPtr(n.Get("response_timeout"))
	if pp := n.Get("path_prefixes"); pp.Present() {
		p.PathPrefixes = stringList(pp)
	} else if pp := n.Get("path_prefix"); pp.Present() {
		p.PathPrefixes = strings.Split(pp.Text(), ",")
	}
	p.StripPathPrefix = boolPtr(n.Get("strip_path_prefix"))
	if hc := n.Get("healthcheck"); hc != nil && hc.Kind == rubyyaml.Map {
		p.Healthcheck = &ProxyHealthcheck{Interval: intPtr(hc.Get("interval")), Timeout: intPtr(hc.Get("timeout")), Path: hc.Get("path").Text()}
	}
	if b := n.Get("buffering"); b != nil && b.Kind == rubyyaml.Map {
		p.Buffering = ProxyBuffering{
			Requests: boolPtr(b.Get("requests")), Responses: boolPtr(b.Get("responses")),
			MaxRequestBody: intPtr(b.Get("max_request_body")), MaxResponseBody: intPtr(b.Get("max_response_body")),
			Memory: intPtr(b.Get("memory")),
		}
	}
	if l := n.Get("logging"); l != nil && l.Kind == rubyyaml.Map {
		if l.Has("request_headers") && !l.Get("request_headers").IsNull() {
			p.Logging.RequestHeaders = stringList(l.Get("request_headers"))
			if p.Logging.RequestHeaders == nil {
				p.Logging.RequestHeaders = []string{}
			}
		}
		p.Logging.ResponseHeaders = stringList(l.Get("response_headers"))
	}
	if run := n.Get("run"); run != nil && run.Kind == rubyyaml.Map {
		p.Run = buildProxyRun(run)
	}
	return p
}

func buildProxyRun(run *rubyyaml.Node) *ProxyRun {
	r := &ProxyRun{
		HTTPPort:    intOr(run.Get("http_port"), 80),
		HTTPSPort:   intOr(run.Get("https_port"), 443),
		MetricsPort: intPtr(run.Get("metrics_port")),
		Debug:       boolOf(run.Get("debug")),
		LogMaxSize:  strOr(run.Get("log_max_size"), DefaultLogMaxSize),
		Publish:     true,
		BindIPs:     stringList(run.Get("bind_ips")),
		Registry:    run.Get("registry").Text(),
		Repository:  strOr(run.Get("repository"), defaultProxyRepository),
		Version:     strOr(run.Get("version"), DefaultProxyVersion),
		Raw:         rawMap(run),
	}
	if pb := run.Get("publish"); pb != nil && pb.Kind == rubyyaml.Bool {
		r.Publish = pb.Bool
	}
	r.Options, r.OptionsOrder = anyMap(run.Get("options"))
	return r
}
