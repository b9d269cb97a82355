package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The accessories section: long-running services (databases, caches)
// deployed next to the app, each on hosts chosen by host(s), role(s) or
// tag(s).

// Accessory is one entry of `accessories:`.
type Accessory struct {
	Name         string
	Service      string // service key, else <service>-<name>
	Image        string // with a registry: <server>/<image>
	Registry     *Registry
	Hosts        []string // resolved from host/hosts/role/roles/tag/tags
	Cmd          string
	Port         string
	Labels       map[string]string
	LabelsOrder  []string
	Options      map[string]any
	OptionsOrder []string
	Env          Env
	Files        []AccessoryFile
	Directories  []AccessoryFile
	Volumes      []string
	Network      string // default kamal
	Proxy        *Proxy
	Raw          map[string]any
}

// AccessoryFile is a file or directory mapped into an accessory. Local is
// the path on this machine (files) or on the host (directories), Remote the
// path in the container.
type AccessoryFile struct {
	Local   string
	Remote  string
	Mode    string
	Owner   string
	Options string // extra mount options, e.g. ro
}

// defaultFileMode is the mode of an accessory's uploaded files.
const defaultFileMode = "755"

var accessorySchema = []field{
	f("service", tString),
	f("image", tString),
	f("registry", tSection),
	f("host", tString),
	f("hosts", tStringArray),
	f("role", tString),
	f("roles", tStringArray),
	f("tag", tString),
	f("tags", tStringArray),
	f("cmd", tString),
	f("port", tString),
	f("labels", tLabels),
	f("options", tAnyHash),
	f("env", tSection),
	f("files", tPaths),
	f("directories", tPaths),
	f("volumes", tStringArray),
	f("network", tString),
	f("proxy", tSection),
}

// accessoryTargets are the keys that choose an accessory's hosts; exactly
// one must be set.
var accessoryTargets = []string{"host", "hosts", "role", "roles", "tag", "tags"}

// Accessory returns the accessory called name.
func (c *Config) Accessory(name string) (*Accessory, error) {
	for _, a := range c.Accessories {
		if a.Name == name {
			return a, nil
		}
	}
	names := make([]string, len(c.Accessories))
	for i, a := range c.Accessories {
		names[i] = a.Name
	}
	//lint:ignore ST1005 Kamal's message, word for word
	return nil, fmt.Errorf("No accessory by the name of '%s' (options: %s)", name, ToSentence(names))
}

// AccessoriesOnHost returns the accessories that run on host.
func (c *Config) AccessoriesOnHost(host string) []*Accessory {
	var as []*Accessory
	for _, a := range c.Accessories {
		if slices.Contains(a.Hosts, host) {
			as = append(as, a)
		}
	}
	return as
}

func (v *validator) validateAccessories(root *rubyyaml.Node) {
	acc := root.Get("accessories")
	if acc == nil || acc.Kind != rubyyaml.Map {
		return
	}
	var roles []string
	for _, s := range roleSpecs(root.Get("servers")) {
		roles = append(roles, s.name)
	}
	for _, name := range acc.Keys {
		n := acc.Vals[name]
		if n.IsNull() {
			// point the error at the key: a null value has no useful position
			key := acc.KeyNodes[name]
			n = &rubyyaml.Node{Kind: rubyyaml.Null, File: key.File, Line: key.Line}
		}
		v.validateAccessory("accessories/"+name, n, roles)
	}
}

// accessoryNameRE is what an accessory name and service may hold: they
// name its container, its directory on the servers (removed with rm -rf by
// `accessory remove`) and its env file. Docker's container name rule, so
// no "/" and no leading "-" or ".".
var accessoryNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// validateAccessoryName fails unless what (the accessory's name or its
// service) is a plain name, without "..".
func (v *validator) validateAccessoryName(n *rubyyaml.Node, what, name string) {
	if !accessoryNameRE.MatchString(name) || strings.Contains(name, "..") {
		v.fail(n, fmt.Sprintf("%s can only include alphanumeric characters, hyphens, underscores, and periods, and must start with a letter or digit (not \"..\"), got %q", what, name))
	}
}

