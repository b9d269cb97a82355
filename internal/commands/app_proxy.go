package commands

import (
	"path"
	"strconv"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// proxyExec is `docker exec kamal-proxy kamal-proxy <args…>`.
func proxyExec(args ...string) Cmd {
	return append(New("docker", "exec", ProxyContainer, "kamal-proxy"), args...)
}

// option renders `--key="value"` (Kamal's optionize with "=").
func option(key, value string) string { return "--" + key + "=" + shell.Escape(value) }

func boolOption(c Cmd, key string, v *bool) Cmd {
	switch {
	case v == nil:
		return c
	case *v:
		return append(c, "--"+key)
	}
	return append(c, option(key, "false"))
}

func intOption(c Cmd, key string, v *int, suffix string) Cmd {
	if v == nil {
		return c
	}
	return append(c, option(key, strconv.Itoa(*v)+suffix))
}

// DeployTarget says where kamal-proxy should send traffic, and the extras
// that depend on the deploy rather than the proxy section.
type DeployTarget struct {
	ContainerID    string // from `docker container ls … --quiet`
	TLSCertPath    string // container path of a custom certificate ("" none)
	TLSKeyPath     string
	ErrorPagesPath string // container path of this version's error pages ("" none)
	DeployTimeout  int
	DrainTimeout   int
}

// ProxyDeployArgs are the `kamal-proxy deploy` options of a proxy section,
// in Kamal's key order; unset values are left out.
func ProxyDeployArgs(p *config.Proxy, t DeployTarget) Cmd {
	c := Cmd{option("target", t.ContainerID+":"+strconv.Itoa(p.AppPort))}
	for _, h := range p.Hosts {
		c = append(c, option("host", h))
	}
	if p.SSL {
		c = append(c, "--tls")
	}
	if t.TLSCertPath != "" {
		c = append(c, option("tls-certificate-path", t.TLSCertPath), option("tls-private-key-path", t.TLSKeyPath))
	}
	c = append(c, option("deploy-timeout", seconds(t.DeployTimeout)), option("drain-timeout", seconds(t.DrainTimeout)))
	if hc := p.Healthcheck; hc != nil {
		c = intOption(c, "health-check-interval", hc.Interval, "s")
		c = intOption(c, "health-check-timeout", hc.Timeout, "s")
		if hc.Path != "" {
			c = append(c, option("health-check-path", hc.Path))
		}
	}
	c = intOption(c, "target-timeout", p.ResponseTimeout, "s")
	yes := true
	req, resp := p.Buffering.Requests, p.Buffering.Responses
	if req == nil {
		req = &yes
	}
	if resp == nil {
		resp = &yes
	}
	c = boolOption(c, "buffer-requests", req)
	c = boolOption(c, "buffer-responses", resp)
	c = intOption(c, "buffer-memory", p.Buffering.Memory, "")
	c = intOption(c, "max-request-body", p.Buffering.MaxRequestBody, "")
	c = intOption(c, "max-response-body", p.Buffering.MaxResponseBody, "")
	for _, pp := range p.PathPrefixes {
		c = append(c, option("path-prefix", pp))
	}
	c = boolOption(c, "strip-path-prefix", p.StripPathPrefix)
	c = boolOption(c, "forward-headers", p.ForwardHeaders)
	c = boolOption(c, "tls-redirect", p.SSLRedirect)
	reqHeaders := p.Logging.RequestHeaders
	if reqHeaders == nil {
		reqHeaders = config.DefaultProxyLogRequestHeaders
	}
	for _, h := range reqHeaders {
		c = append(c, option("log-request-header", h))
	}
	for _, h := range p.Logging.ResponseHeaders {
		c = append(c, option("log-response-header", h))
	}
	if t.ErrorPagesPath != "" {
		c = append(c, option("error-pages", t.ErrorPagesPath))
	}
	return c
}

// ProxyStopArgs are the `kamal-proxy stop` options (maintenance mode).
func ProxyStopArgs(drainTimeout int, message string) Cmd {
	c := Cmd{option("drain-timeout", seconds(drainTimeout))}
	if message != "" {
		c = append(c, option("message", message))
	}
	return c
}

// ProxyServiceName is the name the app role is registered under in
// kamal-proxy: the role's container prefix.
func (a *App) ProxyServiceName() string { return a.role.ContainerPrefix() }

// ProxyDeploy registers the container (by id) with kamal-proxy.
func (a *App) ProxyDeploy(containerID string) Cmd {
	t := DeployTarget{ContainerID: containerID, DeployTimeout: a.cfg.DeployTimeout, DrainTimeout: a.cfg.DrainTimeout}
	if a.role.Proxy.CustomSSL() {
		t.TLSCertPath = path.Join(a.TLSContainerDirectory(), "cert.pem")
		t.TLSKeyPath = path.Join(a.TLSContainerDirectory(), "key.pem")
	}
	if a.cfg.ErrorPagesPath != "" {
		t.ErrorPagesPath = path.Join(ProxyAppContainerDirectory(a.cfg), "error_pages", a.version)
	}
	return append(proxyExec("deploy", q(a.ProxyServiceName())), ProxyDeployArgs(a.role.Proxy, t)...)
}

// ProxyRemove is `kamal-proxy remove <service>`.
func (a *App) ProxyRemove() Cmd { return proxyExec("remove", q(a.ProxyServiceName())) }

// ProxyLive is `kamal-proxy resume <service>` (app live).
func (a *App) ProxyLive() Cmd { return proxyExec("resume", q(a.ProxyServiceName())) }

// ProxyMaintenance is `kamal-proxy stop <service> --drain-timeout=… [--message=…]`.
func (a *App) ProxyMaintenance(drainTimeout int, message string) Cmd {
	return append(proxyExec("stop", q(a.ProxyServiceName())), ProxyStopArgs(drainTimeout, message)...)
}
