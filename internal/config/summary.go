package config

import "github.com/kamalgo/kamal/internal/config/rubyyaml"

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
	sym := rubyyaml.NewSymbol
	h := rubyyaml.NewMap()
	h.Add(sym("roles"), rubyyaml.NewStrings(c.RoleNames()))
	h.Add(sym("hosts"), rubyyaml.NewStrings(c.AllHosts()))
	if p := c.PrimaryHost(); p != "" {
		h.Add(sym("primary_host"), rubyyaml.NewString(p))
	}
	h.Add(sym("version"), rubyyaml.NewString(version))
	h.Add(sym("repository"), rubyyaml.NewString(c.Repository()))
	h.Add(sym("absolute_image"), rubyyaml.NewString(c.Repository()+":"+version))
	h.Add(sym("service_with_version"), rubyyaml.NewString(c.Service+"-"+version))
	var volumeArgs []string
	for _, v := range c.Volumes {
		volumeArgs = append(volumeArgs, "--volume", v)
	}
	h.Add(sym("volume_args"), rubyyaml.NewStrings(volumeArgs))
	h.Add(sym("ssh_options"), c.sshOptions())
	h.Add(sym("sshkit"), rawSection(c.root.Get("sshkit")))
	h.Add(sym("builder"), rawSection(c.root.Get("builder")))
	if acc := c.root.Get("accessories"); !acc.IsNull() {
		h.Add(sym("accessories"), redactAccessories(acc))
	}
	h.Add(sym("logging"), rubyyaml.NewStrings(c.Logging.Args()))
	return rubyyaml.Dump(h), nil
}

// rawSection is a section as written, or {} when it is not a hash.
func rawSection(n *rubyyaml.Node) *rubyyaml.Node {
	if n == nil || n.Kind != rubyyaml.Map {
		return rubyyaml.NewMap()
	}
	return n
}
