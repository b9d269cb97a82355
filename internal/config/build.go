package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// build validates the merged raw tree and turns it into a Config. The order
// of checks follows Kamal's, so a config with several problems reports the
// same first one.
func build(raw *RawConfig, opts LoadOptions) (cfg *Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			if vp, ok := r.(validationPanic); ok {
				cfg, err = nil, vp.err
				return
			}
			panic(r)
		}
	}()
	root := raw.root
	v := &validator{}
	v.validateAgainst(root, rootSchema, true)
	v.validateLabels(root.get("labels"))

	c := &Config{
		Destination:      opts.Destination,
		Service:          root.get("service").text(),
		Raw:              asMap(root.toAny()),
		root:             root,
		RunDirectory:     DefaultRunDirectory,
		HooksPath:        strOr(root.get("hooks_path"), DefaultHooksPath),
		SecretsPath:      strOr(root.get("secrets_path"), DefaultSecretsPath),
		PrimaryRoleName:  strOr(root.get("primary_role"), DefaultPrimaryRole),
		AssetPath:        root.get("asset_path").text(),
		ErrorPagesPath:   root.get("error_pages_path").text(),
		MinimumVersion:   root.get("minimum_version").text(),
		RetainContainers: intOr(root.get("retain_containers"), DefaultRetainContainers),
		ReadinessDelay:   intOr(root.get("readiness_delay"), DefaultReadinessDelay),
		DeployTimeout:    intOr(root.get("deploy_timeout"), DefaultDeployTimeout),
		DrainTimeout:     intOr(root.get("drain_timeout"), DefaultDrainTimeout),
		StopTimeout:      intPtr(root.get("stop_timeout")),
	}
	c.RequireDestination = boolOf(root.get("require_destination"))
	c.AllowEmptyRoles = boolOf(root.get("allow_empty_roles"))
	c.Labels, c.LabelsOrder = stringMap(root.get("labels"))
	c.Volumes = stringList(root.get("volumes"))

	rootProxy := root.get("proxy")

	// servers and roles
	if servers := root.get("servers"); servers != nil {
		v.withContext("servers", func() {
			v.validateType(servers, "array", "hash")
			if servers.kind == kindSeq {
				v.validateServers(servers)
			}
		})
		c.Servers = buildRoles(v, c, servers, root.get("logging"), rootProxy)
	}

	// registry
	regNode := root.get("registry")
	if regNode.isNull() {
		regNode = &node{kind: kindMap, file: root.file}
	}
	v.withContext("registry", func() { v.validateRegistry(regNode) })
	c.Registry = buildRegistry(regNode)
	c.Image = root.get("image").text()
	if c.Image == "" && c.Registry.Local {
		c.Image = c.Service
	}

	// accessories
	if acc := root.get("accessories"); acc != nil && acc.kind == kindMap {
		for _, name := range acc.keys {
			a := buildAccessory(v, c, root, name, acc.vals[name], acc.knod[name])
			c.Accessories = append(c.Accessories, a)
		}
	}

	// aliases
	c.Aliases = map[string]string{}
	if al := root.get("aliases"); al != nil && al.kind == kindMap {
		for _, name := range al.keys {
			v.withContext("aliases/"+name, func() { v.validateAlias(name, al.vals[name]) })
			c.Aliases[name] = al.vals[name].text()
		}
	}

	// boot
	if b := root.get("boot"); b != nil {
		v.withContext("boot", func() { v.validateBoot(b) })
		c.Boot = Boot{Limit: b.get("limit").text(), Wait: intOr(b.get("wait"), 0), ParallelRoles: boolOf(b.get("parallel_roles"))}
	}

	// builder
	bn := root.get("builder")
	if bn.isNull() {
		bn = &node{kind: kindMap, file: root.file}
	}
	v.withContext("builder", func() { v.validateBuilder(bn) })
	c.Builder = buildBuilder(bn)

	// root env
	if en := root.get("env"); en != nil {
		v.withContext("env", func() { v.validateEnv(en, true) })
		c.Env = buildEnv(en)
	}

	// root logging
	ln := root.get("logging")
	if ln != nil {
		v.withContext("logging", func() { v.validateAgainst(ln, loggingSchema, false) })
	}
	c.Logging = buildLogging(ln)

	// output
	if on := root.get("output"); on != nil {
		v.withContext("output", func() { v.validateAgainst(on, outputSchema, false) })
		c.Output = Output{OtelEndpoint: on.get("otel").get("endpoint").text(), FilePath: on.get("file").get("path").text()}
	}

	// root proxy
	if rootProxy != nil {
		v.withContext("proxy", func() {
			if rootProxy.kind == kindBool {
				v.validateType(rootProxy, "hash")
			}
			v.validateProxy(rootProxy)
		})
		if rootProxy.kind == kindMap {
			c.Proxy = buildProxy(rootProxy)
		}
	}

	// ssh, sshkit
	sn := root.get("ssh")
	if sn != nil {
		v.withContext("ssh", func() { v.validateAgainst(sn, sshSchema, false) })
	}
	c.SSH = buildSSH(v, sn)
	kn := root.get("sshkit")
	if kn != nil {
		v.withContext("sshkit", func() { v.validateAgainst(kn, sshkitSchema, false) })
	}
	c.SSHKit = SSHKit{
		MaxConcurrentStarts: intOr(kn.get("max_concurrent_starts"), 30),
		PoolIdleTimeout:     intOr(kn.get("pool_idle_timeout"), 900),
		DNSRetries:          intOr(kn.get("dns_retries"), 3),
		Raw:                 asMap(kn.toAny()),
	}

	// hooks_output
	c.HooksOutput = map[string]string{}
	if ho := root.get("hooks_output"); ho != nil {
		if ho.kind == kindMap {
			for _, k := range ho.keys {
				c.HooksOutput[k] = ho.vals[k].text()
			}
		} else if !ho.isNull() {
			c.HooksOutput["*"] = ho.text()
		}
	}

	ensureChecks(c, root)

	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c.versionFn = versionResolver(opts.Version, lookup, c.Builder.GitClone())
	attachSecrets(c)
	return c, nil
}

