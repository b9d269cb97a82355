package commands

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
)

// Accessory builds the commands of one accessory.
type Accessory struct {
	cfg *config.Config
	acc *config.Accessory
}

// NewAccessory returns the builder for acc.
func NewAccessory(cfg *config.Config, acc *config.Accessory) *Accessory {
	return &Accessory{cfg: cfg, acc: acc}
}

// ServiceName is the accessory's container name and service label.
func (a *Accessory) ServiceName() string { return a.acc.Service }

// EnvDirectory is .kamal/apps/<svc>[-dest]/env/accessories.
func (a *Accessory) EnvDirectory() string {
	return path.Join(AppDirectory(a.cfg), "env", "accessories")
}

// EnvFilePath is the accessory's secrets env file.
func (a *Accessory) EnvFilePath() string { return path.Join(a.EnvDirectory(), a.acc.Name+".env") }

// EnsureEnvDirectory is `mkdir -p <env dir>`.
func (a *Accessory) EnsureEnvDirectory() Cmd { return New("mkdir", "-p").Quoted(a.EnvDirectory()) }

// EnvFile renders the env file from resolved secret values (keyed by
// secret name).
func (a *Accessory) EnvFile(secrets map[string]string) (string, error) {
	return envFileFor(a.acc.Env.Secrets, secrets)
}

func (a *Accessory) networkArgs() Cmd { return Cmd{"--network", q(a.acc.Network)} }

var barePort = regexp.MustCompile(`^\d+$`)

func (a *Accessory) publishArgs() Cmd {
	p := a.acc.Port
	if p == "" {
		return nil
	}
	if barePort.MatchString(p) {
		p = p + ":" + p
	}
	return Cmd{"--publish", q(p)}
}

func (a *Accessory) envArgs() Cmd {
	return append(envArgs(clearEnv(a.acc.Env)), "--env-file", q(a.EnvFilePath()))
}

// FileHostPath is where an uploaded file lives on the host, relative to the
// login directory: <service>/<remote path>.
func (a *Accessory) FileHostPath(f config.AccessoryFile) string {
	return path.Join(a.acc.Service, f.Remote)
}

// DirectoryHostPath is the host side of a directory: absolute paths as
// given, others under $PWD/<service>/ (already shell-quoted).
func (a *Accessory) DirectoryHostPath(d config.AccessoryFile) string {
	if strings.HasPrefix(d.Local, "/") {
		return q(d.Local)
	}
	return pwdPath(path.Join(a.acc.Service, d.Local))
}

func mountSuffix(remote, options string) string {
	s := ":" + remote
	if options != "" {
		s += ":" + options
	}
	return s
}

func (a *Accessory) volumeArgs() Cmd {
	var c Cmd
	for _, v := range a.acc.Volumes {
		c = append(c, "--volume", q(v))
	}
	for _, f := range a.acc.Files {
		c = append(c, "--volume", pwdPath(a.FileHostPath(f)+mountSuffix(f.Remote, f.Options)))
	}
	for _, d := range a.acc.Directories {
		c = append(c, "--volume", a.DirectoryHostPath(d)+q(mountSuffix(d.Remote, d.Options)))
	}
	return c
}

func (a *Accessory) restartPolicy() string {
	if v, ok := optionValue(a.acc.Options, "restart"); ok && v != "" {
		return v
	}
	return "unless-stopped"
}

// Run is the accessory's `docker run`. host adds KAMAL_HOST ("" to omit).
func (a *Accessory) Run(host string) Cmd {
	c := New("docker", "run", "--name", q(a.acc.Service), "--detach", "--restart", q(a.restartPolicy()))
	c = append(c, a.networkArgs()...)
	c = append(c, loggingArgs(a.cfg.Logging)...)
	c = append(c, a.publishArgs()...)
	if host != "" {
		c = append(c, "--env", escapedPair("KAMAL_HOST", host))
	}
	c = append(c, a.envArgs()...)
	c = append(c, a.volumeArgs()...)
	c = append(c, "--label", escapedPair("service", a.acc.Service))
	c = append(c, labelArgs(a.acc.Labels, a.acc.LabelsOrder)...)
	c = append(c, optionArgs(a.acc.Options, a.acc.OptionsOrder, "restart")...)
	c = c.Quoted(a.acc.Image)
	return append(c, cmdWords(a.acc.Cmd)...)
}

