package commands

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// dockerHealthStatusFormat prints the health status, or the state when the
// container has no health check.
const dockerHealthStatusFormat = "'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'"

// App builds the commands for one role of the app on one host, at one
// version (Kamal's version_or_latest: pass "latest" for `app boot`/`app
// exec` without --version).
type App struct {
	cfg     *config.Config
	role    *config.Role
	host    string
	version string
}

// NewApp returns the app builder for role on host at version. host may be
// empty for commands that do not depend on it.
func NewApp(cfg *config.Config, role *config.Role, host, version string) *App {
	return &App{cfg: cfg, role: role, host: host, version: version}
}

// Role returns the role.
func (a *App) Role() *config.Role { return a.role }

// Version returns the version the builder works with.
func (a *App) Version() string { return a.version }

// ContainerName is <service>-<role>[-<dest>]-<version>.
func (a *App) ContainerName() string { return a.role.ContainerName(a.version) }

// ContainerNameFor is the container name of another version.
func (a *App) ContainerNameFor(version string) string { return a.role.ContainerName(version) }

// ReplacedVersion is the version a clashing container is renamed to
// (<version>_replaced_<16 hex>); hex comes from the caller.
func ReplacedVersion(version, hex string) string { return version + "_replaced_" + hex }

// Hostname is the container hostname: the host cut to 51 characters,
// without a trailing dot, then "-" and 12 random hex characters (from the
// caller).
func Hostname(host, hex string) string {
	h := host
	if len(h) > 51 {
		h = h[:51]
	}
	return strings.TrimSuffix(h, ".") + "-" + hex
}

func (a *App) image() string { return a.cfg.Repository() + ":" + a.version }

// Paths on hosts.

// AppDirectory is .kamal/apps/<service>[-dest].
func AppDirectory(cfg *config.Config) string {
	return path.Join(config.DefaultRunDirectory, "apps", cfg.ServiceAndDestination())
}

// EnvDirectory is .kamal/apps/<svc>[-dest]/env/roles.
func (a *App) EnvDirectory() string { return path.Join(AppDirectory(a.cfg), "env", "roles") }

// EnvFilePath is the role's secrets env file.
func (a *App) EnvFilePath() string { return path.Join(a.EnvDirectory(), a.role.Name+".env") }

// EnsureEnvDirectory is `mkdir -p <env dir>`.
func (a *App) EnsureEnvDirectory() Cmd { return New("mkdir", "-p").Quoted(a.EnvDirectory()) }

// Env is the role's env on this host (root, role, then host tags).
func (a *App) Env() config.Env { return a.cfg.RoleEnv(a.role, a.host) }

// EnvFile renders the secrets env file content from resolved secret values
// (keyed by secret name, i.e. SecretRef.SecretKey()). The caller looks the
// secrets up; a missing one is an error naming it.
func (a *App) EnvFile(secrets map[string]string) (string, error) {
	return envFileFor(a.Env().Secrets, secrets)
}

func envFileFor(refs []config.SecretRef, secrets map[string]string) (string, error) {
	kvs := make([]shell.KV, 0, len(refs))
	for _, ref := range refs {
		v, ok := secrets[ref.SecretKey()]
		if !ok {
			return "", fmt.Errorf("secret %s not found", ref.SecretKey())
		}
		kvs = append(kvs, shell.KV{Key: ref.Name, Value: v})
	}
	return shell.EnvFile(kvs), nil
}

// envArgs are the clear env then --env-file.
func (a *App) envArgs() Cmd {
	return append(envArgs(clearEnv(a.Env())), "--env-file", q(a.EnvFilePath()))
}

// volumeArgs are the root volumes (passed to docker as given, quoted).
func (a *App) volumeArgs() Cmd {
	var c Cmd
	for _, v := range a.cfg.Volumes {
		c = append(c, "--volume", q(v))
	}
	return c
}

