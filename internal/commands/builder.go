package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// BuilderKind is how images are built (Kamal's builder classes).
type BuilderKind string

const (
	BuilderLocal  BuilderKind = "local"
	BuilderRemote BuilderKind = "remote"
	BuilderHybrid BuilderKind = "hybrid"
	BuilderPack   BuilderKind = "pack"
	BuilderCloud  BuilderKind = "cloud"
)

// Builder builds the image build commands (`kamal build …`).
type Builder struct {
	cfg       *config.Config
	b         config.Builder
	version   string
	localArch string
	kind      BuilderKind
}

// NewBuilder returns the builder for cfg at version. localArch is the
// deployer's architecture (amd64 or arm64): it decides which arches build
// locally and which on the remote builder.
func NewBuilder(cfg *config.Config, version, localArch string) *Builder {
	b := &Builder{cfg: cfg, b: cfg.Builder, version: version, localArch: localArch}
	switch {
	case len(b.RemoteArches()) > 0 && len(b.LocalArches()) > 0:
		b.kind = BuilderHybrid
	case len(b.RemoteArches()) > 0:
		b.kind = BuilderRemote
	case b.b.Pack != nil:
		b.kind = BuilderPack
	case strings.HasPrefix(b.b.Driver, "cloud"):
		b.kind = BuilderCloud
	default:
		b.kind = BuilderLocal
	}
	return b
}

// Kind returns the builder kind.
func (b *Builder) Kind() BuilderKind { return b.kind }

// LocalArches are the arches built on this machine.
func (b *Builder) LocalArches() []string { return b.b.LocalArches(b.localArch) }

// RemoteArches are the arches built on the remote builder.
func (b *Builder) RemoteArches() []string { return b.b.RemoteArches(b.localArch) }

func (b *Builder) dockerDriver() bool { return b.b.Driver == "docker" }

var nonNameChars = regexp.MustCompile(`[^a-z0-9_-]`)

// Name is the buildx builder name Kamal uses for this configuration.
func (b *Builder) Name() string {
	switch b.kind {
	case BuilderRemote:
		return "kamal-remote-" + nonNameChars.ReplaceAllString(b.b.Remote, "-") + b.localRegistrySuffix()
	case BuilderHybrid:
		return "kamal-hybrid-" + b.b.Driver + "-" + nonNameChars.ReplaceAllString(b.b.Remote, "-") + b.localRegistrySuffix()
	case BuilderCloud:
		return strings.NewReplacer(" ", "-", "/", "-").Replace(b.b.Driver)
	case BuilderPack:
		return b.b.Pack.Builder
	}
	if b.cfg.Registry.Local {
		return "kamal-local-registry-" + b.b.Driver
	}
	return "kamal-local-" + b.b.Driver
}

func (b *Builder) localRegistrySuffix() string {
	if b.cfg.Registry.Local {
		return "-local-registry"
	}
	return ""
}

// ContextName is the docker context of a remote or hybrid builder.
func (b *Builder) ContextName() string { return b.Name() + "-context" }

func (b *Builder) driverOpts() Cmd {
	if b.cfg.Registry.Local {
		return Cmd{"--driver-opt", "network=host"}
	}
	return nil
}

// EnsureLocalDocker checks docker and the buildx plugin:
// `docker --version && docker buildx version`.
func (b *Builder) EnsureLocalDocker() Cmd {
	return Combine(b.EnsureLocalDockerOnly(), b.EnsureLocalBuildx())
}

// EnsureLocalDockerOnly is `docker --version`.
func (b *Builder) EnsureLocalDockerOnly() Cmd { return New("docker", "--version") }

// EnsureLocalBuildx is `docker buildx version`.
func (b *Builder) EnsureLocalBuildx() Cmd { return New("docker", "buildx", "version") }

// Inspect checks that a compatible builder exists. It is nil for the
// docker driver (no builder to inspect).
func (b *Builder) Inspect() Cmd {
	switch b.kind {
	case BuilderRemote, BuilderHybrid:
		n, ctx := q(b.Name()), q(b.ContextName())
		// Kamal's pattern: the `Endpoint:.*` prefix as it writes it, the
		// context name quoted.
		buildx := Pipe(New("docker", "buildx", "inspect", n), New("grep", "-q", "Endpoint:.*"+ctx))
		context := Pipe(
			New("docker", "context", "inspect", ctx, "--format", "'{{.Endpoints.docker.Host}}'"),
			New("grep", "-xq").Quoted(b.b.Remote),
		)
		return Any(Combine(buildx, context), Cmd{"(echo no compatible builder && exit 1)"})
	case BuilderPack:
		return New("pack", "builder", "inspect").Quoted(b.b.Pack.Builder)
	}
	if b.dockerDriver() {
		return nil
	}
	return New("docker", "buildx", "inspect", q(b.Name()))
}