// Start is `docker container start <svc>`.
func (a *Accessory) Start() Cmd { return New("docker", "container", "start").Quoted(a.acc.Service) }

// Stop is `docker container stop <svc>`.
func (a *Accessory) Stop() Cmd { return New("docker", "container", "stop").Quoted(a.acc.Service) }

func (a *Accessory) serviceFilter() Cmd { return Cmd{"--filter", q("label=service=" + a.acc.Service)} }

// Info is `docker ps --filter label=service=<svc>`.
func (a *Accessory) Info() Cmd { return append(New("docker", "ps"), a.serviceFilter()...) }

// Exists prints the ids of all the accessory's containers (boot skips
// hosts where it is non-empty).
func (a *Accessory) Exists() Cmd {
	return append(New("docker", "ps", "-a", "-q"), a.serviceFilter()...)
}

// Logs is `docker logs <svc>  --tail N --timestamps 2>&1 [| grep …]`. The
// double spaces are Kamal's, kept so logs compare equal.
func (a *Accessory) Logs(o LogOptions) Cmd {
	c := New("docker", "logs").Quoted(a.acc.Service)
	if o.Since != "" {
		c = append(c, " --since "+q(o.Since))
	}
	if o.Lines > 0 {
		c = append(c, " --tail "+strconv.Itoa(o.Lines))
	}
	if !o.NoTimestamp {
		c = append(c, "--timestamps")
	}
	return Pipe(append(c, "2>&1"), grepCmd(o.Grep, o.GrepOptions, false))
}

// FollowLogs is the remote part of `accessory logs --follow` (run it
// through SSH.Interactive on the first host). Without --since/--lines it
// is Kamal's `--tail 10`; Kamal ignores those two flags when following,
// we honour them as `app logs --follow` does.
func (a *Accessory) FollowLogs(o LogOptions) Cmd {
	c := New("docker", "logs").Quoted(a.acc.Service)
	if !o.NoTimestamp {
		c = append(c, "--timestamps")
	}
	if o.Since != "" {
		c = append(c, "--since", q(o.Since))
	}
	lines := o.Lines
	if lines <= 0 && o.Since == "" {
		lines = 10
	}
	if lines > 0 {
		c = append(c, "--tail", strconv.Itoa(lines))
	}
	c = append(c, "--follow", "2>&1")
	return Pipe(c, grepCmd(o.Grep, o.GrepOptions, true))
}

// ExecNew runs command (shell text) in a new container of the image.
func (a *Accessory) ExecNew(command string, interactive, tty bool) Cmd {
	c := append(New("docker", "run"), ExecOptions{Interactive: interactive, TTY: tty}.interactiveArgs()...)
	c = append(c, "--rm")
	c = append(c, a.networkArgs()...)
	c = append(c, a.envArgs()...)
	c = append(c, a.volumeArgs()...)
	c = c.Quoted(a.acc.Image)
	return append(c, cmdWords(command)...)
}

// ExecReuse runs command in the running accessory container.
func (a *Accessory) ExecReuse(command string, interactive, tty bool) Cmd {
	c := append(New("docker", "exec"), ExecOptions{Interactive: interactive, TTY: tty}.interactiveArgs()...)
	c = c.Quoted(a.acc.Service)
	return append(c, cmdWords(command)...)
}

// PullImage is `docker image pull <image>`.
func (a *Accessory) PullImage() Cmd { return New("docker", "image", "pull").Quoted(a.acc.Image) }

// RemoveContainer prunes the accessory's stopped containers.
func (a *Accessory) RemoveContainer() Cmd {
	return append(New("docker", "container", "prune", "--force"), a.serviceFilter()...)
}

// RemoveImage is `docker image rm --force <image>`.
func (a *Accessory) RemoveImage() Cmd {
	return New("docker", "image", "rm", "--force").Quoted(a.acc.Image)
}

