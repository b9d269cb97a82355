package config

import (
	"github.com/kamalgo/kamal/internal/shell"
)

// Redacted replaces sensitive values in `kamal config` output.
const Redacted = "[REDACTED]"

// KamalYAML renders the configuration summary `kamal config` prints, in the
// shape and YAML style of Kamal's `config.to_h.to_yaml` (symbol keys), with
// sensitive values redacted.
func (c *Config) KamalYAML() (string, error) {
	version, err := c.Version()
	if err != nil {
		return "", err
	}
	h := &omap{}
	roles := make([]any, 0, len(c.Servers))
	for _, r := range c.Servers {
		roles = append(roles, r.Name)
	}
	h.add(rsym("roles"), roles)
	h.add(rsym("hosts"), stringsToAny(c.AllHosts()))
	if p := c.PrimaryHost(); p != "" {
		h.add(rsym("primary_host"), p)
	}
	h.add(rsym("version"), version)
	h.add(rsym("repository"), c.Repository())
	h.add(rsym("absolute_image"), c.Repository()+":"+version)
	h.add(rsym("service_with_version"), c.Service+"-"+version)
	var volumeArgs []any
	for _, v := range c.Volumes {
		volumeArgs = append(volumeArgs, "--volume", v)
	}
	if volumeArgs == nil {
		volumeArgs = []any{}
	}
	h.add(rsym("volume_args"), volumeArgs)
	h.add(rsym("ssh_options"), c.sshOptions())
	h.add(rsym("sshkit"), rawSection(c.root.get("sshkit")))
	h.add(rsym("builder"), rawSection(c.root.get("builder")))
	if acc := c.root.get("accessories"); acc != nil && !acc.isNull() {
		h.add(rsym("accessories"), redactAccessories(rubyValue(acc)))
	}
	h.add(rsym("logging"), stringsToAny(c.Logging.Args()))
	return toRubyYAML(h), nil
}

// Args returns the docker logging arguments as Kamal renders them:
// `--log-driver "<driver>"` then `--log-opt key="value"` pairs.
func (l Logging) Args() []string {
	var args []string
	if l.Driver != "" {
		args = append(args, "--log-driver", shell.Escape(l.Driver))
	}
	for _, k := range l.OptionsOrder {
		args = append(args, "--log-opt", k+"="+shell.Escape(l.Options[k]))
	}
	return args
}

func (c *Config) sshOptions() *omap {
	s := c.SSH
	m := &omap{}
	m.add(rsym("user"), s.User)
	if p := c.root.get("ssh").get("port"); p != nil && !p.isNull() {
		m.add(rsym("port"), rubyValue(p))
	} else {
		m.add(rsym("port"), int64(s.Port))
	}
	switch {
	case s.Proxy != "":
		jump := s.Proxy
		if !containsByte(jump, '@') {
			jump = "root@" + jump
		}
		px := &omap{}
		px.add("jump_proxies", jump)
		m.add(rsym("proxy"), taggedMap{tag: "!ruby/object:Net::SSH::Proxy::Jump", m: px})
	case s.ProxyCommand != "":
		px := &omap{}
		px.add("command_line_template", s.ProxyCommand)
		px.add("command_line", nil)
		px.add("timeout", nil)
		m.add(rsym("proxy"), taggedMap{tag: "!ruby/object:Net::SSH::Proxy::Command", m: px})
	}
	m.add(rsym("keepalive"), true)
	m.add(rsym("keepalive_interval"), int64(30))
	if s.KeysOnly != nil {
		m.add(rsym("keys_only"), *s.KeysOnly)
	}
	if s.Keys != nil {
		m.add(rsym("keys"), stringsToAny(s.Keys))
	}
	if s.KeyData != nil {
		kd := make([]any, len(s.KeyData))
		for i := range kd {
			kd[i] = Redacted
		}
		m.add(rsym("key_data"), kd)
	}
	if cfg := c.root.get("ssh").get("config"); cfg != nil && !cfg.isNull() {
		m.add(rsym("config"), rubyValue(cfg))
	}
	if ll := c.root.get("ssh").get("log_level"); ll != nil && !ll.isNull() {
		m.add(rsym("log_level"), rubyValue(ll))
	} else {
		m.add(rsym("log_level"), rsym("fatal"))
	}
	return m
}

// taggedMap is a mapping emitted with a YAML tag (Ruby objects).
type taggedMap struct {
	tag string
	m   *omap
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func rawSection(n *node) any {
	if n == nil || n.kind != kindMap {
		return &omap{}
	}
	return rubyValue(n)
}

// redactAccessories hides literal registry credentials of accessories.
func redactAccessories(v any) any {
	m, ok := v.(*omap)
	if !ok {
		return v
	}
	for _, a := range m.vals {
		am, ok := a.(*omap)
		if !ok {
			continue
		}
		for i, k := range am.keys {
			if k != "registry" {
				continue
			}
			if reg, ok := am.vals[i].(*omap); ok {
				for j, rk := range reg.keys {
					if rk == "password" || rk == "username" {
						if _, isList := reg.vals[j].([]any); !isList {
							reg.vals[j] = Redacted
						}
					}
				}
			}
		}
	}
	return v
}

func stringsToAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