// MissingBuilder reports whether the output of a failed Inspect means the
// builder must be (re)created.
func MissingBuilder(output string) bool { return missingBuilderRE.MatchString(output) }

var missingBuilderRE = regexp.MustCompile(`context not found|no builder|no compatible builder|does not exist`)

// Create creates the builder (nil when there is nothing to create).
func (b *Builder) Create() Cmd {
	n := q(b.Name())
	switch b.kind {
	case BuilderRemote:
		return Chain(b.createContext(), append(append(New("docker", "buildx", "create", "--name", n), b.driverOpts()...), q(b.ContextName())))
	case BuilderHybrid:
		local := append(append(New("docker", "buildx", "create"), platformArgs(b.LocalArches())...), "--name", n, "--driver="+q(b.b.Driver))
		local = append(local, b.driverOpts()...)
		remote := append(append(New("docker", "buildx", "create"), platformArgs(b.RemoteArches())...), "--append", "--name", n)
		remote = append(append(remote, b.driverOpts()...), q(b.ContextName()))
		return Combine(local, b.createContext(), remote)
	case BuilderCloud:
		return New("docker", "buildx", "create", "--driver").Quoted(b.b.Driver)
	case BuilderPack:
		return nil
	}
	if b.dockerDriver() {
		return nil
	}
	return append(New("docker", "buildx", "create", "--name", n, "--driver="+q(b.b.Driver)), b.driverOpts()...)
}

func (b *Builder) createContext() Cmd {
	n := b.Name()
	return New("docker", "context", "create", q(b.ContextName()),
		"--description", alwaysQuote(n+" host"), "--docker", alwaysQuote("host="+b.b.Remote))
}

// Remove removes the builder (nil when there is nothing to remove).
func (b *Builder) Remove() Cmd {
	switch b.kind {
	case BuilderRemote, BuilderHybrid:
		return Chain(New("docker", "context", "rm").Quoted(b.ContextName()), New("docker", "buildx", "rm").Quoted(b.Name()))
	case BuilderPack:
		return nil
	}
	if b.dockerDriver() {
		return nil
	}
	return New("docker", "buildx", "rm", q(b.Name()))
}

// Info is `kamal build details`.
func (b *Builder) Info() Cmd {
	switch b.kind {
	case BuilderRemote, BuilderHybrid:
		return Chain(New("docker", "context", "ls"), New("docker", "buildx", "ls"))
	case BuilderPack:
		return b.Inspect()
	}
	return Combine(New("docker", "context", "ls"), New("docker", "buildx", "ls"))
}

// Env is the environment the build command needs (remote and hybrid
// builders disable the client token, as Kamal does).
func (b *Builder) Env() []shell.KV {
	if b.kind == BuilderRemote || b.kind == BuilderHybrid {
		return []shell.KV{{Key: "BUILDKIT_NO_CLIENT_TOKEN", Value: "1"}}
	}
	return nil
}

// Dockerfile is the configured Dockerfile path (relative to the build
// directory). The caller checks it exists; MissingDockerfile is the error.
func (b *Builder) Dockerfile() string { return b.b.Dockerfile }

// MissingDockerfile is Kamal's error for an absent Dockerfile.
func (b *Builder) MissingDockerfile() error { return errors.New("Missing " + b.b.Dockerfile) }

// Context is the build context ("." unless builder.context is set).
func (b *Builder) Context() string {
	if b.b.Context != "" {
		return b.b.Context
	}
	return "."
}

func (b *Builder) absoluteImage() string { return b.cfg.Repository() + ":" + b.version }

func (b *Builder) tags(dirty bool) []string {
	t := []string{b.absoluteImage(), b.cfg.LatestImage()}
	if dirty {
		for i := range t {
			t[i] += "-dirty"
		}
	}
	return t
}

func platformArgs(arches []string) Cmd {
	if len(arches) == 0 {
		return nil
	}
	p := make([]string, len(arches))
	for i, a := range arches {
		p[i] = "linux/" + a
	}
	return Cmd{"--platform", q(strings.Join(p, ","))}
}

// Push builds all arches and pushes both tags to the registry:
// `docker buildx build --output=type=registry …`, or for pack builds
// `pack build … && docker push … && docker push …`.
func (b *Builder) Push(noCache bool) Cmd { return b.PushOutput("registry", noCache) }