// RemoveServiceDirectory is `rm -rf <svc>` (uploaded files and directories).
func (a *Accessory) RemoveServiceDirectory() Cmd { return New("rm", "-rf").Quoted(a.acc.Service) }

// Files and directories.

// FileCommands are the commands around uploading one file: mkdir of its
// directory before the upload, then chmod (and chown) after it.
type FileCommands struct {
	HostPath string // upload target, relative to the login directory
	Mkdir    Cmd
	After    []Cmd
}

// FileCommands returns the commands for f.
func (a *Accessory) FileCommands(f config.AccessoryFile) FileCommands {
	hp := a.FileHostPath(f)
	fc := FileCommands{HostPath: hp, Mkdir: New("mkdir", "-p").Quoted(path.Dir(hp))}
	mode := f.Mode
	if mode == "" {
		mode = "755"
	}
	fc.After = append(fc.After, New("chmod").Quoted(mode).Quoted(hp))
	if f.Owner != "" {
		fc.After = append(fc.After, New("chown").Quoted(f.Owner).Quoted(hp))
	}
	return fc
}

// DirectoryCommands create a directory (mkdir -p), then set its mode and
// owner when configured.
func (a *Accessory) DirectoryCommands(d config.AccessoryFile) []Cmd {
	hp := a.DirectoryHostPath(d)
	cmds := []Cmd{New("mkdir", "-p", hp)}
	if d.Mode != "" {
		cmds = append(cmds, New("chmod").Quoted(d.Mode).Extend(hp))
	}
	if d.Owner != "" {
		cmds = append(cmds, New("chown").Quoted(d.Owner).Extend(hp))
	}
	return cmds
}

// Proxy.

// ContainerID is `docker container ls --filter 'name=^<svc>$' --quiet`
// (running containers only).
func (a *Accessory) ContainerID() Cmd { return containerIDFor(a.acc.Service, false) }

// ProxyDeploy registers the accessory container with kamal-proxy (with
// its custom TLS certificate when `proxy.ssl` names one).
func (a *Accessory) ProxyDeploy(containerID string) Cmd {
	t := DeployTarget{ContainerID: containerID, DeployTimeout: a.cfg.DeployTimeout, DrainTimeout: a.cfg.DrainTimeout}
	if a.acc.Proxy != nil && a.acc.Proxy.CustomSSL() {
		t.TLSCertPath = path.Join(a.TLSContainerDirectory(), "cert.pem")
		t.TLSKeyPath = path.Join(a.TLSContainerDirectory(), "key.pem")
	}
	return append(proxyExec("deploy", q(a.acc.Service)), ProxyDeployArgs(a.acc.Proxy, t)...)
}

// ProxyRemove is `kamal-proxy remove <svc>`.
func (a *Accessory) ProxyRemove() Cmd { return proxyExec("remove", q(a.acc.Service)) }

// Registry returns the accessory's registry builder, or nil when it uses
// none of its own.
func (a *Accessory) Registry() *Registry {
	if a.acc.Registry == nil {
		return nil
	}
	return NewRegistry(*a.acc.Registry)
}

// TLSDirectory is where an accessory's custom TLS certificate goes on the
// host: <proxy app dir>/tls/accessories/<name> (Kamal's role name for an
// accessory's proxy is `accessories/<name>`).
func (a *Accessory) TLSDirectory() string {
	return path.Join(ProxyAppDirectory(a.cfg), "tls", "accessories", a.acc.Name)
}

// TLSContainerDirectory is the same directory inside kamal-proxy.
func (a *Accessory) TLSContainerDirectory() string {
	return path.Join(ProxyAppContainerDirectory(a.cfg), "tls", "accessories", a.acc.Name)
}

// CreateTLSDirectory is `mkdir -p <tls dir>`.
func (a *Accessory) CreateTLSDirectory() Cmd { return New("mkdir", "-p").Quoted(a.TLSDirectory()) }

// CertificatePath is the host path of the custom certificate PEM.
func (a *Accessory) CertificatePath() string { return path.Join(a.TLSDirectory(), "cert.pem") }

// PrivateKeyPath is the host path of the custom private key PEM.
func (a *Accessory) PrivateKeyPath() string { return path.Join(a.TLSDirectory(), "key.pem") }