func ensureChecks(c *Config, root *node) {
	if c.RequireDestination && c.Destination == "" {
		raise(nil, KindArgument, "You must specify a destination")
	}
	for _, key := range []string{"service", "registry"} {
		if !root.get(key).present() {
			raise(nil, KindConfiguration, "Missing required configuration for %s", key)
		}
	}
	if strings.TrimSpace(c.Image) == "" {
		raise(nil, KindConfiguration, "Missing required configuration for image")
	}
	if root.get("servers") == nil {
		if !root.get("accessories").present() {
			raise(nil, KindConfiguration, "No servers or accessories specified")
		}
	} else {
		p := c.PrimaryRole()
		if p == nil {
			raise(root.get("servers"), KindConfiguration, "The primary_role %s isn't defined", c.PrimaryRoleName)
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
	if c.MinimumVersion != "" {
		mv := root.get("minimum_version")
		cmp, err := compareGemVersions(c.MinimumVersion, KamalVersion)
		if err != nil {
			raise(mv, KindArgument, "Malformed version number string %s", c.MinimumVersion)
		}
		if cmp > 0 {
			raise(mv, KindConfiguration, "Current version is %s, minimum required is %s", KamalVersion, c.MinimumVersion)
		}
	}
	if c.RetainContainers < 1 {
		raise(root.get("retain_containers"), KindConfiguration, "Must retain at least 1 container")
	}
	if !serviceNameRE.MatchString(c.Service) {
		raise(root.get("service"), KindConfiguration, "Service name can only include alphanumeric characters, hyphens, and underscores")
	}
	var traefik []string
	for _, h := range []string{"pre-traefik-reboot", "post-traefik-reboot"} {
		if _, err := os.Stat(filepath.Join(c.HooksPath, h)); err == nil {
			traefik = append(traefik, h)
		}
	}
	if len(traefik) > 0 {
		raise(nil, KindConfiguration, "Found %s, these should be renamed to (pre|post)-proxy-reboot", strings.Join(traefik, ", "))
	}
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
	if c.Registry.Local && c.Builder.Remote != "" {
		u, err := url.Parse(c.Builder.Remote)
		if err != nil || u.Scheme != "ssh" {
			raise(nil, KindConfiguration, "Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)")
		}
	}
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
	check := func(level, hook string) {
		if level == "quiet" || level == "verbose" {
			return
		}
		ctx := ""
		if hook != "" {
			ctx = fmt.Sprintf(" for hook '%s'", hook)
		}
		raise(root.get("hooks_output"), KindConfiguration, "Invalid hooks_output '%s'%s, must be one of: quiet, verbose", level, ctx)
	}
	if ho := root.get("hooks_output"); ho != nil {
		if ho.kind == kindMap {
			for _, k := range ho.keys {
				check(ho.vals[k].text(), k)
			}
		} else if !ho.isNull() {
			check(ho.text(), "")
		}
	}
}

var serviceNameRE = regexp.MustCompile(`(?i)^[a-z0-9_-]+$`)

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

func buildRoles(v *validator, c *Config, servers, rootLogging, rootProxy *node) []*Role {
	var names []string
	roleNodes := map[string]*node{}
	if servers.kind == kindSeq {
		names = []string{"web"}
		roleNodes["web"] = servers
	} else {
		names = append(names, servers.keys...)
		sort.Strings(names) // Kamal orders roles by name
		for _, k := range servers.keys {
			roleNodes[k] = servers.vals[k]
		}
	}
	var roles []*Role
	for _, name := range names {
		rn := roleNodes[name]
		ctx := "servers/" + name
		if servers.kind == kindSeq {
			rn = servers
		} else {
			v.withContext(ctx, func() { v.validateRole(rn) })
		}
		r := &Role{Name: name, service: c.Service, destination: c.Destination, Primary: name == c.PrimaryRoleName}
		var spec *node // the role's hash, nil for a plain host list
		hostList := rn
		if servers.kind != kindSeq && rn.kind == kindMap {
			spec = rn
			hostList = rn.get("hosts")
		}
		r.Hosts, r.HostTags = parseHosts(hostList)
		if spec != nil {
			if en := spec.get("env"); en != nil {
				v.withContext(ctx+"/env", func() { v.validateEnv(en, false) })
				r.Env = buildEnv(en)
			}
			if ln := spec.get("logging"); ln != nil {
				v.withContext(ctx+"/logging", func() { v.validateAgainst(ln, loggingSchema, false) })
			}
			r.Cmd = spec.get("cmd").text()
			r.Options, r.OptionsOrder = anyMap(spec.get("options"))
			r.StopTimeout = intPtr(spec.get("stop_timeout"))
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
		if spec != nil {
			lm, lo := stringMap(spec.get("labels"))
			for _, k := range lo {
				if _, ok := r.Labels[k]; !ok {
					r.LabelsOrder = append(r.LabelsOrder, k)
				}
				r.Labels[k] = lm[k]
			}
		}
		// logging: role deep-merged over root
		var roleLogging *node
		if spec != nil {
			roleLogging = spec.get("logging")
		}
		r.Logging = buildLogging(mergeMaps(rootLogging, roleLogging))
		// asset path
		ap := c.AssetPath
		if spec != nil && spec.get("asset_path").present() {
			ap = spec.get("asset_path").text()
		}
		r.AssetPath, r.AssetPathOptions, _ = strings.Cut(ap, ":")
		// proxy
		var ps *node
		if spec != nil {
			ps = spec.get("proxy")
		}
		running := false
		if r.Primary {
			running = !(ps != nil && ps.kind == kindBool && !ps.b)
		} else {
			running = ps != nil && !ps.isNull() && !(ps.kind == kindBool && !ps.b)
		}
		if running {
			specialized := ps
			if ps == nil || ps.kind != kindMap {
				specialized = &node{kind: kindMap}
			} else {
				v.withContext(ctx+"/proxy", func() { v.validateProxy(ps) })
			}
			base := rootProxy
			if base == nil || base.kind != kindMap {
				base = &node{kind: kindMap}
			}
			r.Proxy = buildProxy(deepMerge(base, specialized))
		}
		roles = append(roles, r)
	}
	return roles
}

func mergeMaps(base, over *node) *node {
	switch {
	case base == nil || base.kind != kindMap:
		return over
	case over == nil || over.kind != kindMap:
		return base
	}
	return deepMerge(base, over)
}

// parseHosts reads a host list; duplicate hosts keep their first position
// and the last tags (Ruby hash semantics).
func parseHosts(n *node) ([]string, map[string][]string) {
	tags := map[string][]string{}
	var hosts []string
	if n == nil || n.kind != kindSeq {
		return hosts, tags
	}
	for _, item := range n.seq {
		switch {
		case item.kind == kindMap && len(item.keys) > 0:
			host := item.keys[0]
			t := item.vals[host]
			var list []string
			if t.kind == kindSeq {
				list = stringList(t)
			} else if !t.isNull() {
				list = []string{t.text()}
			}
			if _, ok := tags[host]; !ok && !slices.Contains(hosts, host) {
				hosts = append(hosts, host)
			}
			tags[host] = list
		case item.stringish():
			host := item.text()
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

func buildRegistry(n *node) Registry {
	r := Registry{Server: n.get("server").text()}
	r.Username = credential(n.get("username"))
	r.Password = credential(n.get("password"))
	if isLocalRegistry(n.get("server")) {
		r.Local = true
		_, port, _ := strings.Cut(r.Server, ":")
		r.LocalPort, _ = strconv.Atoi(port)
	}
	return r
}

func credential(n *node) Value {
	if n == nil {
		return Value{}
	}
	if n.kind == kindSeq {
		if len(n.seq) > 0 {
			return Value{Secret: n.seq[0].text()}
		}
		return Value{}
	}
	return Value{Literal: n.text()}
}

func buildEnv(n *node) Env {
	e := Env{Clear: map[string]string{}}
	if n == nil || n.kind != kindMap {
		return e
	}
	clear := n
	if n.has("clear") || n.has("secret") || n.has("tags") {
		clear = n.get("clear")
	}
	e.Clear, e.ClearOrder = stringMap(clear)
	for _, s := range stringList(n.get("secret")) {
		name, key, _ := strings.Cut(s, ":")
		e.Secrets = append(e.Secrets, SecretRef{Name: name, Key: key})
	}
	if tags := n.get("tags"); tags != nil && tags.kind == kindMap {
		e.Tags = map[string]Env{}
		for _, t := range tags.keys {
			e.Tags[t] = buildEnv(tags.vals[t])
			e.TagsOrder = append(e.TagsOrder, t)
		}
	}
	return e
}

func buildLogging(n *node) Logging {
	l := Logging{Options: map[string]string{}}
	if n != nil && n.kind == kindMap {
		l.Driver = n.get("driver").text()
		l.Options, l.OptionsOrder = stringMap(n.get("options"))
	}
	if l.Driver == "" && len(l.OptionsOrder) == 0 {
		l.Options = map[string]string{"max-size": DefaultLogMaxSize}
		l.OptionsOrder = []string{"max-size"}
	}
	return l
}

func buildProxy(n *node) *Proxy {
	p := &Proxy{AppPort: intOr(n.get("app_port"), DefaultAppPort), Raw: asMap(n.toAny())}
	if hs := n.get("hosts"); hs.present() {
		for _, item := range hs.seq {
			if item.kind == kindMap && len(item.keys) > 0 {
				p.Hosts = append(p.Hosts, item.keys[0])
			} else {
				p.Hosts = append(p.Hosts, item.text())
			}
		}
	} else if h := n.get("host"); h.present() {
		p.Hosts = strings.Split(h.text(), ",")
	}
	if ssl := n.get("ssl"); ssl != nil {
		switch ssl.kind {
		case kindBool:
			p.SSL = ssl.b
		case kindMap:
			p.SSL = true
			p.SSLCertificate = ssl.get("certificate_pem").text()
			p.SSLPrivateKey = ssl.get("private_key_pem").text()
		}
	}
	p.SSLRedirect = boolPtr(n.get("ssl_redirect"))
	p.ForwardHeaders = boolPtr(n.get("forward_headers"))
	p.ResponseTimeout = intPtr(n.get("response_timeout"))
	if pp := n.get("path_prefixes"); pp.present() {
		p.PathPrefixes = stringList(pp)
	} else if pp := n.get("path_prefix"); pp.present() {
		p.PathPrefixes = strings.Split(pp.text(), ",")
	}
	p.StripPathPrefix = boolPtr(n.get("strip_path_prefix"))
	if hc := n.get("healthcheck"); hc != nil && hc.kind == kindMap {
		p.Healthcheck = &ProxyHealthcheck{Interval: intPtr(hc.get("interval")), Timeout: intPtr(hc.get("timeout")), Path: hc.get("path").text()}
	}
	if b := n.get("buffering"); b != nil && b.kind == kindMap {
		p.Buffering = ProxyBuffering{
			Requests: boolPtr(b.get("requests")), Responses: boolPtr(b.get("responses")),
			MaxRequestBody: intPtr(b.get("max_request_body")), MaxResponseBody: intPtr(b.get("max_response_body")),
			Memory: intPtr(b.get("memory")),
		}
	}
	if l := n.get("logging"); l != nil && l.kind == kindMap {
		if l.has("request_headers") && !l.get("request_headers").isNull() {
			p.Logging.RequestHeaders = stringList(l.get("request_headers"))
			if p.Logging.RequestHeaders == nil {
				p.Logging.RequestHeaders = []string{}
			}
		}
		p.Logging.ResponseHeaders = stringList(l.get("response_headers"))
	}
	if run := n.get("run"); run != nil && run.kind == kindMap {
		r := &ProxyRun{
			HTTPPort:    intOr(run.get("http_port"), 80),
			HTTPSPort:   intOr(run.get("https_port"), 443),
			MetricsPort: intPtr(run.get("metrics_port")),
			Debug:       boolOf(run.get("debug")),
			LogMaxSize:  strOr(run.get("log_max_size"), DefaultLogMaxSize),
			Publish:     true,
			BindIPs:     stringList(run.get("bind_ips")),
			Registry:    run.get("registry").text(),
			Repository:  strOr(run.get("repository"), "basecamp/kamal-proxy"),
			Version:     strOr(run.get("version"), DefaultProxyVersion),
			Raw:         asMap(run.toAny()),
		}
		if pb := run.get("publish"); pb != nil && pb.kind == kindBool {
			r.Publish = pb.b
		}
		r.Options, r.OptionsOrder = anyMap(run.get("options"))
		p.Run = r
	}
	return p
}

// DefaultProxyVersion is the kamal-proxy image version Kamal requires at least.
const DefaultProxyVersion = "v0.9.2"

func buildAccessory(v *validator, c *Config, root *node, name string, n, keyNode *node) *Accessory {
	ctx := "accessories/" + name
	if n.isNull() {
		// point the error at the key: a null value has no useful position
		n = &node{kind: kindNull, file: keyNode.file, line: keyNode.line}
	}
	v.withContext(ctx, func() { v.validateAccessory(n) })
	a := &Accessory{Name: name, Network: strOr(n.get("network"), DefaultNetwork), Raw: asMap(n.toAny())}
	a.Service = strOr(n.get("service"), c.Service+"-"+name)
	// host targeting
	switch {
	case n.has("host"):
		a.Hosts = []string{n.get("host").text()}
	case n.has("hosts"):
		for _, item := range n.get("hosts").seq {
			if item.kind == kindMap && len(item.keys) > 0 {
				a.Hosts = appendUnique(a.Hosts, item.keys[0])
			} else {
				a.Hosts = appendUnique(a.Hosts, item.text())
			}
		}
	case n.has("role"):
		rn := n.get("role").text()
		r := c.Role(rn)
		if r == nil {
			raise(n.get("role"), KindConfiguration, "%s: unknown role %s", ctx, rn)
		}
		a.Hosts = append([]string(nil), r.Hosts...)
	case n.has("roles"):
		var missing []string
		for _, rn := range stringList(n.get("roles")) {
			r := c.Role(rn)
			if r == nil {
				missing = append(missing, rn)
				continue
			}
			a.Hosts = appendUnique(a.Hosts, r.Hosts...)
		}
		if len(missing) > 0 {
			raise(n.get("roles"), KindConfiguration, "%s: unknown roles %s", ctx, strings.Join(missing, ", "))
		}
	case n.has("tag"):
		a.Hosts = hostsWithTags(root.get("servers"), []string{n.get("tag").text()})
	case n.has("tags"):
		a.Hosts = hostsWithTags(root.get("servers"), stringList(n.get("tags")))
	}
	a.Cmd = n.get("cmd").text()
	a.Port = n.get("port").text()
	a.Labels, a.LabelsOrder = stringMap(n.get("labels"))
	a.Options, a.OptionsOrder = anyMap(n.get("options"))
	if en := n.get("env"); en != nil {
		v.withContext(ctx+"/env", func() { v.validateEnv(en, false) })
		a.Env = buildEnv(en)
	} else {
		a.Env = Env{Clear: map[string]string{}}
	}
	a.Files = pathList(n.get("files"), "755")
	a.Directories = pathList(n.get("directories"), "")
	a.Volumes = stringList(n.get("volumes"))
	if pn := n.get("proxy"); pn.present() {
		v.withContext(ctx+"/proxy", func() {
			v.validateType(pn, "hash")
			v.validateProxy(pn)
		})
		a.Proxy = buildProxy(pn)
	}
	image := n.get("image").text()
	if rn := n.get("registry"); rn.present() {
		v.withContext(ctx+"/registry", func() { v.validateRegistry(rn) })
		reg := buildRegistry(rn)
		a.Registry = &reg
		if reg.Server != "" {
			image = reg.Server + "/" + image
		}
	}
	a.Image = image
	return a
}

// hostsWithTags finds the hosts tagged with any of tags across all roles.
func hostsWithTags(servers *node, tags []string) []string {
	var hosts []string
	if servers == nil || servers.kind != kindMap {
		return hosts
	}
	for _, tag := range tags {
		for _, role := range servers.keys {
			rn := servers.vals[role]
			list := rn
			if rn.kind == kindMap {
				list = rn.get("hosts")
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

func pathList(n *node, defaultMode string) []AccessoryFile {
	var out []AccessoryFile
	if n == nil || n.kind != kindSeq {
		return out
	}
	for _, item := range n.seq {
		if item.kind == kindMap {
			out = append(out, AccessoryFile{
				Local: item.get("local").text(), Remote: item.get("remote").text(),
				Mode: strOr(item.get("mode"), defaultMode), Owner: item.get("owner").text(),
				Options: item.get("options").text(),
			})
			continue
		}
		parts := strings.SplitN(item.text(), ":", 3)
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

func buildBuilder(n *node) Builder {
	b := Builder{
		Remote:     n.get("remote").text(),
		Local:      true,
		Dockerfile: strOr(n.get("dockerfile"), DefaultDockerfile),
		Target:     n.get("target").text(),
		SSH:        n.get("ssh").text(),
		Driver:     strOr(n.get("driver"), DefaultBuilderDriver),
		Secrets:    stringList(n.get("secrets")),
		Raw:        asMap(n.toAny()),
	}
	if a := n.get("arch"); a != nil {
		if a.kind == kindSeq {
			b.Arch = stringList(a)
		} else if !a.isNull() {
			b.Arch = []string{a.text()}
		}
	}
	if l := n.get("local"); l != nil && l.kind == kindBool {
		b.Local = l.b
	}
	if ctx := n.get("context"); ctx != nil && !ctx.isNull() {
		b.Context = ctx.text()
		b.contextSet = true
	}
	if p := n.get("pack"); p != nil && p.kind == kindMap {
		b.Pack = &BuilderPack{Builder: p.get("builder").text(), Buildpacks: stringList(p.get("buildpacks"))}
	}
	if cn := n.get("cache"); cn != nil && cn.kind == kindMap {
		b.Cache = &BuilderCache{Type: cn.get("type").text(), Options: cn.get("options").text(), Image: cn.get("image").text()}
	}
	b.Args, b.ArgsOrder = stringMap(n.get("args"))
	if pv := n.get("provenance"); pv != nil && !pv.isNull() {
		b.Provenance = pv.text()
	}
	if sb := n.get("sbom"); sb != nil && !sb.isNull() {
		b.SBOM = sb.text()
	}
	return b
}

func buildSSH(v *validator, n *node) SSH {
	s := SSH{
		User:         strOr(n.get("user"), DefaultSSHUser),
		Port:         DefaultSSHPort,
		Proxy:        n.get("proxy").text(),
		ProxyCommand: n.get("proxy_command").text(),
		LogLevel:     strOr(n.get("log_level"), DefaultSSHLogLevel),
		KeysOnly:     boolPtr(n.get("keys_only")),
		Keys:         stringList(n.get("keys")),
		KeyData:      stringList(n.get("key_data")),
		ForwardAgent: boolPtr(n.get("forward_agent")),
	}
	if p := n.get("port"); p != nil && !p.isNull() {
		port, err := strconv.Atoi(strings.TrimSpace(p.text()))
		if err != nil || port < 1 || port > 65535 {
			v.withContext("ssh/port", func() { v.fail(p, "should be a port number") })
		}
		s.Port = port
	}
	if cfg := n.get("config"); cfg != nil {
		switch cfg.kind {
		case kindBool:
			b := cfg.b
			s.LoadConfig = &b
		case kindString:
			t := true
			s.LoadConfig = &t
			s.ConfigFiles = []string{cfg.str}
		case kindSeq:
			t := true
			s.LoadConfig = &t
			s.ConfigFiles = stringList(cfg)
		}
	}
	return s
}

// helpers converting nodes to Go values

func strOr(n *node, def string) string {
	if n == nil || n.isNull() {
		return def
	}
	return n.text()
}

func intOr(n *node, def int) int {
	if n == nil || n.kind != kindInt {
		return def
	}
	return int(n.i)
}

func intPtr(n *node) *int {
	if n == nil || n.kind != kindInt {
		return nil
	}
	i := int(n.i)
	return &i
}

func boolOf(n *node) bool { return n != nil && n.kind == kindBool && n.b }

func boolPtr(n *node) *bool {
	if n == nil || n.kind != kindBool {
		return nil
	}
	b := n.b
	return &b
}

func stringList(n *node) []string {
	if n == nil || n.kind != kindSeq {
		return nil
	}
	out := make([]string, 0, len(n.seq))
	for _, item := range n.seq {
		out = append(out, item.text())
	}
	return out
}

func stringMap(n *node) (map[string]string, []string) { return mapOf(n, (*node).text) }
func anyMap(n *node) (map[string]any, []string)       { return mapOf(n, (*node).toAny) }

// mapOf converts a mapping's values with conv and returns its keys in file
// order (Go maps lose it); anything but a mapping gives an empty map.
func mapOf[T any](n *node, conv func(*node) T) (map[string]T, []string) {
	m := map[string]T{}
	if n == nil || n.kind != kindMap {
		return m, nil
	}
	order := make([]string, 0, len(n.keys))
	for _, k := range n.keys {
		m[k] = conv(n.vals[k])
		order = append(order, k)
	}
	return m, order
}

func asMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalAny(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalAny(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// compareGemVersions compares like Gem::Version: numeric segments compare as
// numbers, a letter segment marks a prerelease (lower than the release).
func compareGemVersions(a, b string) (int, error) {
	sa, err := gemSegments(a)
	if err != nil {
		return 0, err
	}
	sb, err := gemSegments(b)
	if err != nil {
		return 0, err
	}
	// trailing zeros do not count
	trim := func(s []any) []any {
		for len(s) > 0 {
			if n, ok := s[len(s)-1].(int); ok && n == 0 {
				s = s[:len(s)-1]
				continue
			}
			break
		}
		return s
	}
	sa, sb = trim(sa), trim(sb)
	for i := 0; i < max(len(sa), len(sb)); i++ {
		var x, y any = 0, 0
		if i < len(sa) {
			x = sa[i]
		}
		if i < len(sb) {
			y = sb[i]
		}
		xi, xnum := x.(int)
		yi, ynum := y.(int)
		switch {
		case xnum && ynum:
			if xi != yi {
				return cmpInt(xi, yi), nil
			}
		case xnum && !ynum:
			return 1, nil
		case !xnum && ynum:
			return -1, nil
		default:
			if xs, ys := x.(string), y.(string); xs != ys {
				return strings.Compare(xs, ys), nil
			}
		}
	}
	return 0, nil
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

var gemVersionRE = regexp.MustCompile(`^\s*[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$`)
var gemSegRE = regexp.MustCompile(`[0-9]+|[a-zA-Z]+`)

func gemSegments(v string) ([]any, error) {
	if !gemVersionRE.MatchString(v) {
		return nil, fmt.Errorf("malformed version %q", v)
	}
	v = strings.ReplaceAll(strings.TrimSpace(v), "-", ".pre.")
	var out []any
	for _, s := range gemSegRE.FindAllString(v, -1) {
		if n, err := strconv.Atoi(s); err == nil {
			out = append(out, n)
		} else {
			out = append(out, s)
		}
	}
	return out, nil
}
