// Package config loads, validates and models a Kamal deploy configuration
// (config/deploy.yml plus an optional destination file).
//
// Loading goes: read the file(s) (load.go), render ERB (package erb), parse
// the YAML as Ruby's Psych does (package rubyyaml), merge the destination
// file, validate the whole tree (validate, one function per section), build
// the typed model (newConfig, one function per section), then run Kamal's
// cross-section checks (checks.go). Each section (servers and roles, proxy,
// accessories, builder, registry, ssh, env, ...) lives in its own file with
// its type, defaults, schema, validation, building and `kamal config`
// output.
//
// The model is read-only after Load returns, except for SetVersion. Every
// command builder and orchestration works from a *Config.
package config

import (
	"os"
	"sync"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
	"github.com/kamalgo/kamal/internal/secrets"
)

// Defaults of the root settings.
const (
	DefaultRetainContainers = 5
	DefaultReadinessDelay   = 7
	DefaultDeployTimeout    = 30
	DefaultDrainTimeout     = 30
	DefaultSecretsPath      = ".kamal/secrets"
	DefaultNetwork          = "kamal"
	DefaultRunDirectory     = ".kamal"
)

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

	root *rubyyaml.Node // merged raw tree, with symbols and key order (for `kamal config`)

	versionMu       sync.Mutex
	version         string
	versionResolved bool
	versionFn       func() (string, error) // resolves the git version
}

// The root keys, in the order of Kamal's documentation.
var rootSchema = []field{
	f("service", tString),
	f("image", tString),
	f("labels", tLabels),
	f("volumes", tStringArray),
	f("registry", tSection),
	f("servers", tServers),
	f("env", tSection),
	f("asset_path", tString),
	f("hooks_path", tString),
	f("hooks_output", tHooksOutput),
	f("secrets_path", tString),
	f("error_pages_path", tString),
	f("require_destination", tBool),
	f("primary_role", tString),
	f("allow_empty_roles", tBool),
	f("retain_containers", tInt),
	f("minimum_version", tString),
	f("readiness_delay", tInt),
	f("deploy_timeout", tInt),
	f("drain_timeout", tInt),
	f("stop_timeout", tInt),
	f("run_directory", tString),
	f("ssh", tSection),
	f("builder", tSection),
	f("accessories", tSection),
	f("proxy", tSection),
	f("sshkit", tSection),
	f("boot", tSection),
	f("logging", tSection),
	f("output", tSection),
	f("aliases", tSection),
}

// build validates the merged tree, models it and runs the cross-section
// checks, stopping at the first problem.
func build(root *rubyyaml.Node, opts LoadOptions) (*Config, error) {
	if err := ValidateDestination(opts.Destination); err != nil {
		return nil, err
	}
	if err := validate(root); err != nil {
		return nil, err
	}
	c := newConfig(root, opts)
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// validate checks every section of the tree, in the order Kamal does, so a
// config with several problems reports the same first one.
func validate(root *rubyyaml.Node) (err error) {
	defer catchCheck(&err)
	v := &validator{}
	v.validateAgainst(root, rootSchema, true)
	v.validateLabels(root.Get("labels"))
	v.validateServersSection(root)
	v.withContext("registry", func() { v.validateRegistry(sectionOrEmpty(root, "registry")) })
	v.validateAccessories(root)
	v.validateAliases(root.Get("aliases"))
	v.validateBoot(root.Get("boot"))
	v.validateBuilder(sectionOrEmpty(root, "builder"))
	v.validateRootEnv(root.Get("env"))
	v.validateLogging("logging", root.Get("logging"))
	v.validateOutput(root.Get("output"))
	v.validateRootProxy(root.Get("proxy"))
	v.validateSSH(root.Get("ssh"))
	v.validateSSHKit(root.Get("sshkit"))
	return nil
}

// sectionOrEmpty returns the section key of root, or an empty hash in
// root's file when it is missing or null: Kamal validates those as {}.
func sectionOrEmpty(root *rubyyaml.Node, key string) *rubyyaml.Node {
	if n := root.Get(key); !n.IsNull() {
		return n
	}
	return &rubyyaml.Node{Kind: rubyyaml.Map, File: root.File}
}

// newConfig builds the model from a validated tree.
func newConfig(root *rubyyaml.Node, opts LoadOptions) *Config {
	c := &Config{
		Destination:        opts.Destination,
		Service:            root.Get("service").Text(),
		Raw:                rawMap(root),
		root:               root,
		RunDirectory:       DefaultRunDirectory,
		HooksPath:          strOr(root.Get("hooks_path"), DefaultHooksPath),
		SecretsPath:        strOr(root.Get("secrets_path"), DefaultSecretsPath),
		PrimaryRoleName:    primaryRoleName(root),
		AssetPath:          root.Get("asset_path").Text(),
		ErrorPagesPath:     root.Get("error_pages_path").Text(),
		MinimumVersion:     root.Get("minimum_version").Text(),
		RetainContainers:   intOr(root.Get("retain_containers"), DefaultRetainContainers),
		ReadinessDelay:     intOr(root.Get("readiness_delay"), DefaultReadinessDelay),
		DeployTimeout:      intOr(root.Get("deploy_timeout"), DefaultDeployTimeout),
		DrainTimeout:       intOr(root.Get("drain_timeout"), DefaultDrainTimeout),
		StopTimeout:        intPtr(root.Get("stop_timeout")),
		RequireDestination: boolOf(root.Get("require_destination")),
		AllowEmptyRoles:    boolOf(root.Get("allow_empty_roles")),
		Volumes:            stringList(root.Get("volumes")),
	}
	c.Labels, c.LabelsOrder = stringMap(root.Get("labels"))
	if servers := root.Get("servers"); servers != nil {
		c.Servers = c.buildRoles(servers, root.Get("logging"), root.Get("proxy"))
	}
	c.Registry = buildRegistry(root.Get("registry"))
	c.Image = root.Get("image").Text()
	if c.Image == "" && c.Registry.Local {
		c.Image = c.Service
	}
	c.Accessories = c.buildAccessories(root)
	c.Aliases = buildAliases(root.Get("aliases"))
	c.Boot = buildBoot(root.Get("boot"))
	c.Builder = buildBuilder(root.Get("builder"))
	if en := root.Get("env"); en != nil {
		c.Env = buildEnv(en)
	}
	c.Logging = buildLogging(root.Get("logging"))
	c.Output = buildOutput(root.Get("output"))
	if p := root.Get("proxy"); p != nil && p.Kind == rubyyaml.Map {
		c.Proxy = buildProxy(p)
	}
	c.SSH = buildSSH(root.Get("ssh"))
	c.SSHKit = buildSSHKit(root.Get("sshkit"))
	c.HooksOutput = buildHooksOutput(root.Get("hooks_output"))

	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	git := opts.Git
	if git == nil {
		git = runGit
	}
	c.versionFn = versionResolver(opts.Version, lookup, git, c.Builder.GitClone())
	c.Secrets = secrets.New(c.SecretsPath, c.Destination)
	return c
}

// SecretLookup returns a lookup function over the config's secrets, for
// Value.Resolve.
func (c *Config) SecretLookup() func(name string) (string, error) {
	return func(name string) (string, error) { return c.Secrets.Get(name) }
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