// AssetVolumeDirectory is .kamal/apps/<svc>/assets/volumes/<role>-<version>.
func (a *App) AssetVolumeDirectory(version string) string {
	return path.Join(AppDirectory(a.cfg), "assets", "volumes", a.role.Name+"-"+version)
}

// AssetExtractedDirectory is .kamal/apps/<svc>/assets/extracted/<role>-<version>.
func (a *App) AssetExtractedDirectory(version string) string {
	return path.Join(AppDirectory(a.cfg), "assets", "extracted", a.role.Name+"-"+version)
}

// assetVolumeArgs mount the asset volume, for roles behind the proxy only
// (Kamal's Role#assets?).
func (a *App) assetVolumeArgs() Cmd {
	if !a.role.Assets() {
		return nil
	}
	mount := a.AssetVolumeDirectory(a.version) + ":" + a.role.AssetPath
	if a.role.AssetPathOptions != "" {
		mount += ":" + a.role.AssetPathOptions
	}
	return Cmd{"--volume", pwdPath(mount)}
}

func (a *App) labelArgs() Cmd {
	c := Cmd{"--label", escapedPair("service", a.cfg.Service), "--label", escapedPair("role", a.role.Name)}
	if a.cfg.Destination != "" {
		c = append(c, "--label", escapedPair("destination", a.cfg.Destination))
	} else {
		c = append(c, "--label", "destination")
	}
	return append(c, labelArgs(a.role.Labels, a.role.LabelsOrder)...)
}

func (a *App) restartPolicy() string {
	if v, ok := optionValue(a.role.Options, "restart"); ok && v != "" {
		return v
	}
	return "unless-stopped"
}

// cmdWords is the role's cmd as shell text: Kamal passes it unquoted so the
// remote shell splits it into words (documented in docs/compatibility.md).
func cmdWords(cmd string) Cmd {
	if cmd == "" {
		return nil
	}
	return Cmd{cmd}
}

// Run is the `docker run` of a new app container. hostname may be empty.
func (a *App) Run(hostname string) Cmd {
	return a.newContainer(New("docker", "run", "--detach"), hostname)
}

// Create is Run's container created but not started (`docker create`), so
// a role waiting for the primary role has it ready to start.
func (a *App) Create(hostname string) Cmd { return a.newContainer(New("docker", "create"), hostname) }

func (a *App) newContainer(c Cmd, hostname string) Cmd {
	name := a.ContainerName()
	c = append(c, "--restart", q(a.restartPolicy()), "--name", q(name), "--network", config.DefaultNetwork)
	if hostname != "" {
		c = append(c, "--hostname", q(hostname))
	}
	kamalEnv := []shell.KV{
		{Key: "KAMAL_CONTAINER_NAME", Value: name},
		{Key: "KAMAL_VERSION", Value: a.version},
		{Key: "KAMAL_HOST", Value: a.host},
	}
	if a.cfg.Destination != "" {
		kamalEnv = append(kamalEnv, shell.KV{Key: "KAMAL_DESTINATION", Value: a.cfg.Destination})
	}
	c = append(c, envArgs(kamalEnv)...)
	c = append(c, a.envArgs()...)
	c = append(c, loggingArgs(a.role.Logging)...)
	c = append(c, a.volumeArgs()...)
	c = append(c, a.assetVolumeArgs()...)
	c = append(c, a.labelArgs()...)
	c = append(c, optionArgs(a.role.Options, a.role.OptionsOrder, "restart")...)
	c = c.Quoted(a.image())
	return append(c, cmdWords(a.role.Cmd)...)
}

// Start is `docker start <container>`.
func (a *App) Start() Cmd { return New("docker", "start").Quoted(a.ContainerName()) }

// ContainerIDForVersion is `docker container ls --all --filter 'name=^<name>$' --quiet`.
func (a *App) ContainerIDForVersion(version string) Cmd {
	return containerIDFor(a.ContainerNameFor(version), true)
}

