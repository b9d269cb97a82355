package commands

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
)

// kamal-proxy container and host layout.
const (
	ProxyContainer          = "kamal-proxy"
	ProxyImageDefault       = "basecamp/kamal-proxy"
	ProxyDirectory          = ".kamal/proxy"
	ProxyAppsDirectory      = ".kamal/proxy/apps-config"
	ProxyAppsContainerDir   = "/home/kamal-proxy/.apps-config"
	ProxyOptionsFile        = ".kamal/proxy/options"
	ProxyImageFile          = ".kamal/proxy/image"
	ProxyImageVersionFile   = ".kamal/proxy/image_version"
	ProxyRunCommandFile     = ".kamal/proxy/run_command"
	proxyConfigVolume       = "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy"
	proxyImageTitleLabel    = "label=org.opencontainers.image.title=kamal-proxy"
	traefikImageTitleFilter = "label=org.opencontainers.image.title=Traefik"
)

// ProxyDefaultOptions are the boot options used when .kamal/proxy/options
// does not exist.
const ProxyDefaultOptions = "--publish 80:80 --publish 443:443 --log-opt max-size=10m"

// Proxy builds the kamal-proxy container commands for one host. run is the
// host's proxy `run:` settings, or nil for the legacy boot_config files.
type Proxy struct {
	run *config.ProxyRun
}

// NewProxy returns the proxy builder for host.
func NewProxy(cfg *config.Config, host string) *Proxy {
	return &Proxy{run: cfg.ProxyRunForHost(host)}
}

// CreateNetwork is `docker network create kamal` (an "already exists"
// error is fine).
func CreateNetwork() Cmd { return New("docker", "network", "create", config.DefaultNetwork) }

// Version prints the running proxy's image tag.
func (p *Proxy) Version() Cmd {
	return Pipe(
		New("docker", "inspect", ProxyContainer, "--format", "'{{.Config.Image}}'"),
		New("awk", "-F:", "'{print $NF}'"),
	)
}

// State prints kamal-proxy's container state and image ("running
// basecamp/kamal-proxy:v0.9.2"), nothing when there is no container.
func (p *Proxy) State() Cmd {
	return New("docker", "container", "ls", "--all", "--filter", q("name=^"+ProxyContainer+"$"), "--format", "'{{.State}} {{.Image}}'")
}

// EnsureAppsDirectory is `mkdir -p .kamal/proxy/apps-config`.
func (p *Proxy) EnsureAppsDirectory() Cmd { return New("mkdir", "-p", ProxyAppsDirectory) }

// Start is `docker container start kamal-proxy`.
func (p *Proxy) Start() Cmd { return New("docker", "container", "start", ProxyContainer) }

// Stop is `docker container stop kamal-proxy`.
func (p *Proxy) Stop() Cmd { return New("docker", "container", "stop", ProxyContainer) }

// StartOrRun starts the existing container or runs a new one.
func (p *Proxy) StartOrRun() Cmd { return Any(p.Start(), p.Run()) }

func (p *Proxy) runPrefix() Cmd {
	return New("docker", "run", "--name", ProxyContainer, "--network", config.DefaultNetwork,
		"--detach", "--restart", "unless-stopped", "--volume", proxyConfigVolume,
		"--volume", "$PWD/"+ProxyAppsDirectory+":"+ProxyAppsContainerDir)
}

// Run runs a new kamal-proxy container. Without `run:` settings the options,
// image, version and command come from the boot_config files, with defaults.
func (p *Proxy) Run() Cmd {
	if p.run == nil {
		return Xargs(p.BootConfigEcho(), p.runPrefix())
	}
	r := p.run
	c := p.runPrefix()
	c = append(c, ProxyPublishArgs(r)...)
	if r.LogMaxSize != "" {
		c = append(c, "--log-opt", q("max-size="+r.LogMaxSize))
	}
	if r.MetricsPort != nil {
		c = append(c, "--expose="+strconv.Itoa(*r.MetricsPort))
	}
	c = append(c, optionArgs(r.Options, r.OptionsOrder)...)
	c = c.Quoted(ProxyImage(r))
	c = append(c, "kamal-proxy", "run")
	if r.Debug {
		c = append(c, "--debug")
	}
	if r.MetricsPort != nil {
		c = append(c, "--metrics-port", `"`+strconv.Itoa(*r.MetricsPort)+`"`)
	}
	return c
}

