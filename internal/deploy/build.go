package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// BuildOptions tune `kamal build push|dev|deliver`.
type BuildOptions struct {
	NoCache bool   // --no-cache
	Output  string // --output: "registry" for push (default), "docker" for dev
}

// Builder is `kamal build`: the image's build context, build and push
// (buildx or classic docker build, local or remote builder), and its pull
// onto the hosts.
type Builder struct {
	*Session
	registry *Registry

	mu             sync.Mutex
	classicNoticed bool // the run said it builds with the classic builder
}

// BuilderError is a build that cannot start (missing Dockerfile, bad
// clone, no buildx for what the configuration needs).
type BuilderError struct{ Msg string }

func (e *BuilderError) Error() string { return e.Msg }

// Kind names the error in kamal's `ERROR (<Kind>)` line.
func (e *BuilderError) Kind() string { return "Kamal::Commands::Builder::Base::BuilderError" }

// buildLocal is the local executor for the build and push themselves:
// like Kamal (with_verbosity(:debug)), their output shows at the default
// verbosity too, so the build's progress and errors are visible.
func (k *Builder) buildLocal(dir string, env []string) remote.Executor {
	out := k.Out
	if out.Level() == remote.LevelDefault {
		out = out.WithLevel(remote.LevelVerbose)
	}
	return k.opts.Local(out, dir, env)
}

// localArch is the deployer's architecture in Docker's naming.
func localArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "amd64"
}

// builder returns the command builder for this run's version.
func (k *Builder) builder() (*commands.Builder, error) {
	v, err := k.Version()
	if err != nil {
		return nil, err
	}
	b := commands.NewBuilder(k.Config, v, localArch())
	// Build args are sensitive in Kamal: they reach docker as they are but
	// every line and error we print shows them as [REDACTED].
	for _, w := range b.SensitiveWords() {
		k.Redact(w)
	}
	return b, nil
}

// localBuildx fails when the local docker is missing and reports whether
// it has the buildx plugin.
func (k *Builder) localBuildx(ctx context.Context) (bool, error) {
	if err := k.registry.EnsureLocalDocker(ctx); err != nil {
		return false, err
	}
	return k.hasBuildx(ctx)
}

// localBuilder is localBuildx, then the command builder for a build here.
func (k *Builder) localBuilder(ctx context.Context) (b *commands.Builder, buildx bool, err error) {
	if buildx, err = k.localBuildx(ctx); err != nil {
		return nil, false, err
	}
	if b, err = k.builder(); err != nil {
		return nil, false, err
	}
	return b, buildx, nil
}

// hasBuildx reports whether the local docker has the buildx plugin.
func (k *Builder) hasBuildx(ctx context.Context) (bool, error) {
	b := commands.NewBuilder(k.Config, "", localArch())
	res, err := k.local("", nil).Exec(ctx, "localhost", b.EnsureLocalBuildx().String(),
		remote.ExecOptions{Severity: remote.Debug, AllowFailure: true})
	if err != nil {
		return false, err
	}
	return res.ExitStatus == 0, nil
}

// sayClassic tells once per run that builds use the classic builder.
func (k *Builder) sayClassic() {
	k.mu.Lock()
	said := k.classicNoticed
	k.classicNoticed = true
	k.mu.Unlock()
	if said {
		return
	}
	k.Say("Docker buildx plugin is not installed locally, so building with the classic `docker build` instead")
}

