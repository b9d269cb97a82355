package config

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// Kamal's checks across sections (its ensure_* methods), run on the built
// model in Kamal's order.

// check runs the cross-section checks and returns the first failure.
func (c *Config) check() (err error) {
	defer catchCheck(&err)
	c.checkDestination()
	c.checkRequiredKeys()
	c.checkRoles()
	c.checkMinimumVersion()
	c.checkRetainContainers()
	c.checkServiceName()
	c.checkTraefikHooks()
	c.checkSSL()
	c.checkLocalRegistryBuilder()
	c.checkProxyRuns()
	c.checkHooksOutput()
	return nil
}

func (c *Config) checkDestination() {
	if c.RequireDestination && c.Destination == "" {
		raise(nil, KindArgument, "You must specify a destination")
	}
}

func (c *Config) checkRequiredKeys() {
	for _, key := range []string{"service", "registry"} {
		if !c.root.Get(key).Present() {
			raise(nil, KindConfiguration, "Missing required configuration for %s", key)
		}
	}
	if strings.TrimSpace(c.Image) == "" {
		raise(nil, KindConfiguration, "Missing required configuration for image")
	}
}

// checkRoles needs servers or accessories, a primary role with hosts, and
// hosts in every role unless allow_empty_roles.
func (c *Config) checkRoles() {
	if c.root.Get("servers") == nil {
		if !c.root.Get("accessories").Present() {
			raise(nil, KindConfiguration, "No servers or accessories specified")
		}
		return
	}
	p := c.PrimaryRole()
	if p == nil {
		raise(c.root.Get("servers"), KindConfiguration, "The primary_role %s isn't defined", c.PrimaryRoleName)
	}
	if len(p.Hosts) == 0 {
		raise(nil, KindConfiguration, "No servers specified for the %s primary_role", p.Name)
	}
	if !c.AllowEmptyRoles {
		for _, r := range c.Servers {
			if len(r.Hosts) == 0 {
				raise(nil, KindConfiguration, "No servers specified for the %s role. You can ignore this with allow_empty_roles: true", r.Name)
			}
		}
	}
}

func (c *Config) checkRetainContainers() {
	if c.RetainContainers < 1 {
		raise(c.root.Get("retain_containers"), KindConfiguration, "Must retain at least 1 container")
	}
}

var serviceNameRE = regexp.MustCompile(`(?i)^[a-z0-9_-]+$`)

// checkServiceName: Kamal matches the name with a Regexp, which rejects a
// number (service: 2048) as well.
func (c *Config) checkServiceName() {
	n := c.root.Get("service")
	if (n.Kind != rubyyaml.String && n.Kind != rubyyaml.Symbol) || !serviceNameRE.MatchString(c.Service) {
		raise(n, KindConfiguration, "Service name can only include alphanumeric characters, hyphens, and underscores")
	}
	// Ours: the name is an argument of commands on the servers (grep -x,
	// rm -r), where a leading "-" would be read as an option.
	if strings.HasPrefix(c.Service, "-") {
		raise(n, KindConfiguration, "Service name can't start with a hyphen, got %q", c.Service)
	}
}

// checkSSL: automatic certificates need one server per role, and roles
// cannot share a host name.
func (c *Config) checkSSL() {
	for _, r := range c.Servers {
		if r.Proxy != nil && r.Proxy.SSL && len(r.Hosts) > 1 && !r.Proxy.CustomSSL() {
			raise(nil, KindConfiguration, "SSL is only supported on a single server unless you provide custom certificates, found %d servers for role %s", len(r.Hosts), r.Name)
		}
	}
	count := map[string]int{}
	var order []string
	for _, r := range c.Servers {
		if r.Proxy != nil && r.Proxy.SSL {
			for _, h := range r.Proxy.Hosts {
				if count[h] == 0 {
					order = append(order, h)
				}
				count[h]++
			}
		}
	}
	var dups []string
	for _, h := range order {
		if count[h] > 1 {
			dups = append(dups, h)
		}
	}
	if len(dups) > 0 {
		raise(nil, KindConfiguration, "Different roles can't share the same host for SSL: %s", strings.Join(dups, ", "))
	}
}

// checkLocalRegistryBuilder: a remote builder reaches a local registry
// through an SSH tunnel, so it needs an SSH URL; a remote that builds
// nothing (every arch is built locally) is not checked.
func (c *Config) checkLocalRegistryBuilder() {
	if c.Registry.Local && len(c.Builder.RemoteArches(LocalArch())) > 0 {
		u, err := url.Parse(c.Builder.Remote)
		if err != nil || u.Scheme != "ssh" {
			raise(nil, KindConfiguration, "Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)")
		}
	}
}

// checkProxyRuns: one kamal-proxy per host, so the run settings that apply
// to a host must agree.
func (c *Config) checkProxyRuns() {
	for _, host := range c.AllHosts() {
		var first *ProxyRun
		for _, run := range c.proxyRuns(host) {
			if first == nil {
				first = run
			} else if !equalAny(first.Raw, run.Raw) {
				raise(nil, KindConfiguration, "Conflicting proxy run configurations for host %s", host)
			}
		}
	}
}