// Dev builds the working directory into the local image store, tagged
// `<version>-dirty` and `<latest>-dirty` (`kamal build dev`).
func (b *Builder) Dev(noCache bool) Cmd { return b.DevOutput("docker", noCache) }

func (b *Builder) buildx(output string, dirty, noCache bool) Cmd {
	c := New("docker", "buildx", "build", "--output=type="+q(output))
	c = append(c, platformArgs(b.b.Arch)...)
	if !b.dockerDriver() {
		c = append(c, "--builder", q(b.Name()))
	}
	return b.withBuildArgs(c, dirty, true, noCache)
}

// withBuildArgs ends a `docker build` or `docker buildx build` command:
// the tags, the build options, --no-cache, the context, then 2>&1.
func (b *Builder) withBuildArgs(c Cmd, dirty, buildx, noCache bool) Cmd {
	for _, t := range b.tags(dirty) {
		c = append(c, "-t", q(t))
	}
	c = append(c, b.buildOptions(buildx)...)
	if noCache {
		c = append(c, "--no-cache")
	}
	return append(c.Quoted(b.Context()), "2>&1")
}

// buildOptions are cache, label, build args, secrets, file, target, ssh,
// provenance and sbom, in Kamal's order.
func (b *Builder) buildOptions(buildx bool) Cmd {
	var c Cmd
	if buildx {
		c = append(c, b.cacheArgs()...)
	}
	c = append(c, "--label", escapedPair("service", b.cfg.Service))
	for _, k := range b.b.ArgsOrder {
		c = append(c, "--build-arg", escapedPair(k, b.b.Args[k]))
	}
	for _, s := range b.b.Secrets {
		c = append(c, "--secret", "id="+shell.Escape(s))
	}
	c = append(c, "--file", q(b.b.Dockerfile))
	if b.b.Target != "" {
		c = append(c, "--target", q(b.b.Target))
	}
	if b.b.SSH != "" {
		c = append(c, "--ssh", q(b.b.SSH))
	}
	if b.b.Provenance != "" {
		c = append(c, "--provenance", q(b.b.Provenance))
	}
	if b.b.SBOM != "" {
		c = append(c, "--sbom", q(b.b.SBOM))
	}
	return c
}

// SensitiveWords are the forms build args take in what kamal prints, so the
// caller can register them for redaction: each `K="v"` word as the build
// commands render it (the log then shows `--build-arg [REDACTED]`, as
// Kamal's does) and `K=v` as docker quotes it back in errors. Whole pairs,
// not bare values: a value such as "1" or "production" must not blank out
// every occurrence in the build output. Empty values hide nothing (their
// word, `K=`, would only blank out unrelated text).
func (b *Builder) SensitiveWords() []string {
	var words []string
	for _, k := range b.b.ArgsOrder {
		if v := b.b.Args[k]; v != "" {
			words = append(words, escapedPair(k, v), k+"="+v)
		}
	}
	return words
}

func (b *Builder) cacheArgs() Cmd {
	cache := b.b.Cache
	if cache == nil {
		return nil
	}
	var to, from string
	switch cache.Type {
	case "gha":
		from = "type=gha"
		to = from
	case "registry":
		img := cache.Image
		if img == "" {
			img = b.cfg.Image + "-build-cache"
		}
		ref := img
		if b.cfg.Registry.Server != "" {
			ref = b.cfg.Registry.Server + "/" + img
		}
		from = "type=registry,ref=" + ref
		to = from
	default:
		return nil
	}
	if cache.Options != "" {
		to += "," + cache.Options
	}
	return Cmd{"--cache-to", q(to), "--cache-from", q(from)}
}

func (b *Builder) packBuild(push bool) Cmd {
	p := b.b.Pack
	arch := b.localArch
	if la := b.LocalArches(); len(la) > 0 {
		arch = la[0]
	}
	c := New("pack", "build").Quoted(b.cfg.Repository())
	c = append(c, "--platform", q("linux/"+arch), "--creation-time", "now", "--builder", q(p.Builder))
	for _, bp := range append(append([]string{}, p.Buildpacks...), "paketo-buildpacks/image-labels") {
		c = append(c, "--buildpack", q(bp))
	}
	for _, t := range b.tags(false) {
		c = append(c, "-t", q(t))
	}
	c = append(c, "--env", q("BP_IMAGE_LABELS=service="+b.cfg.Service))
	for _, k := range b.b.ArgsOrder {
		c = append(c, "--env", escapedPair(k, b.b.Args[k]))
	}
	// Secrets by name only: pack reads the value from its environment, so
	// it never appears in argv.
	for _, s := range b.b.Secrets {
		c = append(c, "--env", q(s))
	}
	c = append(c, "--path").Quoted(b.Context())
	if !push {
		return c
	}
	return Combine(c, New("docker", "push").Quoted(b.absoluteImage()), New("docker", "push").Quoted(b.cfg.LatestImage()))
}