// Push is `kamal build push`: pre-connect hook, local docker check,
// local registry setup or login, pre-build hook, the build context (a
// clean git clone of HEAD unless builder.context is set), then the build
// and push of `<image>:<version>` and `<image>:<latest>`. Builder secrets
// reach the build only through the environment of the local docker
// process. Without the buildx plugin a local single-arch build uses the
// classic `docker build` and `docker push`.
func (k *Builder) Push(ctx context.Context, o BuildOptions) error {
	// Hosts may only be reachable after pre-connect (a remote builder or
	// the pre-build hook can need them too).
	if _, err := k.connect(ctx); err != nil {
		return err
	}
	b, buildx, err := k.localBuilder(ctx)
	if err != nil {
		return err
	}
	classic := classicBuilder(b, buildx)
	if classic {
		// Fail before anything runs when the build truly needs buildx.
		if _, err := b.ClassicPlan(false, false); err != nil {
			return &DependencyError{err.Error()}
		}
	}
	if k.Config.Registry.Local {
		if err := k.localRun(ctx, commands.NewRegistry(k.Config.Registry).LocalRun(), remote.Info); err != nil {
			return err
		}
	} else if err := k.registry.loginLocally(ctx); err != nil {
		return err
	}
	if err := k.runHook(ctx, "pre-build"); err != nil {
		return err
	}

	dir, err := k.prepareContext(ctx)
	if err != nil {
		return err
	}
	env, err := k.buildEnv(b)
	if err != nil {
		return err
	}
	if classic {
		return k.withBuilderRegistryForward(ctx, func() error {
			return k.classicBuild(ctx, b, dir, env, o, false)
		})
	}
	if buildx {
		if err := k.ensureBuilder(ctx, b); err != nil {
			return err
		}
	}
	if o.Output == "" {
		o.Output = "registry"
	}
	return k.withBuilderRegistryForward(ctx, func() error {
		return k.runBuild(ctx, b, dir, env, b.PushOutput(o.Output, o.NoCache))
	})
}

// classicBuilder reports whether builds use the classic `docker build`:
// without buildx, unless pack builds the image (pack needs no buildx).
func classicBuilder(b *commands.Builder, buildx bool) bool {
	return !buildx && b.Kind() != commands.BuilderPack
}

// buildEnv is the environment of the local build process (the builder
// secrets) once the Dockerfile is known to exist (pack builds have none).
func (k *Builder) buildEnv(b *commands.Builder) ([]string, error) {
	env, err := k.buildSecretsEnv()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.Dockerfile()); err != nil && b.Kind() != commands.BuilderPack {
		return nil, &BuilderError{b.MissingDockerfile().Error()}
	}
	return env, nil
}

// runBuild runs a buildx or pack build command in dir with the builder's
// environment and env (the secrets) added.
func (k *Builder) runBuild(ctx context.Context, b *commands.Builder, dir string, env []string, cmd commands.Cmd) error {
	_, err := k.buildLocal(dir, env).Exec(ctx, "localhost", shell.WithEnv(b.Env(), shell.Command(cmd...)), remote.ExecOptions{})
	return err
}

// withBuilderRegistryForward runs fn with a local registry's port
// forwarded from an ssh:// remote builder host to this machine, so the
// remote builder pushes to `localhost:<port>` (Kamal forwards it the same
// way; its buildx builder uses the host network for this). Otherwise it
// just runs fn.
func (k *Builder) withBuilderRegistryForward(ctx context.Context, fn func() error) error {
	if !k.Config.Registry.Local {
		return fn()
	}
	host, ok, err := remoteBuilderHost(k.Config.Builder.Remote)
	if err != nil || !ok {
		if err != nil {
			return err
		}
		return fn()
	}
	return k.registry.withLocalRegistryForward(ctx, []string{host}, fn)
}

// classicBuild runs the buildx-free plan: docker build, then the pushes
// (skipped for dev builds, which stay in the local image store).
func (k *Builder) classicBuild(ctx context.Context, b *commands.Builder, dir string, env []string, o BuildOptions, dev bool) error {
	plan, err := b.ClassicPlan(o.NoCache, dev)
	if err != nil {
		return &DependencyError{err.Error()}
	}
	k.sayClassic()
	if plan.DockerHost != "" {
		// A remote builder without buildx: the build and the push run on
		// the remote daemon; credentials still come from this client.
		env = append(env, "DOCKER_HOST="+plan.DockerHost)
	}
	x := k.buildLocal(dir, env)
	if _, err := x.Exec(ctx, "localhost", shell.Command(plan.Build...), remote.ExecOptions{}); err != nil {
		return err
	}
	if len(plan.Push) == 0 || o.Output == "docker" {
		return nil
	}
	_, err = x.Exec(ctx, "localhost", shell.Command(plan.Push...), remote.ExecOptions{})
	return err
}