// ContainerID is ContainerIDForVersion of the builder's version.
func (a *App) ContainerID() Cmd { return a.ContainerIDForVersion(a.version) }

// Status prints the health status (or state) of the version's container.
func (a *App) Status(version string) Cmd {
	return Xargs(a.ContainerIDForVersion(version), New("docker", "inspect", "--format", dockerHealthStatusFormat))
}

// HealthLog prints the container's health check log as JSON.
func (a *App) HealthLog(version string) Cmd {
	return Xargs(a.ContainerIDForVersion(version), New("docker", "inspect", "--format", "'{{json .State.Health}}'"))
}

// StopArgs are `-t <seconds>`: stop_timeout when set, else drain_timeout
// for roles without the proxy, else nothing.
func (a *App) StopArgs() Cmd {
	if t := a.StopSeconds(); t != nil {
		return Cmd{"-t", strconv.Itoa(*t)}
	}
	return nil
}

// StopSeconds is the `-t` of StopArgs, nil when docker's default applies.
func (a *App) StopSeconds() *int {
	switch {
	case a.role.StopTimeout != nil:
		t := *a.role.StopTimeout
		return &t
	case !a.role.RunsProxy():
		t := a.cfg.DrainTimeout
		return &t
	}
	return nil
}

// Stop stops the container of version, or the current one when version is "".
func (a *App) Stop(version string) Cmd {
	id := a.CurrentRunningContainerID()
	if version != "" {
		id = a.ContainerIDForVersion(version)
	}
	return Xargs(id, append(New("docker", "stop"), a.StopArgs()...))
}

// Info is `docker ps` of the role's containers.
func (a *App) Info() Cmd { return append(New("docker", "ps"), a.filterArgs(nil)...) }

func (a *App) filters(statuses []string) []string {
	f := []string{"label=service=" + a.cfg.Service, "label=destination=" + a.cfg.Destination}
	if a.role != nil {
		f = append(f, "label=role="+a.role.Name)
	}
	for _, s := range statuses {
		f = append(f, "status="+s)
	}
	return f
}

// Filters are the `--filter` values selecting the role's containers (with
// the given statuses), for the docker CLI and the Engine API alike.
func (a *App) Filters(statuses []string) []string { return a.filters(statuses) }

// RunningFilters select the role's running or restarting containers.
func (a *App) RunningFilters() []string { return a.filters(activeStatuses) }

// LatestImage is the image tagged latest (latest-<destination>).
func (a *App) LatestImage() string { return a.cfg.LatestImage() }

func (a *App) filterArgs(statuses []string) Cmd {
	var c Cmd
	for _, f := range a.filters(statuses) {
		c = append(c, "--filter", q(f))
	}
	return c
}

var activeStatuses = []string{"running", "restarting"}

// ImageID prints the id of the version's image on the host, nothing when
// the host does not have it.
func (a *App) ImageID() Cmd {
	return New("docker", "image", "ls", "--filter", q("reference="+a.image()), "--format", "'{{.ID}}'")
}

func (a *App) latestImageID() Cmd {
	return New("docker", "image", "ls", "--filter", q("reference="+a.cfg.LatestImage()), "--format", "'{{.ID}}'")
}

func (a *App) latestContainer(format string, extra ...string) Cmd {
	c := append(New("docker", "ps", "--latest", format), a.filterArgs(activeStatuses)...)
	for _, f := range extra {
		c = append(c, "--filter", f)
	}
	return c
}

func (a *App) currentRunningContainer(format string) Cmd {
	latestImage := a.latestContainer(format, "ancestor=$("+a.latestImageID().String()+")")
	return Pipe(Shell(Chain(latestImage, a.latestContainer(format))), New("head", "-1"))
}

// CurrentRunningContainerID prints the id of the role's current container:
// the newest running one from the latest image, else the newest running.
func (a *App) CurrentRunningContainerID() Cmd { return a.currentRunningContainer("--quiet") }