// ErrNeedsBuildx explains why a build cannot fall back to `docker build`.
type ErrNeedsBuildx struct{ Reason string }

func (e *ErrNeedsBuildx) Error() string {
	return "Docker buildx plugin is not installed locally, and " + e.Reason + " needs it; install buildx (https://docs.docker.com/go/buildx/)"
}

// ClassicPush is the fallback when the buildx plugin is missing: a local,
// single-arch `docker build` followed by pushes of both tags. It fails with
// *ErrNeedsBuildx when the configuration needs buildx.
func (b *Builder) ClassicPush(noCache bool) (build Cmd, push Cmd, err error) {
	if b.kind == BuilderPack {
		return b.packBuild(true), nil, nil // pack never needs buildx
	}
	// Unlike ClassicPlan, no remote builder at all: this build is local.
	if err := b.classicSupported(); err != nil {
		return nil, nil, err
	}
	p, err := b.ClassicPlan(noCache, false)
	return p.Build, p.Push, err
}

func (b *Builder) classicSupported() error {
	need := func(r string) error { return &ErrNeedsBuildx{Reason: r} }
	switch {
	case b.kind == BuilderRemote || b.kind == BuilderHybrid:
		return need("a remote builder")
	case b.kind == BuilderCloud:
		return need("a cloud builder")
	case len(b.b.Arch) != 1:
		return need("a multi-arch build (" + strings.Join(b.b.Arch, ", ") + ")")
	case b.b.Arch[0] != b.localArch:
		return need(fmt.Sprintf("building for %s on %s", b.b.Arch[0], b.localArch))
	}
	return b.classicOptionsSupported()
}

// Clean removes the built image locally: `docker image rm --force <image>`.
func (b *Builder) Clean() Cmd {
	return New("docker", "image", "rm", "--force").Quoted(b.absoluteImage())
}

// Clone holds the git clone a default build runs in.
type Clone struct {
	Root     string // the git root of the app (local path)
	Dir      string // the clone directory (<tmp>/kamal-clones/<service>-<hash>)
	BuildDir string // where the build runs inside the clone
}

// NewClone computes the clone paths: the clone directory is
// <tmpdir>/kamal-clones/<service>-<first 12 hex of sha256(pwd)>, and the
// build runs in <clone>/<basename of git root><pwd relative to git root>.
func NewClone(service, tmpDir, pwd, gitRoot string) Clone {
	sum := sha256.Sum256([]byte(pwd))
	dir := filepath.Join(tmpDir, "kamal-clones", service+"-"+hex.EncodeToString(sum[:])[:12])
	rel := strings.TrimPrefix(pwd, gitRoot)
	return Clone{Root: gitRoot, Dir: dir, BuildDir: filepath.Join(dir, filepath.Base(gitRoot)) + rel}
}

func git(path string, args ...string) Cmd {
	return append(New("git", "-C", q(path)), args...)
}

// Clone is `git -C <dir> clone <root> --recurse-submodules`.
func (c Clone) Clone() Cmd { return git(c.Dir, "clone", q(c.Root), "--recurse-submodules") }

// ResetSteps refresh an existing clone to revision.
func (c Clone) ResetSteps(revision string) []Cmd {
	return []Cmd{
		git(c.BuildDir, "remote", "set-url", "origin", q(c.Root)),
		git(c.BuildDir, "fetch", "origin"),
		git(c.BuildDir, "reset", "--hard", q(revision)),
		git(c.BuildDir, "clean", "-fdx"),
		git(c.BuildDir, "submodule", "update", "--init"),
		git(c.BuildDir, "gc", "--auto", "--quiet"),
	}
}

// Status is `git -C <build dir> status --porcelain` (must be empty).
func (c Clone) Status() Cmd { return git(c.BuildDir, "status", "--porcelain") }

// Revision is `git -C <build dir> rev-parse HEAD` (must equal local HEAD).
func (c Clone) Revision() Cmd { return git(c.BuildDir, "rev-parse", "HEAD") }