// ensureBuilder inspects the buildx builder and (re)creates it when it is
// missing, as Kamal does.
func (k *Builder) ensureBuilder(ctx context.Context, b *commands.Builder) error {
	inspect := b.Inspect()
	if inspect == nil {
		return nil
	}
	err := k.localRun(ctx, inspect, remote.Info)
	if err == nil {
		return nil
	}
	if !commands.MissingBuilder(errorOutput(err)) {
		return err
	}
	k.Out.Log(remote.Warn, "", "Missing compatible builder, so creating a new one first")
	if rm := b.Remove(); rm != nil {
		if rmErr := k.localRun(ctx, rm, remote.Info); rmErr != nil &&
			!strings.Contains(errorOutput(rmErr), "context not found") && !strings.Contains(errorOutput(rmErr), "no builder") &&
			!strings.Contains(errorOutput(rmErr), "does not exist") {
			return rmErr
		}
	}
	return k.Create(ctx)
}

func errorOutput(err error) string {
	var ce *remote.CommandError
	if errors.As(err, &ce) {
		return ce.Stdout + "\n" + ce.Stderr
	}
	return err.Error()
}

// buildSecretsEnv resolves builder.secrets into KEY=VALUE entries for the
// local build process (redacted from all output).
func (k *Builder) buildSecretsEnv() ([]string, error) {
	var env []string
	for _, name := range k.Config.Builder.Secrets {
		v, err := k.Secret(name)
		if err != nil {
			return nil, fmt.Errorf("builder secret %s: %w", name, err)
		}
		env = append(env, name+"="+v)
	}
	return env, nil
}

// Pull is `kamal build pull`: on every targeted app host (a host per
// registry mirror first), record `Pulled image with version V` in the
// audit log, drop the old tag, pull, and check the image's service label.
func (k *Builder) Pull(ctx context.Context) error {
	if !k.Config.Registry.Local {
		if err := k.registry.loginOnHosts(ctx, k.AppHosts()); err != nil {
			return err
		}
	}
	return k.registry.withLocalRegistryForward(ctx, k.AppHosts(), func() error {
		hosts := k.AppHosts()
		first, err := k.mirrorHosts(ctx, hosts)
		if err != nil {
			return err
		}
		if len(first) > 0 {
			noun := "mirror"
			if len(first) > 1 {
				noun = "mirrors"
			}
			k.Say("Pulling image on %s to seed the %s...", strings.Join(first, ", "), noun)
			if err := k.pullOn(ctx, first); err != nil {
				return err
			}
			k.Say("Pulling image on remaining hosts...")
			var rest []string
			for _, h := range hosts {
				if !slices.Contains(first, h) {
					rest = append(rest, h)
				}
			}
			return k.pullOn(ctx, rest)
		}
		return k.pullOn(ctx, hosts)
	})
}

// pullThroughAPI is the pull of one host through its Docker API: drop a
// stale local tag, pull with the registry's credentials (the Engine does
// not read the login user's docker config), check the service label.
func (k *Builder) pullThroughAPI(ctx context.Context, h string, p *commands.Pull) error {
	var auth *dockerapi.Auth
	if reg := k.Config.Registry; !reg.Local {
		user, err := k.Resolve(reg.Username)
		if err != nil {
			return fmt.Errorf("registry username: %w", err)
		}
		password, err := k.Resolve(reg.Password)
		if err != nil {
			return fmt.Errorf("registry password: %w", err)
		}
		auth = &dockerapi.Auth{Server: reg.Server, Username: user, Password: password}
	}
	image := p.Image()
	if _, _, err := k.viaAPI(ctx, h, p.RemoveImage(), remote.Info, func(api *dockerapi.Client) (string, error) {
		// As with `--force`, an image that is not there is no failure.
		if err := api.RemoveImage(ctx, image, true); !dockerapi.IsNotFound(err) {
			return "", err
		}
		return "", nil
	}); unreachable(err) != nil {
		return err
	}
	if _, _, err := k.viaAPI(ctx, h, p.Pull(), remote.Info, func(api *dockerapi.Client) (string, error) {
		var progress strings.Builder
		err := api.Pull(ctx, image, auth, func(line string) { progress.WriteString(line + "\n") })
		return progress.String(), err
	}); err != nil {
		return err
	}
	_, _, err := k.viaAPI(ctx, h, p.ValidateImage(), remote.Info, func(api *dockerapi.Client) (string, error) {
		img, err := api.ImageInspect(ctx, image)
		if err != nil {
			return "", err
		}
		if img.Config == nil || img.Config.Labels["service"] != k.Config.Service {
			return "", errors.New(p.MissingLabel())
		}
		return k.Config.Service, nil
	})
	return err
}

