// Package config loads, validates and models a Kamal deploy configuration
// (config/deploy.yml plus an optional destination file).
//
// The model is read-only after Load returns, except for SetVersion. Every
// command builder and orchestration works from a *Config.
package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kamalgo/kamal/internal/secrets"
)

// Defaults from Kamal (configuration.rb and friends).
const (
	DefaultConfigFile       = "config/deploy.yml"
	DefaultRetainContainers = 5
	DefaultReadinessDelay   = 7
	DefaultDeployTimeout    = 30
	DefaultDrainTimeout     = 30
	DefaultHooksPath        = ".kamal/hooks"
	DefaultSecretsPath      = ".kamal/secrets"
	DefaultPrimaryRole      = "web"
	DefaultNetwork          = "kamal"
	DefaultRunDirectory     = ".kamal"
	DefaultAppPort          = 80
	DefaultSSHUser          = "root"
	DefaultSSHPort          = 22
	DefaultSSHLogLevel      = "fatal"
	DefaultBuilderDriver    = "docker-container"
	DefaultDockerfile       = "Dockerfile"
	DefaultLogMaxSize       = "10m"
)

// DefaultProxyLogRequestHeaders are the request headers kamal-proxy logs
// when proxy.logging.request_headers is not set.
var DefaultProxyLogRequestHeaders = []string{"Cache-Control", "Last-Modified", "User-Agent"}

// LoadOptions says which configuration to load.
type LoadOptions struct {
	ConfigFile  string                      // default "config/deploy.yml"
	Destination string                      // -d; also reads config/deploy.<dest>.yml
	Version     string                      // --version; else $VERSION; else git
	LookupEnv   func(string) (string, bool) // nil: os.LookupEnv
}

// Config is a loaded, validated Kamal configuration.
type Config struct {
	Service     string
	Image       string // with a local registry and no image: the service name
	Destination string

	Servers     []*Role // roles sorted by name, as Kamal orders them; a plain host list means one role "web"
	Env         Env     // root env
	Registry    Registry
	Builder     Builder
	SSH         SSH
	SSHKit      SSHKit
	Boot        Boot
	Logging     Logging // root logging (options default to max-size=10m when unset)
	Proxy       *Proxy  // root proxy section (nil if absent)
	Accessories []*Accessory
	Aliases     map[string]string
	Output      Output

	Labels      map[string]string
	LabelsOrder []string // keys of Labels in file order
	Volumes     []string

	AssetPath       string
	HooksPath       string // default .kamal/hooks
	SecretsPath     string // default .kamal/secrets
	ErrorPagesPath  string
	PrimaryRoleName string // default web
	MinimumVersion  string
	RunDirectory    string // always ".kamal" (Kamal ignores run_directory)

	HooksOutput map[string]string // hook name (or "*") -> quiet|verbose

	RequireDestination bool
	AllowEmptyRoles    bool

	RetainContainers int // default 5
	ReadinessDelay   int // default 7
	DeployTimeout    int // default 30
	DrainTimeout     int // default 30
	StopTimeout      *int

	Secrets *secrets.Secrets // secrets.New(SecretsPath, Destination); read lazily on first use
	Raw     map[string]any   // merged raw config (for `kamal config`)

	root *node // merged raw tree, with symbols and key order (for `kamal config`)

	versionMu       sync.Mutex
	version         string
	versionResolved bool
	versionFn       func() (string, error) // resolves the git version
}

// Version returns the app version: --version, $VERSION, or the git commit
// (with an _uncommitted_<hex> suffix when building from a dirty checkout).
// Git runs only on first use.
func (c *Config) Version() (string, error) {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	if c.versionResolved {
		return c.version, nil
	}
	if c.versionFn == nil {
		return "", fmt.Errorf("no version available")
	}
	v, err := c.versionFn()
	if err != nil {
		return "", err
	}
	c.version, c.versionResolved = v, true
	return v, nil
}

// SetVersion forces the version (rollback, `version_or_latest`).
func (c *Config) SetVersion(v string) {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	c.version, c.versionResolved = v, true
}

// AbbreviatedVersion is the first 7 characters of the version, or the whole
// version when it contains "_" (uncommitted builds).
func (c *Config) AbbreviatedVersion() (string, error) {
	v, err := c.Version()
	if err != nil {
		return "", err
	}
	if strings.Contains(v, "_") || len(v) <= 7 {
		return v, nil
	}
	return v[:7], nil
}

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

// AllHosts returns the hosts of all roles (in role order) and then of all
// accessories, unique, as Kamal's all_hosts.
func (c *Config) AllHosts() []string {
	var hosts []string
	for _, r := range c.Servers {
		hosts = appendUnique(hosts, r.Hosts...)
	}
	for _, a := range c.Accessories {
		hosts = appendUnique(hosts, a.Hosts...)
	}
	return hosts
}

