package e2e

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// appRepo is a test application: a git repository holding a static Go
// web server, a FROM scratch Dockerfile that only copies files, a kamal
// configuration and secrets, plus a private HOME (known_hosts, an ssh
// config for `docker -H ssh://`) and DOCKER_CONFIG for the kamal runs.
type appRepo struct {
	Dir          string
	Image        string // repository without the registry: e2e/build-<random>
	Service      string
	home         string
	dockerConfig string
	tmp          string // TMPDIR of the kamal runs (holds the git clone)
	hookLog      string
}

const testDockerfile = `FROM scratch
ARG GREETING=unset
ENV GREETING=${GREETING}
COPY app /app
COPY marker.txt /marker.txt
EXPOSE 80
ENTRYPOINT ["/app"]
`

func randomSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newAppRepo creates and commits the test app. builder is the YAML body of
// the builder section (indented by two spaces); password is what
// .kamal/secrets gives as KAMAL_REGISTRY_PASSWORD.
func newAppRepo(t *testing.T, ctx context.Context, builder, password string) *appRepo {
	t.Helper()
	r := &appRepo{
		Dir:          t.TempDir(),
		Image:        "e2e/build-" + randomSuffix(t),
		Service:      "buildapp",
		home:         t.TempDir(),
		dockerConfig: t.TempDir(),
		tmp:          t.TempDir(),
	}
	r.hookLog = filepath.Join(r.home, "hooks.log")

	// The app binary, built static because the image has no libc.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(r.Dir, "app"),
		"github.com/kamalgo/kamal/internal/testhosts/images/app")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the app binary: %v\n%s", err, out)
	}

	var hosts strings.Builder
	for _, h := range env.Hosts {
		fmt.Fprintf(&hosts, "    - %s\n", h.IP)
	}
	deployYML := fmt.Sprintf(`service: %s
image: %s
servers:
  web:
%sregistry:
  server: %s
  username: %s
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
%sssh:
  keys: [ %q ]
  keys_only: true
`, r.Service, r.Image, hosts.String(), env.Registry, env.RegistryUser, builder, env.SSHKeyPath)

	hook := func(name string) string {
		return fmt.Sprintf("#!/bin/sh\necho \"%s $KAMAL_COMMAND $KAMAL_SUBCOMMAND $KAMAL_VERSION\" >> %q\n", name, r.hookLog)
	}
	files := map[string]string{
		"Dockerfile":               testDockerfile,
		"marker.txt":               "committed\n",
		".gitignore":               ".kamal/secrets\n",
		"config/deploy.yml":        deployYML,
		".kamal/hooks/pre-connect": hook("pre-connect"),
		".kamal/hooks/pre-build":   hook("pre-build"),
	}
	for name, body := range files {
		r.write(t, name, body)
	}
	for _, h := range []string{"pre-connect", "pre-build"} {
		if err := os.Chmod(filepath.Join(r.Dir, ".kamal/hooks", h), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r.Dir, ".kamal/secrets"), []byte("KAMAL_REGISTRY_PASSWORD="+password+"\nBUILD_TOKEN=s3cr3t-build-token-"+randomSuffix(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.git(t, ctx, "init", "-q", "-b", "main")
	r.git(t, ctx, "add", ".")
	r.git(t, ctx, "commit", "-q", "-m", "test app")

	// HOME: host keys for kamal and ssh, and the key for `docker -H ssh://`.
	if err := os.MkdirAll(filepath.Join(r.home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	known, err := os.ReadFile(env.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	sshConfig := fmt.Sprintf("Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile %s\n  BatchMode yes\n",
		env.SSHKeyPath, filepath.Join(r.home, ".ssh", "known_hosts"))
	for name, body := range map[string][]byte{"known_hosts": known, "config": []byte(sshConfig)} {
		if err := os.WriteFile(filepath.Join(r.home, ".ssh", name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// OpenSSH finds ~/.ssh through the password database, not $HOME, so
	// the ssh that `docker -H ssh://` starts gets the config explicitly.
	bin := filepath.Join(r.home, "bin")
	wrapper := fmt.Sprintf("#!/bin/sh\nexec /usr/bin/ssh -F %s \"$@\"\n", filepath.Join(r.home, ".ssh", "config"))
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *appRepo) write(t *testing.T, name, body string) {
	t.Helper()
	p := filepath.Join(r.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (r *appRepo) git(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com",
		"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// kamal runs the kamal binary in the repository with the deployer's
// Docker and the repository's own HOME and DOCKER_CONFIG (so logins and
// logouts never touch other scenarios).
func (r *appRepo) kamal(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, kamalBin, args...)
	cmd.Dir = r.Dir
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") && !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "TMPDIR=") {
			environ = append(environ, kv)
		}
	}
	cmd.Env = append(environ, "HOME="+r.home, "SSH_AUTH_SOCK=", r.path(), "TMPDIR="+r.tmp,
		"DOCKER_HOST="+env.DeployerDockerHost, "DOCKER_CONFIG="+r.dockerConfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// path puts the ssh wrapper first in PATH.
func (r *appRepo) path() string {
	return "PATH=" + filepath.Join(r.home, "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
}

func (r *appRepo) mustKamal(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := r.kamal(t, ctx, args...)
	if err != nil {
		t.Fatalf("kamal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (r *appRepo) ref(version string) string { return env.Registry + "/" + r.Image + ":" + version }

// cleanupImages removes the repository's images from the deployer and
// the hosts when the test ends.
func (r *appRepo) cleanupImages(t *testing.T) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range append([]*testhosts.Host{env.Deployer()}, env.Hosts...) {
			out, err := h.Docker(ctx, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", env.Registry+"/"+r.Image)
			if err != nil {
				continue
			}
			for _, ref := range strings.Fields(out) {
				_, _ = h.Docker(ctx, "image", "rm", "--force", ref)
			}
		}
	})
}

// imageFile reads path from image ref on h (FROM scratch images have no
// cat, so the file is copied out of a created container).
func imageFile(t *testing.T, ctx context.Context, h *testhosts.Host, ref, path string) string {
	t.Helper()
	name := "e2e-read-" + randomSuffix(t)
	if _, err := h.Docker(ctx, "create", "--name", name, ref); err != nil {
		t.Fatal(err)
	}
	defer h.Docker(context.Background(), "rm", "-f", name) //nolint:errcheck
	cmd := exec.CommandContext(ctx, "docker", "cp", name+":"+path, "-")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DOCKER_HOST=" + h.DockerHost, "DOCKER_CONFIG=" + filepath.Join(h.Home, ".docker")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker cp %s from %s on %s: %v", path, ref, h.Name, err)
	}
	tr := tar.NewReader(strings.NewReader(string(out)))
	if _, err := tr.Next(); err != nil {
		t.Fatalf("reading the tar of %s: %v", path, err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func inspectImage(t *testing.T, ctx context.Context, h *testhosts.Host, format, ref string) string {
	t.Helper()
	out, err := h.Docker(ctx, "image", "inspect", "-f", format, ref)
	if err != nil {
		t.Fatalf("inspecting %s: %v", ref, err)
	}
	return strings.TrimSpace(out)
}

// TestBuildDeliver builds a committed app from a clean clone (the
// uncommitted change is left out), pushes it to the registry with
// htpasswd auth and pulls it on the three hosts in parallel.
func TestBuildDeliver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := newAppRepo(t, ctx, "  arch: amd64\n  args:\n    GREETING: hello-from-args\n", env.RegistryPassword)
	r.cleanupImages(t)
	sha := r.git(t, ctx, "rev-parse", "HEAD")
	r.write(t, "marker.txt", "uncommitted\n")

	out := r.mustKamal(t, ctx, "build", "deliver", "-v")
	for _, want := range []string{
		"Building from a local git clone, so ignoring these uncommitted changes:",
		"M marker.txt",
		"--password-stdin",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, env.RegistryPassword) {
		t.Errorf("the registry password shows in the output:\n%s", out)
	}
	if !hasBuildx(t, ctx) && strings.Count(out, "classic `docker build`") != 1 {
		t.Errorf("the classic build notice should show once:\n%s", out)
	}

	hooks, err := os.ReadFile(r.hookLog)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("pre-connect build deliver %s\npre-build build deliver %s\n", sha, sha); string(hooks) != want {
		t.Errorf("hooks ran as\n%s\nwant\n%s", hooks, want)
	}

	// Both tags were built on the deployer.
	for _, tag := range []string{sha, "latest"} {
		if got := inspectImage(t, ctx, env.Deployer(), "{{ index .Config.Labels \"service\" }}", r.ref(tag)); got != r.Service {
			t.Errorf("%s: service label %q, want %q", tag, got, r.Service)
		}
	}
	for _, h := range env.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			ref := r.ref(sha)
			if got := inspectImage(t, ctx, h, "{{ index .Config.Labels \"service\" }}", ref); got != r.Service {
				t.Errorf("service label %q, want %q", got, r.Service)
			}
			if got := inspectImage(t, ctx, h, "{{ json .Config.Env }}", ref); !strings.Contains(got, `"GREETING=hello-from-args"`) {
				t.Errorf("the build arg did not reach the build: env %s", got)
			}
			if got := imageFile(t, ctx, h, ref, "/marker.txt"); got != "committed\n" {
				t.Errorf("marker.txt in the image = %q, want the committed content", got)
			}
			audit, err := os.ReadFile(filepath.Join(h.Home, ".kamal", r.Service+"-audit.log"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(audit), "Pulled image with version "+sha) {
				t.Errorf("audit log lacks the pull:\n%s", audit)
			}
		})
	}

	// A second push reuses and resets the clone.
	r.write(t, "marker.txt", "second commit\n")
	r.git(t, ctx, "commit", "-q", "-am", "second")
	sha2 := r.git(t, ctx, "rev-parse", "HEAD")
	out = r.mustKamal(t, ctx, "build", "push")
	if !strings.Contains(out, "Resetting local clone") {
		t.Errorf("the second build should reuse the clone:\n%s", out)
	}
	if got := imageFile(t, ctx, env.Deployer(), r.ref(sha2), "/marker.txt"); got != "second commit\n" {
		t.Errorf("marker.txt after the second commit = %q", got)
	}
}

// TestBuildContextDirectory builds the working tree with `context: .`:
// the uncommitted change is in the image and the version says so.
func TestBuildContextDirectory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := newAppRepo(t, ctx, "  arch: amd64\n  context: .\n", env.RegistryPassword)
	r.cleanupImages(t)
	sha := r.git(t, ctx, "rev-parse", "HEAD")
	r.write(t, "marker.txt", "uncommitted\n")

	out := r.mustKamal(t, ctx, "build", "push")
	if !strings.Contains(out, "Building with uncommitted changes:") {
		t.Errorf("output lacks the uncommitted changes note:\n%s", out)
	}
	tags, err := env.Deployer().Docker(ctx, "image", "ls", "--format", "{{.Tag}}", env.Registry+"/"+r.Image)
	if err != nil {
		t.Fatal(err)
	}
	var version string
	for _, tag := range strings.Fields(tags) {
		if strings.HasPrefix(tag, sha+"_uncommitted_") {
			version = tag
		}
	}
	if version == "" {
		t.Fatalf("no %s_uncommitted_… tag among %q", sha, tags)
	}
	if got := imageFile(t, ctx, env.Deployer(), r.ref(version), "/marker.txt"); got != "uncommitted\n" {
		t.Errorf("marker.txt = %q, want the working tree's", got)
	}
}

// TestBuildDev builds the working tree into the local image store with
// -dirty tags and warns about the uncommitted and untracked files.
func TestBuildDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := newAppRepo(t, ctx, "  arch: amd64\n", env.RegistryPassword)
	r.cleanupImages(t)
	sha := r.git(t, ctx, "rev-parse", "HEAD")
	r.write(t, "marker.txt", "dev\n")
	r.write(t, "notes.txt", "untracked\n")

	out := r.mustKamal(t, ctx, "build", "dev")
	for _, want := range []string{
		"WARNING: Files with uncommitted changes will be present in the dev container:\n  marker.txt",
		"WARNING: Untracked files will be present in the dev container:\n  notes.txt",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := imageFile(t, ctx, env.Deployer(), r.ref(sha+"-dirty"), "/marker.txt"); got != "dev\n" {
		t.Errorf("marker.txt = %q, want the working tree's", got)
	}
	inspectImage(t, ctx, env.Deployer(), "{{.Id}}", r.ref("latest-dirty"))
}

// TestBuildErrors checks the messages of builds that cannot run.
func TestBuildErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("missing Dockerfile", func(t *testing.T) {
		r := newAppRepo(t, ctx, "  arch: amd64\n  dockerfile: Dockerfile.production\n", env.RegistryPassword)
		out, err := r.kamal(t, ctx, "build", "push")
		if err == nil || !strings.Contains(out, "Missing Dockerfile.production") {
			t.Errorf("want Missing Dockerfile.production, got %v:\n%s", err, out)
		}
	})

	t.Run("no git repository", func(t *testing.T) {
		r := newAppRepo(t, ctx, "  arch: amd64\n", env.RegistryPassword)
		if err := os.RemoveAll(filepath.Join(r.Dir, ".git")); err != nil {
			t.Fatal(err)
		}
		out, err := r.kamal(t, ctx, "build", "push")
		if err == nil || !strings.Contains(out, "no git repository found in ") {
			t.Errorf("want the no git repository error, got %v:\n%s", err, out)
		}
		// With a forced version the clone still needs git.
		out, err = r.kamal(t, ctx, "build", "push", "--version", "v1")
		if err == nil || !strings.Contains(out, "no git repository found in ") || !strings.Contains(out, "builder.context") {
			t.Errorf("want the clone error, got %v:\n%s", err, out)
		}
	})

	t.Run("multi-arch", func(t *testing.T) {
		if hasBuildx(t, ctx) {
			t.Skip("buildx is installed")
		}
		r := newAppRepo(t, ctx, "  arch: [amd64, arm64]\n", env.RegistryPassword)
		out, err := r.kamal(t, ctx, "build", "push")
		if err == nil || !strings.Contains(out, "multi-arch build") {
			t.Errorf("want the buildx error for a multi-arch build, got %v:\n%s", err, out)
		}
		for _, c := range []string{"create", "remove"} {
			out, err := r.kamal(t, ctx, "build", c)
			if err == nil || !strings.Contains(out, "Docker buildx plugin is not installed locally") {
				t.Errorf("build %s without buildx: %v\n%s", c, err, out)
			}
		}
		out, err = r.kamal(t, ctx, "build", "details")
		if err != nil || !strings.Contains(out, "Builder: kamal-local-docker-container") || !strings.Contains(out, "not installed") {
			t.Errorf("build details without buildx: %v\n%s", err, out)
		}
	})

	t.Run("image without service label", func(t *testing.T) {
		r := newAppRepo(t, ctx, "  arch: amd64\n", env.RegistryPassword)
		r.cleanupImages(t)
		// An image labelled for another service.
		ref, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: r.Image, Tag: "v1", Service: "other"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.kamal(t, ctx, "build", "pull", "--version", "v1")
		if want := "Image " + ref + " is missing the 'service' label"; err == nil || !strings.Contains(out, want) {
			t.Errorf("want %q, got %v:\n%s", want, err, out)
		}
	})
}

// TestBuildRemoteBuilder builds on a host's Docker over ssh://root@<host>
// (local: false): the image is built and pushed there, never on the
// deployer, and pulls elsewhere.
func TestBuildRemoteBuilder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	builderHost := env.Hosts[0]
	r := newAppRepo(t, ctx, fmt.Sprintf("  arch: amd64\n  local: false\n  remote: ssh://root@%s\n", builderHost.IP), env.RegistryPassword)
	r.cleanupImages(t)
	sha := r.git(t, ctx, "rev-parse", "HEAD")

	// The docker CLI reaches the builder's daemon over ssh with this HOME.
	check := exec.CommandContext(ctx, "docker", "-H", "ssh://root@"+builderHost.IP, "version", "--format", "{{.Server.Version}}")
	check.Env = append(os.Environ(), "HOME="+r.home, "SSH_AUTH_SOCK=", "DOCKER_CONFIG="+r.dockerConfig, r.path())
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("docker over ssh to %s: %v\n%s", builderHost.Name, err, out)
	}

	r.mustKamal(t, ctx, "build", "push")
	if _, err := env.Deployer().Docker(ctx, "image", "inspect", r.ref(sha)); err == nil {
		t.Errorf("the image was built on the deployer, not on %s", builderHost.Name)
	}
	if got := inspectImage(t, ctx, builderHost, "{{ index .Config.Labels \"service\" }}", r.ref(sha)); got != r.Service {
		t.Errorf("service label on the builder = %q", got)
	}
	r.mustKamal(t, ctx, "build", "pull", "-h", env.Hosts[1].IP)
	if got := imageFile(t, ctx, env.Hosts[1], r.ref(sha), "/marker.txt"); got != "committed\n" {
		t.Errorf("marker.txt = %q", got)
	}
}

// TestBuildSecret checks builder.secrets. Without the buildx plugin the
// build must refuse before running anything, naming the feature. With
// E2E_BUILDX_PLUGIN pointing at a docker-buildx binary (.ci/run builds one),
// the secret must reach the build through BuildKit's secret mount and appear
// neither in the output nor in the image history. Under CI=true the plugin
// is required, so the real secret build always runs there.
func TestBuildSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := newAppRepo(t, ctx, "  arch: amd64\n  driver: docker\n  secrets:\n    - BUILD_TOKEN\n", env.RegistryPassword)
	r.cleanupImages(t)
	secrets, err := os.ReadFile(filepath.Join(r.Dir, ".kamal/secrets"))
	if err != nil {
		t.Fatal(err)
	}
	_, token, _ := strings.Cut(strings.Split(strings.TrimSpace(string(secrets)), "\n")[1], "=")

	if hasBuildx(t, ctx) {
		t.Fatal("the deployer's docker has a buildx plugin: the refusal below cannot be tested")
	}
	out, err := r.kamal(t, ctx, "build", "push", "-v")
	if err == nil || !strings.Contains(out, "Docker buildx plugin is not installed locally, and build secrets needs it") {
		t.Errorf("want the buildx error for build secrets, got %v:\n%s", err, out)
	}
	if strings.Contains(out, "docker login ") || strings.Contains(out, "docker build ") {
		t.Errorf("commands ran before the buildx error:\n%s", out)
	}
	if strings.Contains(out, token) {
		t.Errorf("the build secret leaked into the output:\n%s", out)
	}

	plugin := os.Getenv("E2E_BUILDX_PLUGIN")
	if plugin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("E2E_BUILDX_PLUGIN is not set: .ci/run builds the buildx plugin for this test")
		}
		t.Skip("E2E_BUILDX_PLUGIN not set: the build with a secret needs the buildx plugin")
	}

	// Install the plugin for this repository's docker config only.
	plugins := filepath.Join(r.dockerConfig, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plugin, filepath.Join(plugins, "docker-buildx")); err != nil {
		t.Fatal(err)
	}
	// A static helper hashes the mounted secret into the image: a FROM
	// scratch image has no shell, so RUN uses the exec form.
	src := t.TempDir()
	for name, body := range map[string]string{
		"go.mod": "module readsecret\n\ngo 1.22\n",
		"main.go": `package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	sum := sha256.Sum256(b)
	if err := os.WriteFile(os.Args[2], []byte(hex.EncodeToString(sum[:])), 0o644); err != nil {
		os.Exit(1)
	}
}
`,
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(r.Dir, "readsecret"), ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building readsecret: %v\n%s", err, out)
	}
	r.write(t, "Dockerfile", `FROM scratch
COPY app /app
COPY readsecret /readsecret
RUN --mount=type=secret,id=BUILD_TOKEN ["/readsecret", "/run/secrets/BUILD_TOKEN", "/secret.sha256"]
ENTRYPOINT ["/app"]
`)
	r.git(t, ctx, "add", ".")
	r.git(t, ctx, "commit", "-q", "-m", "secret build")
	sha := r.git(t, ctx, "rev-parse", "HEAD")

	out = r.mustKamal(t, ctx, "build", "push", "-v")
	t.Logf("kamal build push with buildx:\n%s", out)
	if !strings.Contains(out, "docker buildx build --output=type=registry") {
		t.Errorf("not built with buildx:\n%s", out)
	}
	if strings.Contains(out, token) {
		t.Errorf("the build secret leaked into the output:\n%s", out)
	}
	want := sha256.Sum256([]byte(token))
	if got := imageFile(t, ctx, env.Deployer(), r.ref(sha), "/secret.sha256"); got != hex.EncodeToString(want[:]) {
		t.Errorf("the secret did not reach the build: hash %q", got)
	}
	history, err := env.Deployer().Docker(ctx, "history", "--no-trunc", r.ref(sha))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(history, token) {
		t.Errorf("the secret is in the image history:\n%s", history)
	}
}

// hasBuildx reports whether the docker CLI has the buildx plugin.
func hasBuildx(t *testing.T, ctx context.Context) bool {
	t.Helper()
	cmd := exec.CommandContext(ctx, "docker", "buildx", "version")
	cmd.Env = append(os.Environ(), env.DeployerEnv()...)
	return cmd.Run() == nil
}

// TestBuildRemoteBuilderLocalRegistry: a remote builder with a local
// registry (`server: localhost:<port>`, listening only on this machine's
// loopback). The builder's daemon pushes to its own localhost:<port>,
// which kamal forwards over SSH to this machine for the build, as Kamal
// does.
func TestBuildRemoteBuilderLocalRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	builderHost := env.Hosts[0]
	r := newAppRepo(t, ctx, fmt.Sprintf("  arch: amd64\n  local: false\n  remote: ssh://root@%s\n", builderHost.IP), env.RegistryPassword)
	port := freePort(t)
	startLoopbackRegistry(t, ctx, port, t.TempDir())
	local := fmt.Sprintf("localhost:%d", port)

	cfgPath := filepath.Join(r.Dir, "config/deploy.yml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	reg := fmt.Sprintf("registry:\n  server: %s\n  username: %s\n  password:\n    - KAMAL_REGISTRY_PASSWORD\n", env.Registry, env.RegistryUser)
	if !strings.Contains(string(cfg), reg) {
		t.Fatalf("unexpected config:\n%s", cfg)
	}
	r.write(t, "config/deploy.yml", strings.Replace(string(cfg), reg, "registry:\n  server: "+local+"\n", 1))
	r.git(t, ctx, "commit", "-q", "-am", "local registry")
	sha := r.git(t, ctx, "rev-parse", "HEAD")

	// `build push` first runs `docker start kamal-docker-registry || docker
	// run … registry:3` here; a stand-in container (of a test image) makes
	// the start succeed without Docker Hub. The registry itself is the
	// loopback one started above.
	standIn, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: "e2e/registry-stand-in", Tag: "v1", Service: "stand-in"})
	if err != nil {
		t.Fatal(err)
	}
	deployer := env.Deployer()
	_, _ = deployer.Docker(ctx, "rm", "-f", "kamal-docker-registry")
	if _, err := deployer.Docker(ctx, "create", "--name", "kamal-docker-registry", standIn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = deployer.Docker(ctx, "rm", "-f", "kamal-docker-registry")
		out, _ := builderHost.Docker(ctx, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", local+"/"+r.Image)
		for _, ref := range strings.Fields(out) {
			_, _ = builderHost.Docker(ctx, "image", "rm", "--force", ref)
		}
	})

	r.mustKamal(t, ctx, "build", "push")
	tags := waitHTTP(t, ctx, fmt.Sprintf("http://127.0.0.1:%d/v2/%s/tags/list", port, r.Image), 200)
	for _, want := range []string{`"` + sha + `"`, `"latest"`} {
		if !strings.Contains(tags, want) {
			t.Errorf("the local registry's tags %s lack %s", tags, want)
		}
	}
	// The forward lasted only for the build.
	if _, err := builderHost.Docker(ctx, "push", local+"/"+r.Image+":"+sha); err == nil {
		t.Errorf("%s pushed to %s after kamal ended: the port forward outlived it", builderHost.Name, local)
	}
}