// Deliver is `kamal build deliver`: push, then pull.
func (k *Builder) Deliver(ctx context.Context, o BuildOptions) error {
	if err := k.Push(ctx, o); err != nil {
		return err
	}
	return k.Pull(ctx)
}

func (k *Builder) pullOn(ctx context.Context, hosts []string) error {
	v, err := k.Version()
	if err != nil {
		return err
	}
	p := commands.NewPull(k.Config, v)
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		return k.step(h, "", "pull", func() error {
			if err := k.recordOn(ctx, h, "Pulled image with version "+v); err != nil {
				return err
			}
			if api := k.docker(ctx, h); api != nil {
				return k.pullThroughAPI(ctx, h, p)
			}
			if _, err := k.Test(ctx, h, p.RemoveImage(), remote.Info); err != nil {
				return err
			}
			if err := k.Execute(ctx, h, p.Pull(), remote.Info); err != nil {
				return err
			}
			return k.Execute(ctx, h, p.ValidateImage(), remote.Info)
		})
	})
}

// mirrorHosts picks one host per distinct registry mirror (only with more
// than one host), so each mirror is seeded once before the others pull.
func (k *Builder) mirrorHosts(ctx context.Context, hosts []string) ([]string, error) {
	if len(hosts) < 2 {
		return nil, nil
	}
	p := commands.NewPull(k.Config, "")
	var mu sync.Mutex
	mirrorOf := map[string]string{}
	err := k.On(ctx, hosts, func(ctx context.Context, h string) error {
		if mirror, ok, err := k.viaAPI(ctx, h, p.FirstMirror(), remote.Info, func(api *dockerapi.Client) (string, error) {
			info, err := api.Info(ctx)
			if err != nil || info.RegistryConfig == nil || len(info.RegistryConfig.Mirrors) == 0 {
				return "", err
			}
			return info.RegistryConfig.Mirrors[0], nil
		}); ok {
			if err != nil || mirror == "" {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			mirrorOf[h] = mirror
			return nil
		}
		res, err := k.Exec(ctx, h, p.FirstMirror(), remote.ExecOptions{AllowFailure: true})
		if err != nil {
			return err
		}
		out := strings.TrimSpace(res.Stdout)
		if res.ExitStatus != 0 {
			// No mirror configured: Docker's template fails on the index.
			if strings.Contains(res.Stdout+res.Stderr, "index out of range") {
				return nil
			}
			return &remote.CommandError{Host: h, Command: res.Command, ExitStatus: res.ExitStatus, Stdout: res.Stdout, Stderr: res.Stderr}
		}
		if out == "" || out == "<no value>" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		mirrorOf[h] = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The first host of each mirror in the hosts' order (Kamal takes
	// whichever answers first; a stable choice is easier to follow).
	var first []string
	seen := map[string]bool{}
	for _, h := range hosts {
		if m, ok := mirrorOf[h]; ok && !seen[m] {
			seen[m] = true
			first = append(first, h)
		}
	}
	return first, nil
}

// Dev is `kamal build dev`: build the working directory (not a
// clone) into the local image store, tagged `<version>-dirty` and
// `<latest>-dirty`, warning about uncommitted and untracked files.
func (k *Builder) Dev(ctx context.Context, o BuildOptions) error {
	b, buildx, err := k.localBuilder(ctx)
	if err != nil {
		return err
	}
	k.warnDevFiles(ctx, b.Context())
	env, err := k.buildEnv(b)
	if err != nil {
		return err
	}
	if o.Output == "" {
		o.Output = "docker"
	}
	if classicBuilder(b, buildx) {
		return k.classicBuild(ctx, b, "", env, o, true)
	}
	return k.runBuild(ctx, b, "", env, b.DevOutput(o.Output, o.NoCache))
}

// Create is `kamal build create`: create the buildx builder (for a
// remote builder, check the SSH connection to it first).
func (k *Builder) Create(ctx context.Context) error {
	b, err := k.builder()
	if err != nil {
		return err
	}
	if err := k.requireBuildx(ctx, "kamal build create"); err != nil {
		return err
	}
	if err := k.checkRemoteBuilderHost(ctx); err != nil {
		return err
	}
	k.Out.Log(remote.Debug, "", "Using builder: "+b.Name())
	c := b.Create()
	if c == nil {
		return nil
	}
	err = k.localRun(ctx, c, remote.Info)
	var ce *remote.CommandError
	if errors.As(err, &ce) && b.Kind() == commands.BuilderRemote {
		k.Out.Log(remote.Error, "", "Couldn't create remote builder: "+strings.TrimSpace(ce.Stderr))
		return nil
	}
	return err
}

// checkRemoteBuilderHost runs `true` over SSH on an ssh:// remote
// builder before the builder is created, as Kamal does, so an unreachable
// builder host fails with the SSH error (and the host key gets verified
// and recorded) instead of a buildx error later.
func (k *Builder) checkRemoteBuilderHost(ctx context.Context) error {
	host, ok, err := remoteBuilderHost(k.Config.Builder.Remote)
	if err != nil || !ok {
		return err
	}
	if err := k.Execute(ctx, host, commands.New("true"), remote.Info); err != nil {
		return fmt.Errorf("connecting to the remote builder %s: %w", k.Config.Builder.Remote, err)
	}
	return nil
}

// remoteBuilderHost turns an ssh:// builder.remote into the pool's
// "[user@]host[:port]" form; ok is false for other schemes (tcp://…).
func remoteBuilderHost(remoteURL string) (host string, ok bool, err error) {
	if remoteURL == "" {
		return "", false, nil
	}
	u, err := url.Parse(remoteURL)
	if err != nil {
		return "", false, fmt.Errorf("builder remote %q: %w", remoteURL, err)
	}
	if u.Scheme != "ssh" {
		return "", false, nil
	}
	if u.Hostname() == "" {
		return "", false, fmt.Errorf("builder remote %q has no host", remoteURL)
	}
	host = u.Hostname()
	if u.Port() != "" || strings.Contains(host, ":") {
		port := u.Port()
		if port == "" {
			port = "22"
		}
		host = net.JoinHostPort(host, port)
	}
	if u.User != nil && u.User.Username() != "" {
		host = u.User.Username() + "@" + host
	}
	return host, true, nil
}

// Remove is `kamal build remove`: remove the buildx builder.
func (k *Builder) Remove(ctx context.Context) error {
	b, err := k.builder()
	if err != nil {
		return err
	}
	if err := k.requireBuildx(ctx, "kamal build remove"); err != nil {
		return err
	}
	k.Out.Log(remote.Debug, "", "Using builder: "+b.Name())
	c := b.Remove()
	if c == nil {
		return nil
	}
	return k.localRun(ctx, c, remote.Info)
}

// Details is `kamal build details`: the builder name, then the docker
// contexts and buildx builders (without buildx, says so and lists only
// the contexts).
func (k *Builder) Details(ctx context.Context) error {
	b, err := k.builder()
	if err != nil {
		return err
	}
	buildx, err := k.localBuildx(ctx)
	if err != nil {
		return err
	}
	k.Puts("Builder: " + b.Name())
	cmd := b.Info()
	if !buildx {
		k.Puts("Docker buildx plugin is not installed locally: builds use the classic `docker build` (local single-arch builds only)")
		cmd = commands.New("docker", "context", "ls")
	}
	res, err := k.local("", nil).Exec(ctx, "localhost", shell.Command(cmd...), remote.ExecOptions{})
	if err != nil {
		return err
	}
	k.Puts(strings.TrimSpace(res.Stdout))
	return nil
}

func (k *Builder) requireBuildx(ctx context.Context, what string) error {
	ok, err := k.localBuildx(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return &DependencyError{"Docker buildx plugin is not installed locally; `" + what + "` manages buildx builders and needs it (builds without buildx use the classic `docker build`)"}
	}
	return nil
}
