package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The servers section: a plain host list (one role, "web") or a hash of
// roles, each a host list or a hash of role settings.

// DefaultPrimaryRole is the primary role when primary_role is not set.
const DefaultPrimaryRole = "web"

// Role is one entry of `servers:`.
type Role struct {
	Name             string
	Hosts            []string
	HostTags         map[string][]string // host -> tags, only hosts with tags
	Cmd              string
	Options          map[string]any // docker run options (values: string, int, bool, float or []any)
	OptionsOrder     []string       // keys of Options in file order
	Labels           map[string]string
	LabelsOrder      []string
	Env              Env     // the role's own env (see Config.RoleEnv for the merged one)
	Logging          Logging // root logging with the role's deep-merged over it
	Proxy            *Proxy  // root proxy with the role's deep-merged over it; nil when the role does not run the proxy
	AssetPath        string  // role asset_path, else root asset_path (the path before any ":")
	AssetPathOptions string  // mount options after the ":" of asset_path, e.g. "ro"
	StopTimeout      *int    // role stop_timeout, else root
	Primary          bool

	service, destination string
}

var roleSchema = []field{
	f("hosts", tHosts),
	f("cmd", tString),
	f("stop_timeout", tInt),
	f("options", tAnyHash),
	f("logging", tSection),
	f("proxy", tSection),
	f("labels", tLabels),
	f("env", tSection),
	f("asset_path", tString),
}

// ContainerPrefix is <service>-<role>[-<destination>].
func (r *Role) ContainerPrefix() string {
	p := r.service + "-" + r.Name
	if r.destination != "" {
		p += "-" + r.destination
	}
	return p
}

// ContainerName is <prefix>-<version>.
func (r *Role) ContainerName(version string) string { return r.ContainerPrefix() + "-" + version }

// Assets reports whether asset bridging applies: an asset path is set and
// the role runs behind the proxy.
func (r *Role) Assets() bool { return r.AssetPath != "" && r.Proxy != nil }

// RunsProxy reports whether the role's containers sit behind kamal-proxy.
func (r *Role) RunsProxy() bool { return r.Proxy != nil }