// ProxyImage is [registry/]repository:version of a run config.
func ProxyImage(r *config.ProxyRun) string {
	repo := r.Repository
	if r.Registry != "" {
		repo = r.Registry + "/" + repo
	}
	return repo + ":" + r.Version
}

// ProxyPublishArgs are the --publish pairs (none when publish is false).
func ProxyPublishArgs(r *config.ProxyRun) Cmd {
	if !r.Publish {
		return nil
	}
	return publishArgs(r.HTTPPort, r.HTTPSPort, r.BindIPs)
}

func publishArgs(httpPort, httpsPort int, bindIPs []string) Cmd {
	ips := bindIPs
	if len(ips) == 0 {
		ips = []string{""}
	}
	var c Cmd
	for _, ip := range ips {
		prefix := ""
		if ip != "" {
			if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil && !strings.HasPrefix(ip, "[") {
				ip = "[" + ip + "]"
			}
			prefix = ip + ":"
		}
		c = append(c, "--publish", q(prefix+strconv.Itoa(httpPort)+":80"), "--publish", q(prefix+strconv.Itoa(httpsPort)+":443"))
	}
	return c
}

// BootConfigEcho prints the legacy boot settings (files, else defaults):
// `echo $(cat .kamal/proxy/options 2> /dev/null || echo "…") …`.
func (p *Proxy) BootConfigEcho() Cmd {
	read := func(file, def string) string {
		return "$(cat " + file + " 2> /dev/null || echo " + `"` + def + `"` + ")"
	}
	return New("echo",
		read(ProxyOptionsFile, ProxyDefaultOptions),
		read(ProxyImageFile, ProxyImageDefault)+":"+read(ProxyImageVersionFile, config.DefaultProxyVersion),
		read(ProxyRunCommandFile, ""))
}

// Info is `docker ps --filter 'name=^kamal-proxy$'`.
func (p *Proxy) Info() Cmd { return New("docker", "ps", "--filter", q("name=^"+ProxyContainer+"$")) }

// LogOptions select proxy/accessory log output.
type LogOptions struct {
	Since       string
	Lines       int // 0: all (Kamal passes --tail only when set)
	Grep        string
	GrepOptions string
	NoTimestamp bool
}

func grepCmd(pattern, options string, double bool) Cmd {
	if pattern == "" {
		return nil
	}
	c := New("grep")
	if double {
		c = c.Escaped(pattern)
	} else {
		c = append(c, alwaysQuote(pattern))
	}
	for _, o := range strings.Fields(options) {
		c = c.Quoted(o)
	}
	return c
}

// Logs is `docker logs kamal-proxy [--since S] [--tail N] --timestamps 2>&1 [| grep …]`.
func (p *Proxy) Logs(o LogOptions) Cmd {
	c := New("docker", "logs", ProxyContainer)
	if o.Since != "" {
		c = append(c, "--since", q(o.Since))
	}
	if o.Lines > 0 {
		c = append(c, "--tail", strconv.Itoa(o.Lines))
	}
	if !o.NoTimestamp {
		c = append(c, "--timestamps")
	}
	return Pipe(append(c, "2>&1"), grepCmd(o.Grep, o.GrepOptions, false))
}

// FollowLogs is the remote part of `proxy logs --follow` (run it through
// SSH.Interactive).
func (p *Proxy) FollowLogs(o LogOptions) Cmd {
	c := New("docker", "logs", ProxyContainer)
	if !o.NoTimestamp {
		c = append(c, "--timestamps")
	}
	c = append(c, "--tail", "10", "--follow", "2>&1")
	return Pipe(c, grepCmd(o.Grep, o.GrepOptions, true))
}

// RemoveContainer prunes stopped kamal-proxy containers.
func (p *Proxy) RemoveContainer() Cmd {
	return New("docker", "container", "prune", "--force", "--filter", proxyImageTitleLabel)
}

// RemoveImage prunes kamal-proxy images.
func (p *Proxy) RemoveImage() Cmd {
	return New("docker", "image", "prune", "--all", "--force", "--filter", proxyImageTitleLabel)
}

// RemoveProxyDirectory is `rm -r .kamal/proxy`.
func (p *Proxy) RemoveProxyDirectory() Cmd { return New("rm", "-r", ProxyDirectory) }