// AppHosts returns the hosts of all roles, unique, primary-role hosts first.
func (c *Config) AppHosts() []string {
	var hosts []string
	if p := c.PrimaryRole(); p != nil {
		hosts = appendUnique(hosts, p.Hosts...)
	}
	for _, r := range c.Servers {
		hosts = appendUnique(hosts, r.Hosts...)
	}
	return hosts
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

// Repository is [registry.server, image].compact.join("/").
func (c *Config) Repository() string {
	if c.Registry.Server != "" {
		return c.Registry.Server + "/" + c.Image
	}
	return c.Image
}

// AbsoluteImage is <repository>:<version>.
func (c *Config) AbsoluteImage() (string, error) {
	v, err := c.Version()
	if err != nil {
		return "", err
	}
	return c.Repository() + ":" + v, nil
}

// LatestTag is "latest", or "latest-<destination>".
func (c *Config) LatestTag() string {
	if c.Destination != "" {
		return "latest-" + c.Destination
	}
	return "latest"
}

// LatestImage is <repository>:<latest tag>.
func (c *Config) LatestImage() string { return c.Repository() + ":" + c.LatestTag() }

// ServiceWithVersion is <service>-<version>.
func (c *Config) ServiceWithVersion() (string, error) {
	v, err := c.Version()
	if err != nil {
		return "", err
	}
	return c.Service + "-" + v, nil
}

// ServiceAndDestination is <service>[-<destination>] (lock directory, env paths).
func (c *Config) ServiceAndDestination() string {
	if c.Destination != "" {
		return c.Service + "-" + c.Destination
	}
	return c.Service
}

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
	return nil, fmt.Errorf("No accessory by the name of '%s' (options: %s)", name, ToSentence(names))
}

// HookOutput returns "quiet", "verbose" or "" (default) for hook name.
func (c *Config) HookOutput(name string) string {
	if v, ok := c.HooksOutput[name]; ok {
		return v
	}
	return c.HooksOutput["*"]
}

// RoleEnv returns the env of role on host: root env, then the role env, then
// the env of each tag of the host (in the host's tag order), later winning.
func (c *Config) RoleEnv(role *Role, host string) Env {
	env := c.Env.withoutTags().Merge(role.Env)
	for _, tag := range role.HostTags[host] {
		if t, ok := c.Env.Tags[tag]; ok {
			env = env.Merge(t)
		}
	}
	return env
}

// BootGroups splits the app hosts (primary-role hosts first) into the groups
// booted together, as set by boot.limit.
func (c *Config) BootGroups(hosts []string) [][]string {
	size := c.Boot.GroupSize(len(c.AllHosts()))
	if size <= 0 || size >= len(hosts) {
		if len(hosts) == 0 {
			return nil
		}
		return [][]string{hosts}
	}
	var groups [][]string
	for i := 0; i < len(hosts); i += size {
		end := min(i+size, len(hosts))
		groups = append(groups, hosts[i:end])
	}
	return groups
}

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

// Env is an env section: clear values, secret names, and (root only) tags.
type Env struct {
	Clear      map[string]string
	ClearOrder []string    // keys of Clear in order
	Secrets    []SecretRef // in order
	Tags       map[string]Env
	TagsOrder  []string
}

// SecretRef names an env var filled from a secret: NAME, or NAME:KEY where
// KEY is the secret to read.
type SecretRef struct{ Name, Key string }

// SecretKey is the name of the secret to look up.
func (s SecretRef) SecretKey() string {
	if s.Key != "" {
		return s.Key
	}
	return s.Name
}

// String gives the config form, NAME or NAME:KEY.
func (s SecretRef) String() string {
	if s.Key != "" {
		return s.Name + ":" + s.Key
	}
	return s.Name
}

// Merge returns e with o over it: clear values merge (o wins, first position
// kept), secrets are a union in order. Tags are not merged.
func (e Env) Merge(o Env) Env {
	out := Env{Clear: map[string]string{}}
	for _, k := range e.ClearOrder {
		out.Clear[k] = e.Clear[k]
		out.ClearOrder = append(out.ClearOrder, k)
	}
	for _, k := range o.ClearOrder {
		if _, ok := out.Clear[k]; !ok {
			out.ClearOrder = append(out.ClearOrder, k)
		}
		out.Clear[k] = o.Clear[k]
	}
	seen := map[string]bool{}
	for _, s := range append(append([]SecretRef{}, e.Secrets...), o.Secrets...) {
		if !seen[s.String()] {
			seen[s.String()] = true
			out.Secrets = append(out.Secrets, s)
		}
	}
	return out
}