// extractVersion strips "<prefix>-" from each container name read.
func (a *App) extractVersion() Cmd {
	return Cmd{"while read line; do echo ${line#" + q(a.role.ContainerPrefix()) + "-}; done"}
}

// CurrentRunningVersion prints the version of the role's current container.
func (a *App) CurrentRunningVersion() Cmd {
	return Pipe(a.currentRunningContainer("--format '{{.Names}}'"), a.extractVersion())
}

// ListVersions prints the versions of the role's containers (running only
// unless extra docker args such as --all are given).
func (a *App) ListVersions(dockerArgs ...string) Cmd {
	c := append(New("docker", "ps"), a.filterArgs(nil)...)
	c = append(c, dockerArgs...)
	return Pipe(append(c, "--format", `"{{.Names}}"`), a.extractVersion())
}

// EnsureEnvDirectory and friends for containers.

// ListContainers is `docker container ls --all` of the role.
func (a *App) ListContainers() Cmd {
	return append(New("docker", "container", "ls", "--all"), a.filterArgs(nil)...)
}

// ListContainerNames lists the role's container names.
func (a *App) ListContainerNames() Cmd {
	return append(a.ListContainers(), "--format", "'{{ .Names }}'")
}

// RemoveContainer removes the container of version.
func (a *App) RemoveContainer(version string) Cmd {
	return Xargs(a.ContainerIDForVersion(version), New("docker", "container", "rm"))
}

// RenameContainer renames the container of version to newVersion's name.
func (a *App) RenameContainer(version, newVersion string) Cmd {
	return New("docker", "rename").Quoted(a.ContainerNameFor(version)).Quoted(a.ContainerNameFor(newVersion))
}

// RemoveContainers prunes the role's stopped containers.
func (a *App) RemoveContainers() Cmd {
	return append(New("docker", "container", "prune", "--force"), a.filterArgs(nil)...)
}

// ListImages is `docker image ls <repository>`.
func (a *App) ListImages() Cmd { return New("docker", "image", "ls").Quoted(a.cfg.Repository()) }

// RemoveImages prunes all images of the service.
func (a *App) RemoveImages() Cmd {
	return New("docker", "image", "prune", "--all", "--force", "--filter", q("label=service="+a.cfg.Service))
}

// TagLatestImage is `docker tag <image>:<version> <image>:latest[-dest]`.
func (a *App) TagLatestImage() Cmd {
	return New("docker", "tag").Quoted(a.image()).Quoted(a.cfg.LatestImage())
}

// UntagLatestImage is `docker image rm <image>:latest[-dest]`: it removes
// the tag only, the image keeps its version tag.
func (a *App) UntagLatestImage() Cmd {
	return New("docker", "image", "rm").Quoted(a.cfg.LatestImage())
}

// RemoveAppDirectory is `rm -r .kamal/apps/<svc>[-dest]`.
func (a *App) RemoveAppDirectory() Cmd { return New("rm", "-r").Quoted(AppDirectory(a.cfg)) }

// Exec.

// ExecOptions control `app exec`.
type ExecOptions struct {
	Interactive bool
	TTY         bool // with Interactive: -it instead of -i
	Detach      bool
	Env         []shell.KV // -e K=V from the command line
}

func (o ExecOptions) interactiveArgs() Cmd {
	switch {
	case o.Interactive && o.TTY:
		return Cmd{"-it"}
	case o.Interactive:
		return Cmd{"-i"}
	}
	return nil
}

// ExecContainerName is <prefix>-exec-<version>-<hex> (6 hex from the caller).
func (a *App) ExecContainerName(hex string) string {
	return a.role.ContainerPrefix() + "-exec-" + a.version + "-" + hex
}