// Role returns the role called name, or nil.
func (c *Config) Role(name string) *Role {
	for _, r := range c.Servers {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// RoleNames returns the role names (sorted, as Kamal).
func (c *Config) RoleNames() []string {
	names := make([]string, len(c.Servers))
	for i, r := range c.Servers {
		names[i] = r.Name
	}
	return names
}

// PrimaryRole returns the primary role (primary_role, default web), or nil
// when there are no roles (accessory-only configs).
func (c *Config) PrimaryRole() *Role { return c.Role(c.PrimaryRoleName) }

// PrimaryHost is the first host of the primary role ("" when there is no
// primary role, e.g. an accessories-only config).
func (c *Config) PrimaryHost() string {
	if r := c.PrimaryRole(); r != nil && len(r.Hosts) > 0 {
		return r.Hosts[0]
	}
	return ""
}

// RolesOnHost returns the roles that include host, in role order.
func (c *Config) RolesOnHost(host string) []*Role {
	var roles []*Role
	for _, r := range c.Servers {
		if slices.Contains(r.Hosts, host) {
			roles = append(roles, r)
		}
	}
	return roles
}

func primaryRoleName(root *rubyyaml.Node) string {
	return strOr(root.Get("primary_role"), DefaultPrimaryRole)
}

// roleSpec is one role as written: its name, its node (a host list or a
// hash), and the hash of settings (nil for a plain host list).
type roleSpec struct {
	name  string
	node  *rubyyaml.Node
	spec  *rubyyaml.Node
	hosts *rubyyaml.Node
}

// roleSpecs lists the roles of a servers section sorted by name, as Kamal
// orders them.
func roleSpecs(servers *rubyyaml.Node) []roleSpec {
	if servers == nil {
		return nil
	}
	if servers.Kind == rubyyaml.Seq {
		return []roleSpec{{name: DefaultPrimaryRole, node: servers, hosts: servers}}
	}
	if servers.Kind != rubyyaml.Map {
		return nil
	}
	names := slices.Clone(servers.Keys)
	sort.Strings(names)
	specs := make([]roleSpec, 0, len(names))
	for _, name := range names {
		rn := servers.Vals[name]
		s := roleSpec{name: name, node: rn, hosts: rn}
		if rn != nil && rn.Kind == rubyyaml.Map {
			s.spec, s.hosts = rn, rn.Get("hosts")
		}
		specs = append(specs, s)
	}
	return specs
}

// proxy returns the role's own proxy section and whether the role runs the
// proxy: the primary role does unless `proxy: false`; another role only
// with a proxy section or `proxy: true`.
func (s roleSpec) proxy(primary bool) (*rubyyaml.Node, bool) {
	ps := s.spec.Get("proxy")
	disabled := ps != nil && ps.Kind == rubyyaml.Bool && !ps.Bool
	if primary {
		return ps, !disabled
	}
	return ps, !ps.IsNull() && !disabled
}

func (v *validator) validateServersSection(root *rubyyaml.Node) {
	servers := root.Get("servers")
	if servers == nil {
		return
	}
	v.withContext("servers", func() {
		v.validateType(servers, "array", "hash")
		if servers.Kind == rubyyaml.Seq {
			v.validateHosts(servers)
		}
	})
	if servers.Kind != rubyyaml.Map {
		return
	}
	for _, name := range servers.Keys {
		// Kamal breaks on a role named by a number or nil (`1:`, `~:`)
		if key := servers.KeyNodes[name]; key.Kind != rubyyaml.String && key.Kind != rubyyaml.Symbol {
			v.withContext("servers/"+name, func() {
				v.fail(key, fmt.Sprintf("role names must be strings, quote it: %q", name))
			})
		}
	}
	primary := primaryRoleName(root)
	for _, s := range roleSpecs(servers) {
		ctx := "servers/" + s.name
		v.withContext(ctx, func() { v.validateRole(s.node) })
		if s.spec == nil {
			continue
		}
		if en := s.spec.Get("env"); en != nil {
			v.withContext(ctx+"/env", func() { v.validateEnv(en, false) })
		}
		v.validateLogging(ctx+"/logging", s.spec.Get("logging"))
		if ps, running := s.proxy(s.name == primary); running && ps != nil && ps.Kind == rubyyaml.Map {
			v.withContext(ctx+"/proxy", func() { v.validateProxy(ps) })
		}
	}
}

func (v *validator) validateRole(n *rubyyaml.Node) {
	v.validateType(n, "array", "hash")
	if n.Kind == rubyyaml.Map && n.Has("labels") {
		v.validateLabels(n.Get("labels"))
	}
	if n.Kind == rubyyaml.Seq {
		v.validateHosts(n)
		return
	}
	v.validateAgainst(n, roleSchema, false)
	v.validateDockerOptions(n.Get("options"))
}

// validateHosts checks a host list: "host" or {host: tag | [tags]}.
func (v *validator) validateHosts(n *rubyyaml.Node) {
	v.validateType(n, "array")
	for i, server := range n.Items {
		v.with(fmt.Sprint(i), func() {
			v.validateType(server, "string", "hash")
			if server.Kind == rubyyaml.Map {
				if len(server.Keys) != 1 {
					v.fail(server, "multiple hosts found")
				}
				host := server.Keys[0]
				tags := server.Vals[host]
				v.with(host, func() {
					v.validateType(tags, "string", "array")
					if tags.Kind == rubyyaml.Seq {
						v.validateArrayOf(tags, "string")
					}
				})
			}
		})
	}
}

func (c *Config) buildRoles(servers, rootLogging, rootProxy *rubyyaml.Node) []*Role {
	var roles []*Role
	for _, s := range roleSpecs(servers) {
		r := &Role{Name: s.name, service: c.Service, destination: c.Destination, Primary: s.name == c.PrimaryRoleName}
		r.Hosts, r.HostTags = parseHosts(s.hosts)
		if s.spec != nil {
			if en := s.spec.Get("env"); en != nil {
				r.Env = buildEnv(en)
			}
			r.Cmd = s.spec.Get("cmd").Text()
			r.Options, r.OptionsOrder = anyMap(s.spec.Get("options"))
			r.StopTimeout = intPtr(s.spec.Get("stop_timeout"))
		}
		if r.StopTimeout == nil {
			r.StopTimeout = c.StopTimeout
		}
		// labels: root, then role
		r.Labels = map[string]string{}
		for _, k := range c.LabelsOrder {
			r.Labels[k] = c.Labels[k]
			r.LabelsOrder = append(r.LabelsOrder, k)
		}
		lm, lo := stringMap(s.spec.Get("labels"))
		for _, k := range lo {
			if _, ok := r.Labels[k]; !ok {
				r.LabelsOrder = append(r.LabelsOrder, k)
			}
			r.Labels[k] = lm[k]
		}
		r.Logging = buildLogging(mergeMaps(rootLogging, s.spec.Get("logging")))
		ap := c.AssetPath
		if s.spec.Get("asset_path").Present() {
			ap = s.spec.Get("asset_path").Text()
		}
		r.AssetPath, r.AssetPathOptions, _ = strings.Cut(ap, ":")
		if ps, running := s.proxy(r.Primary); running {
			own := ps
			if ps == nil || ps.Kind != rubyyaml.Map {
				own = rubyyaml.NewMap()
			}
			base := rootProxy
			if base == nil || base.Kind != rubyyaml.Map {
				base = rubyyaml.NewMap()
			}
			r.Proxy = buildProxy(rubyyaml.DeepMerge(base, own))
		}
		roles = append(roles, r)
	}
	return roles
}

// parseHosts reads a host list; duplicate hosts keep their first position
// and the last tags (Ruby hash semantics).
func parseHosts(n *rubyyaml.Node) ([]string, map[string][]string) {
	tags := map[string][]string{}
	var hosts []string
	if n == nil || n.Kind != rubyyaml.Seq {
		return hosts, tags
	}
	for _, item := range n.Items {
		switch {
		case item.Kind == rubyyaml.Map && len(item.Keys) > 0:
			host := item.Keys[0]
			t := item.Vals[host]
			var list []string
			if t.Kind == rubyyaml.Seq {
				list = stringList(t)
			} else if !t.IsNull() {
				list = []string{t.Text()}
			}
			if _, ok := tags[host]; !ok && !slices.Contains(hosts, host) {
				hosts = append(hosts, host)
			}
			tags[host] = list
		case stringish(item):
			host := item.Text()
			if !slices.Contains(hosts, host) {
				hosts = append(hosts, host)
			}
			if _, ok := tags[host]; ok {
				tags[host] = nil
			}
		}
	}
	for h, t := range tags {
		if len(t) == 0 {
			delete(tags, h)
		}
	}
	return hosts, tags
}

// hostsWithTags finds the hosts tagged with any of tags across all roles.
func hostsWithTags(servers *rubyyaml.Node, tags []string) []string {
	var hosts []string
	if servers == nil || servers.Kind != rubyyaml.Map {
		return hosts
	}
	for _, tag := range tags {
		for _, role := range servers.Keys {
			rn := servers.Vals[role]
			list := rn
			if rn.Kind == rubyyaml.Map {
				list = rn.Get("hosts")
			}
			hs, ht := parseHosts(list)
			for _, h := range hs {
				if slices.Contains(ht[h], tag) {
					hosts = appendUnique(hosts, h)
				}
			}
		}
	}
	return hosts
}