func (e Env) withoutTags() Env { e.Tags, e.TagsOrder = nil, nil; return e }

// Value is a registry credential: a literal, or the name of a secret (given
// in the config as a one-element list).
type Value struct {
	Literal string
	Secret  string // secret name when set
}

// IsSecret reports whether the value comes from a secret.
func (v Value) IsSecret() bool { return v.Secret != "" }

// IsZero reports whether nothing was configured.
func (v Value) IsZero() bool { return v.Literal == "" && v.Secret == "" }

// Resolve returns the literal, or the secret looked up with lookup.
func (v Value) Resolve(lookup func(name string) (string, error)) (string, error) {
	if v.Secret == "" {
		return v.Literal, nil
	}
	return lookup(v.Secret)
}

// Registry is the registry section (root or accessory).
type Registry struct {
	Server    string
	Username  Value
	Password  Value
	Local     bool // server is localhost:<port>: a local registry is run and port-forwarded
	LocalPort int  // the port of a local registry
}

// Builder is the builder section.
type Builder struct {
	Arch       []string // amd64 / arm64
	Remote     string   // ssh://... remote builder
	Local      bool     // default true
	Pack       *BuilderPack
	Cache      *BuilderCache
	Context    string // "" means: build from a git clone
	Dockerfile string // default Dockerfile
	Target     string
	Args       map[string]string
	ArgsOrder  []string
	Secrets    []string // secret names exported to the build
	SSH        string
	Driver     string // default docker-container
	Provenance string // "" unset; "true"/"false" or a spec such as mode=max
	SBOM       string // "" unset; "true"/"false" or a spec
	Raw        map[string]any
	contextSet bool
}

// BuilderPack configures Cloud Native Buildpacks builds.
type BuilderPack struct {
	Builder    string
	Buildpacks []string
}

// BuilderCache configures the build cache.
type BuilderCache struct {
	Type    string // gha or registry
	Options string
	Image   string // registry cache image; default <image>-build-cache
}

// GitClone reports whether builds run from a fresh git clone (no context set).
func (b Builder) GitClone() bool { return !b.contextSet }

// ContextSet reports whether builder.context was given.
func (b Builder) ContextSet() bool { return b.contextSet }

// SSH holds the ssh section.
type SSH struct {
	User         string // default root
	Port         int    // default 22
	Proxy        string // jump host, host or user@host
	ProxyCommand string
	LogLevel     string // default fatal
	KeysOnly     *bool
	Keys         []string
	KeyData      []string // names of secrets holding private keys
	// Config: nil means the default (load the standard OpenSSH files);
	// false disables them; a list names the files.
	LoadConfig   *bool
	ConfigFiles  []string
	ForwardAgent *bool
}

// SSHKit holds connection pool settings.
type SSHKit struct {
	MaxConcurrentStarts int // default 30
	PoolIdleTimeout     int // seconds, default 900
	DNSRetries          int // default 3
	Raw                 map[string]any
}

// Boot controls rolling boots.
type Boot struct {
	Limit         string // "N" or "N%"; "" means all at once
	Wait          int    // seconds between groups
	ParallelRoles bool
}

// GroupSize returns how many hosts boot together given the number of all
// hosts (app + accessory, as in Kamal). 0 means no limit.
func (b Boot) GroupSize(allHosts int) int {
	if b.Limit == "" {
		return 0
	}
	if p, ok := strings.CutSuffix(b.Limit, "%"); ok {
		n, _ := strconv.Atoi(p)
		return max(allHosts*n/100, 1)
	}
	n, _ := strconv.Atoi(b.Limit)
	return n
}

// Logging is a docker logging section.
type Logging struct {
	Driver       string
	Options      map[string]string
	OptionsOrder []string
}

// Pairs returns the docker run logging arguments, e.g.
// ["--log-opt", `max-size="10m"`] in unescaped form: pairs of flag and
// key=value (values are NOT shell-escaped; command builders escape them).
func (l Logging) Pairs() [][2]string {
	var out [][2]string
	if l.Driver != "" {
		out = append(out, [2]string{"--log-driver", l.Driver})
	}
	for _, k := range l.OptionsOrder {
		out = append(out, [2]string{"--log-opt", k + "=" + l.Options[k]})
	}
	return out
}

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

// Output holds the optional output section.
type Output struct {
	OtelEndpoint string
	FilePath     string
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// ToSentence joins like Ruby's Array#to_sentence: "a", "a and b", "a, b, and c".
func ToSentence(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", and " + items[len(items)-1]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