// ExecNew runs command (shell text) in a new container.
func (a *App) ExecNew(command, hex string, o ExecOptions) Cmd {
	c := append(New("docker", "run"), o.interactiveArgs()...)
	if o.Detach {
		c = append(c, "--detach")
	} else {
		c = append(c, "--rm")
	}
	c = append(c, "--name", q(a.ExecContainerName(hex)), "--network", config.DefaultNetwork)
	c = append(c, a.envArgs()...)
	c = append(c, envArgs(o.Env)...)
	c = append(c, loggingArgs(a.role.Logging)...)
	c = append(c, a.volumeArgs()...)
	c = append(c, optionArgs(a.role.Options, a.role.OptionsOrder, "restart")...)
	c = c.Quoted(a.image())
	return append(c, cmdWords(command)...)
}

// ExecReuse runs command in the running container of the builder's version.
func (a *App) ExecReuse(command string, o ExecOptions) Cmd {
	c := append(New("docker", "exec"), o.interactiveArgs()...)
	c = append(c, envArgs(o.Env)...)
	c = c.Quoted(a.ContainerName())
	return append(c, cmdWords(command)...)
}

// Logs.

// AppLogOptions select `app logs` output.
type AppLogOptions struct {
	Since       string
	Lines       int // 0: no --tail
	Grep        string
	GrepOptions string
	NoTimestamp bool
	ContainerID string // read this container instead of the current one
}

func (a *App) logsSource(o AppLogOptions) Cmd {
	if o.ContainerID != "" {
		return Pipe(Shell(New("echo").Quoted(o.ContainerID)))
	}
	return a.CurrentRunningContainerID()
}

// Logs is `<current container id> | xargs docker logs … 2>&1 [| grep …]`.
func (a *App) Logs(o AppLogOptions) Cmd {
	logs := New("docker", "logs")
	if !o.NoTimestamp {
		logs = append(logs, "--timestamps")
	}
	if o.Since != "" {
		logs = append(logs, "--since", q(o.Since))
	}
	if o.Lines > 0 {
		logs = append(logs, "--tail", strconv.Itoa(o.Lines))
	}
	return Pipe(Xargs(a.logsSource(o), append(logs, "2>&1")), grepCmd(o.Grep, o.GrepOptions, false))
}

// FollowLogs is the remote part of `app logs --follow` (run it through
// SSH.Interactive on the primary host).
func (a *App) FollowLogs(o AppLogOptions) Cmd {
	logs := New("docker", "logs")
	if !o.NoTimestamp {
		logs = append(logs, "--timestamps")
	}
	if o.Lines > 0 {
		logs = append(logs, "--tail", strconv.Itoa(o.Lines))
	}
	logs = append(logs, "--follow", "2>&1")
	return Pipe(Xargs(a.logsSource(o), logs), grepCmd(o.Grep, o.GrepOptions, true))
}

// Assets.

func (a *App) assetContainer() string { return a.role.ContainerPrefix() + "-assets" }

// ExtractAssets copies the role's asset_path out of the image into the
// extracted directory of this version.
func (a *App) ExtractAssets() Cmd {
	dir := a.AssetExtractedDirectory(a.version)
	ac := q(a.assetContainer())
	return Combine(
		New("mkdir", "-p").Quoted(dir),
		New("docker", "container", "rm", ac, "2> /dev/null", "|| true"),
		New("docker", "container", "create", "--name", ac).Quoted(a.image()),
		New("docker", "container", "cp", "-L", q(a.assetContainer()+":"+a.role.AssetPath+"/."), q(dir)),
		New("docker", "container", "rm", ac),
	)
}

// SyncAssetVolumes fills the new version's asset volume, and cross-copies
// with oldVersion ("" when none) so both versions serve both sets.
func (a *App) SyncAssetVolumes(oldVersion string) Cmd {
	newExtracted, newVolume := a.AssetExtractedDirectory(a.version), a.AssetVolumeDirectory(a.version)
	cmds := []Cmd{New("mkdir", "-p").Quoted(newVolume), copyContents(newExtracted, newVolume, false)}
	if oldVersion != "" {
		cmds = append(cmds,
			copyContents(newExtracted, a.AssetVolumeDirectory(oldVersion), true),
			copyContents(a.AssetExtractedDirectory(oldVersion), newVolume, true))
	}
	return Chain(cmds...)
}