// CountApps counts the apps that still use this host's proxy.
func CountApps() Cmd { return Pipe(New("ls", ".kamal/apps"), New("wc", "-l")) }

// CleanupTraefik removes a Kamal 1 Traefik container and image.
func CleanupTraefik() Cmd {
	return Chain(
		New("docker", "container", "stop", "traefik"),
		Combine(
			New("docker", "container", "prune", "--force", "--filter", traefikImageTitleFilter),
			New("docker", "image", "prune", "--all", "--force", "--filter", traefikImageTitleFilter),
		),
	)
}

// BootConfig is what `kamal proxy boot_config set` writes.
type BootConfig struct {
	Publish       bool // default true
	HTTPPort      int  // default 80
	HTTPSPort     int  // default 443
	BindIPs       []string
	LogMaxSize    string   // default 10m
	DockerOptions []string // extra `docker run` options, each without the leading --
	Registry      string
	Repository    string // default basecamp/kamal-proxy
	ImageVersion  string // "" : the default version
	MetricsPort   int    // 0: none
	Debug         bool
}

// BootConfigFile is one legacy boot_config file: its content, or Remove
// when the value is the default (Kamal deletes the file then).
type BootConfigFile struct {
	Path    string
	Content string
	Remove  bool
}

// Files returns the four boot_config files in Kamal's order.
func (b BootConfig) Files() []BootConfigFile {
	var opts Cmd
	if b.Publish {
		opts = append(opts, publishArgs(b.HTTPPort, b.HTTPSPort, b.BindIPs)...)
	}
	if b.LogMaxSize != "" {
		opts = append(opts, "--log-opt", q("max-size="+b.LogMaxSize))
	}
	if b.MetricsPort > 0 {
		opts = append(opts, "--expose="+strconv.Itoa(b.MetricsPort))
	}
	for _, o := range b.DockerOptions {
		opts = append(opts, q("--"+o))
	}
	options := opts.String()

	image := b.Repository
	if image == "" {
		image = ProxyImageDefault
	}
	if b.Registry != "" {
		image = b.Registry + "/" + image
	}

	run := Cmd{}
	if b.Debug {
		run = append(run, "--debug")
	}
	if b.MetricsPort > 0 {
		run = append(run, "--metrics-port", `"`+strconv.Itoa(b.MetricsPort)+`"`)
	}
	runCommand := ""
	if len(run) > 0 {
		runCommand = append(Cmd{"kamal-proxy", "run"}, run...).String()
	}

	file := func(path, content, def string) BootConfigFile {
		return BootConfigFile{Path: path, Content: content, Remove: content == def}
	}
	return []BootConfigFile{
		file(ProxyOptionsFile, options, ProxyDefaultOptions),
		file(ProxyImageFile, image, ProxyImageDefault),
		file(ProxyImageVersionFile, b.ImageVersion, ""),
		file(ProxyRunCommandFile, runCommand, ""),
	}
}

// RemoveFile is `rm <path>` (boot_config reset and defaults).
func RemoveFile(path string) Cmd { return New("rm").Quoted(path) }

// EnsureProxyDirectory is `mkdir -p .kamal/proxy`.
func (p *Proxy) EnsureProxyDirectory() Cmd { return New("mkdir", "-p", ProxyDirectory) }

// CheckProxyVersion returns Kamal's error when the running proxy's image tag
// (the output of Version) is older than the minimum kamal-proxy version.
// An empty tag (no proxy yet) passes, and so does a tag that is not a
// version number (a custom image such as "latest"), which Kamal would fail
// to parse.
func CheckProxyVersion(tag string) error {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return nil
	}
	have, ok1 := parseVersion(tag)
	least, ok2 := parseVersion(config.DefaultProxyVersion)
	if !ok1 || !ok2 {
		return nil
	}
	for i := 0; i < len(have) || i < len(least); i++ {
		var h, m int
		if i < len(have) {
			h = have[i]
		}
		if i < len(least) {
			m = least[i]
		}
		if h != m {
			if h < m {
				return fmt.Errorf("kamal-proxy version %s is too old, run `kamal proxy reboot` in order to update to at least %s", tag, config.DefaultProxyVersion)
			}
			return nil
		}
	}
	return nil
}

func parseVersion(v string) ([]int, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}
