package deploy

import (
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
)

// The hosts and roles a run targets: the -h, -r and -p filters applied to
// the configuration, primary-role hosts first.

func (k *Session) applyFilters() error {
	cfg := k.Config
	if len(k.opts.Roles) > 0 {
		names := filterItems(k.opts.Roles, cfg.RoleNames())
		if len(names) == 0 {
			return &ArgumentError{"No --roles match for " + strings.Join(k.opts.Roles, ",")}
		}
		for _, n := range names {
			k.specificRoles = append(k.specificRoles, cfg.Role(n))
		}
	}
	if len(k.opts.Hosts) > 0 {
		k.specificHosts = filterItems(k.opts.Hosts, cfg.AllHosts())
		if len(k.specificHosts) == 0 {
			return &ArgumentError{"No --hosts match for " + strings.Join(k.opts.Hosts, ",")}
		}
	}
	if k.opts.Primary {
		if r := k.primarySpecificRole(); r != nil && len(r.Hosts) > 0 {
			k.specificHosts = []string{r.Hosts[0]}
		} else if p := cfg.PrimaryHost(); p != "" {
			k.specificHosts = []string{p}
		}
	}

	// The roles that still have a host, and the hosts of the selected roles.
	hostScope := k.specificHosts
	if hostScope == nil {
		hostScope = cfg.AllHosts()
	}
	roleScope := k.specificRoles
	if roleScope == nil {
		roleScope = cfg.Servers
	}
	for _, r := range roleScope {
		if intersects(r.Hosts, hostScope) {
			k.roles = append(k.roles, r)
		}
	}
	hosts := slices.Clone(hostScope)
	if k.specificRoles != nil {
		var roleHosts []string
		for _, r := range k.specificRoles {
			roleHosts = append(roleHosts, r.Hosts...)
		}
		hosts = slices.DeleteFunc(hosts, func(h string) bool { return !slices.Contains(roleHosts, h) })
	}

	switch {
	case len(k.specificHosts) > 0:
		k.primaryHost = k.specificHosts[0]
	case k.primarySpecificRole() != nil && len(k.primarySpecificRole().Hosts) > 0:
		k.primaryHost = k.primarySpecificRole().Hosts[0]
	default:
		k.primaryHost = cfg.PrimaryHost()
	}

	// Hosts of the primary role first, as Kamal orders them.
	var primaryRole *config.Role
	for _, r := range cfg.RolesOnHost(k.primaryHost) {
		if primaryRole == nil || r.Name == cfg.PrimaryRoleName {
			primaryRole = r
		}
	}
	if primaryRole != nil {
		slices.SortStableFunc(hosts, func(a, b string) int {
			return boolRank(!slices.Contains(primaryRole.Hosts, a)) - boolRank(!slices.Contains(primaryRole.Hosts, b))
		})
		slices.SortStableFunc(k.roles, func(a, b *config.Role) int {
			return boolRank(a != primaryRole) - boolRank(b != primaryRole)
		})
	}
	k.hosts = hosts
	return nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (k *Session) primarySpecificRole() *config.Role {
	if len(k.specificRoles) == 0 {
		return nil
	}
	for _, r := range k.specificRoles {
		if r.Name == k.Config.PrimaryRoleName {
			return r
		}
	}
	return k.specificRoles[0]
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Hosts are the hosts this run targets (roles' and accessories' hosts
// after the filters), primary-role hosts first.
func (k *Session) Hosts() []string { return slices.Clone(k.hosts) }

// Roles are the roles this run targets, the primary role first.
func (k *Session) Roles() []*config.Role { return slices.Clone(k.roles) }

// AppHosts are the targeted hosts that run at least one targeted role.
func (k *Session) AppHosts() []string {
	var out []string
	for _, h := range k.hosts {
		for _, r := range k.roles {
			if slices.Contains(r.Hosts, h) {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// PrimaryHost is the host holding the lock (and the primary for -p).
func (k *Session) PrimaryHost() string { return k.primaryHost }

// rolesOn are the targeted roles that run on host, in the run's role order
// (primary role first).
func (k *Session) rolesOn(host string) []*config.Role {
	var out []*config.Role
	for _, r := range k.roles {
		if slices.Contains(r.Hosts, host) {
			out = append(out, r)
		}
	}
	return out
}

// ProxyHosts are the targeted hosts that run kamal-proxy (hosts of proxy
// roles and proxied accessories).
func (k *Session) ProxyHosts() []string {
	var out []string
	for _, h := range k.Config.ProxyHosts() {
		if slices.Contains(k.hosts, h) {
			out = append(out, h)
		}
	}
	return out
}

// accessoryHosts are the hosts of a that this run targets (the --hosts and
// --roles filters apply), restricted to scope when it is not nil (the
// rolling upgrade's current host).
func (k *Session) accessoryHosts(a *config.Accessory, scope []string) []string {
	var out []string
	for _, h := range a.Hosts {
		if k.targets(h) && (scope == nil || slices.Contains(scope, h)) {
			out = append(out, h)
		}
	}
	return out
}

// allAccessoryHosts are the targeted hosts of every accessory, unique, in
// config order (Kamal's accessory_hosts).
func (k *Session) allAccessoryHosts() []string {
	var out []string
	for _, a := range k.Config.Accessories {
		for _, h := range k.accessoryHosts(a, nil) {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}

// targets reports whether host is one of this run's hosts.
func (k *Session) targets(host string) bool { return slices.Contains(k.hosts, host) }