func copyContents(src, dst string, continueOnError bool) Cmd {
	c := New("cp", "-rnT").Quoted(src).Quoted(dst)
	if continueOnError {
		c = append(c, "|| true")
	}
	return c
}

// CleanUpAssets removes other versions' extracted and volume directories.
func (a *App) CleanUpAssets() Cmd {
	return Chain(a.removeOlderSiblings(a.AssetExtractedDirectory(a.version)), a.removeOlderSiblings(a.AssetVolumeDirectory(a.version)))
}

func (a *App) removeOlderSiblings(p string) Cmd {
	return New("find").Quoted(path.Dir(p)).
		Extend("-maxdepth", "1", "-name", alwaysQuote(a.role.Name+"-*"), "!", "-name").
		Quoted(path.Base(p)).
		Extend(`-exec rm -rf "{}" +`)
}

// Extend appends fixed words (flags) to the command.
func (c Cmd) Extend(words ...string) Cmd { return append(c, words...) }

// Error pages and TLS (proxy apps-config directories).

// ProxyAppDirectory is .kamal/proxy/apps-config/<svc>[-dest].
func ProxyAppDirectory(cfg *config.Config) string {
	return path.Join(ProxyAppsDirectory, cfg.ServiceAndDestination())
}

// ProxyAppContainerDirectory is the same directory inside kamal-proxy.
func ProxyAppContainerDirectory(cfg *config.Config) string {
	return path.Join(ProxyAppsContainerDir, cfg.ServiceAndDestination())
}

// ErrorPagesDirectory is <proxy app dir>/error_pages (uploads go to
// <dir>/<version>).
func ErrorPagesDirectory(cfg *config.Config) string {
	return path.Join(ProxyAppDirectory(cfg), "error_pages")
}

// CreateErrorPagesDirectory is `mkdir -p <error pages dir>`.
func CreateErrorPagesDirectory(cfg *config.Config) Cmd {
	return New("mkdir", "-p").Quoted(ErrorPagesDirectory(cfg))
}

// CleanUpErrorPages removes the error pages of other versions.
func CleanUpErrorPages(cfg *config.Config, version string) Cmd {
	return New("find").Quoted(ErrorPagesDirectory(cfg)).
		Extend("-mindepth", "1", "-maxdepth", "1", "!", "-name").Quoted(version).
		Extend("-exec", "rm", "-rf", "{}", "+")
}

// RemoveProxyAppDirectory is `rm -r .kamal/proxy/apps-config/<svc>[-dest]`.
func RemoveProxyAppDirectory(cfg *config.Config) Cmd {
	return New("rm", "-r").Quoted(ProxyAppDirectory(cfg))
}

// TLSDirectory is <proxy app dir>/tls/<role> on the host.
func (a *App) TLSDirectory() string { return path.Join(ProxyAppDirectory(a.cfg), "tls", a.role.Name) }

// TLSContainerDirectory is the same directory inside kamal-proxy.
func (a *App) TLSContainerDirectory() string {
	return path.Join(ProxyAppContainerDirectory(a.cfg), "tls", a.role.Name)
}

// CreateTLSDirectory is `mkdir -p <tls dir>`.
func (a *App) CreateTLSDirectory() Cmd { return New("mkdir", "-p").Quoted(a.TLSDirectory()) }

// CertificatePath and PrivateKeyPath are the upload targets of custom TLS
// PEMs (mode 0644).
func (a *App) CertificatePath() string { return path.Join(a.TLSDirectory(), "cert.pem") }

// PrivateKeyPath is the custom TLS key path on the host.
func (a *App) PrivateKeyPath() string { return path.Join(a.TLSDirectory(), "key.pem") }