func (v *validator) validateAccessory(ctx string, n *rubyyaml.Node, roles []string) {
	v.withContext(ctx, func() {
		v.validateAgainst(n, accessorySchema, false)
		v.validateAccessoryName(n, "Accessory name", strings.TrimPrefix(ctx, "accessories/"))
		if svc := n.Get("service"); svc.Present() {
			v.validateAccessoryName(svc, "Accessory service name", svc.Text())
		}
		count := 0
		for _, k := range accessoryTargets {
			if n.Has(k) {
				count++
			}
		}
		if count != 1 {
			v.fail(n, "specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
		}
		if n.Has("labels") {
			v.validateLabels(n.Get("labels"))
		}
		v.validateDockerOptions(n.Get("options"))
	})
	switch {
	case n.Has("role"):
		if role := n.Get("role"); !slices.Contains(roles, role.Text()) {
			raise(role, KindConfiguration, "%s: unknown role %s", ctx, role.Text())
		}
	case n.Has("roles"):
		var missing []string
		for _, rn := range stringList(n.Get("roles")) {
			if !slices.Contains(roles, rn) {
				missing = append(missing, rn)
			}
		}
		if len(missing) > 0 {
			raise(n.Get("roles"), KindConfiguration, "%s: unknown roles %s", ctx, strings.Join(missing, ", "))
		}
	}
	if en := n.Get("env"); en != nil {
		v.withContext(ctx+"/env", func() { v.validateEnv(en, false) })
	}
	if pn := n.Get("proxy"); pn.Present() {
		v.withContext(ctx+"/proxy", func() {
			v.validateType(pn, "hash")
			v.validateProxy(pn)
		})
	}
	if rn := n.Get("registry"); rn.Present() {
		v.withContext(ctx+"/registry", func() { v.validateRegistry(rn) })
	}
}

// validatePaths checks files: and directories: entries, "local:remote" or
// {local, remote, mode, owner, options}.
func (v *validator) validatePaths(n *rubyyaml.Node) {
	v.validateType(n, "array")
	for i, item := range n.Items {
		v.with(fmt.Sprint(i), func() {
			v.validateType(item, "string", "hash")
			if item.Kind == rubyyaml.Map {
				for _, k := range []string{"local", "remote", "mode", "owner", "options"} {
					if item.Has(k) {
						v.with(k, func() { v.validateType(item.Get(k), "string") })
					}
				}
			}
		})
	}
}

func (c *Config) buildAccessories(root *rubyyaml.Node) []*Accessory {
	acc := root.Get("accessories")
	if acc == nil || acc.Kind != rubyyaml.Map {
		return nil
	}
	var out []*Accessory
	for _, name := range acc.Keys {
		out = append(out, c.buildAccessory(root.Get("servers"), name, acc.Vals[name]))
	}
	return out
}

func (c *Config) buildAccessory(servers *rubyyaml.Node, name string, n *rubyyaml.Node) *Accessory {
	a := &Accessory{
		Name:        name,
		Service:     strOr(n.Get("service"), c.Service+"-"+name),
		Network:     strOr(n.Get("network"), DefaultNetwork),
		Raw:         rawMap(n),
		Cmd:         n.Get("cmd").Text(),
		Port:        n.Get("port").Text(),
		Files:       pathList(n.Get("files"), defaultFileMode),
		Directories: pathList(n.Get("directories"), ""),
		Volumes:     stringList(n.Get("volumes")),
		Env:         Env{Clear: map[string]string{}},
	}
	switch {
	case n.Has("host"):
		a.Hosts = []string{n.Get("host").Text()}
	case n.Has("hosts"):
		for _, item := range n.Get("hosts").Items {
			if item.Kind == rubyyaml.Map && len(item.Keys) > 0 {
				a.Hosts = appendUnique(a.Hosts, item.Keys[0])
			} else {
				a.Hosts = appendUnique(a.Hosts, item.Text())
			}
		}
	case n.Has("role"):
		a.Hosts = slices.Clone(c.Role(n.Get("role").Text()).Hosts)
	case n.Has("roles"):
		for _, rn := range stringList(n.Get("roles")) {
			a.Hosts = appendUnique(a.Hosts, c.Role(rn).Hosts...)
		}
	case n.Has("tag"):
		a.Hosts = hostsWithTags(servers, []string{n.Get("tag").Text()})
	case n.Has("tags"):
		a.Hosts = hostsWithTags(servers, stringList(n.Get("tags")))
	}
	a.Labels, a.LabelsOrder = stringMap(n.Get("labels"))
	a.Options, a.OptionsOrder = anyMap(n.Get("options"))
	if en := n.Get("env"); en != nil {
		a.Env = buildEnv(en)
	}
	if pn := n.Get("proxy"); pn.Present() {
		a.Proxy = buildProxy(pn)
	}
	a.Image = n.Get("image").Text()
	if rn := n.Get("registry"); rn.Present() {
		reg := buildRegistry(rn)
		a.Registry = &reg
		if reg.Server != "" {
			a.Image = reg.Server + "/" + a.Image
		}
	}
	return a
}

func pathList(n *rubyyaml.Node, defaultMode string) []AccessoryFile {
	var out []AccessoryFile
	if n == nil || n.Kind != rubyyaml.Seq {
		return out
	}
	for _, item := range n.Items {
		if item.Kind == rubyyaml.Map {
			out = append(out, AccessoryFile{
				Local: item.Get("local").Text(), Remote: item.Get("remote").Text(),
				Mode: strOr(item.Get("mode"), defaultMode), Owner: item.Get("owner").Text(),
				Options: item.Get("options").Text(),
			})
			continue
		}
		parts := strings.SplitN(item.Text(), ":", 3)
		f := AccessoryFile{Local: parts[0], Mode: defaultMode}
		if len(parts) > 1 {
			f.Remote = parts[1]
		}
		if len(parts) > 2 {
			f.Options = parts[2]
		}
		out = append(out, f)
	}
	return out
}

// redactAccessories hides the literal registry passwords of accessories in
// a copy of the accessories section. Kamal prints the section as written;
// the username is shown as it is, as Kamal does, but a password written
// in the file stays hidden (a secret's name, [NAME], is shown).
func redactAccessories(acc *rubyyaml.Node) *rubyyaml.Node {
	out := acc.Copy()
	for _, name := range out.Keys {
		reg := out.Vals[name].Get("registry")
		if v := reg.Get("password"); v != nil && v.Kind != rubyyaml.Seq {
			reg.Set("password", reg.KeyNodes["password"], rubyyaml.NewString(Redacted))
		}
	}
	return out
}
