package deploy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kamalgo/kamal/internal/remote"
)

// recorder is an Executor for hosts and for local commands: it records
// each command with its stdin and environment, answers from rules, and
// can hand local commands other than docker to a real shell (git).
type recorder struct {
	mu       sync.Mutex
	calls    []call
	rules    []bRule
	realGit  bool
	forwards []string
	stopped  int
	open     int // forwards open now
}

type call struct {
	host, cmd, stdin, dir string
	env                   []string
	forwards              int // port forwards open while it ran
}

// bRule answers commands containing match (on host, "" for any).
type bRule struct {
	host, match    string
	stdout, stderr string
	exit           int
}

func (r *recorder) Exec(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	return r.exec(ctx, host, "", nil, cmd, o)
}

func (r *recorder) exec(ctx context.Context, host, dir string, env []string, cmd string, o remote.ExecOptions) (remote.Result, error) {
	var stdin string
	if o.Stdin != nil {
		b, _ := io.ReadAll(o.Stdin)
		stdin = string(b)
	}
	r.mu.Lock()
	r.calls = append(r.calls, call{host: host, cmd: cmd, stdin: stdin, dir: dir, env: env, forwards: r.open})
	rules := slices.Clone(r.rules)
	r.mu.Unlock()
	if r.realGit && host == "localhost" && strings.HasPrefix(cmd, "/usr/bin/env git") {
		return (&remote.Local{Dir: dir, Env: env}).Exec(ctx, host, cmd, o)
	}
	res := remote.Result{Host: host, Command: cmd}
	for _, ru := range rules {
		if (ru.host == "" || ru.host == host) && strings.Contains(cmd, ru.match) {
			res.Stdout, res.Stderr, res.ExitStatus = ru.stdout, ru.stderr, ru.exit
			break
		}
	}
	if res.ExitStatus != 0 && !o.AllowFailure {
		return res, &remote.CommandError{Host: host, Command: cmd, ExitStatus: res.ExitStatus, Stdout: res.Stdout, Stderr: res.Stderr}
	}
	return res, nil
}

func (r *recorder) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	return errors.New("no uploads here")
}

func (r *recorder) ForwardRemotePort(ctx context.Context, host string, port int, local string) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forwards = append(r.forwards, host+" -> "+local)
	r.open++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.stopped++
		r.open--
	}, nil
}

// localExec routes the local executor of a Kamal to the recorder.
type localExec struct {
	r   *recorder
	dir string
	env []string
}

func (l *localExec) Exec(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	return l.r.exec(ctx, "localhost", l.dir, l.env, cmd, o)
}

func (l *localExec) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	return errors.New("no uploads here")
}

// onHosts lists the commands run on host (audit lines dropped unless
// keepAudit), in order.
func (r *recorder) on(host string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if c.host == host {
			out = append(out, c.cmd)
		}
	}
	return out
}

func (r *recorder) find(host, match string) (call, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c.host == host && strings.Contains(c.cmd, match) {
			return c, true
		}
	}
	return call{}, false
}

// hostsWith lists the hosts that ran a command containing match.
func (r *recorder) hostsWith(match string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if strings.Contains(c.cmd, match) && !slices.Contains(out, c.host) {
			out = append(out, c.host)
		}
	}
	slices.Sort(out)
	return out
}

// notRevealed fails when secret is in the argv of a recorded command or in
// the printed output.
func notRevealed(t *testing.T, rec *recorder, out *bytes.Buffer, secret string) {
	t.Helper()
	for _, c := range rec.calls {
		if strings.Contains(c.cmd, secret) {
			t.Errorf("a secret is in argv: %s", c.cmd)
		}
	}
	if strings.Contains(out.String(), secret) {
		t.Errorf("a secret is in the output: %s", out)
	}
}

// newBuildKamal makes a Kamal whose hosts and local commands go to a
// recorder.
func newBuildKamal(t *testing.T, yaml string, opts Options, rules ...bRule) (*Kamal, *recorder, *bytes.Buffer) {
	t.Helper()
	rec := &recorder{rules: rules}
	opts.Local = func(out *remote.Output, dir string, env []string) remote.Executor {
		return &localExec{r: rec, dir: dir, env: env}
	}
	var buf bytes.Buffer
	opts.Executor = rec
	opts.Stdout = &buf
	opts.SkipHooks = true
	opts.Level = remote.LevelDefault
	k, err := New(loadConfig(t, yaml), opts)
	if err != nil {
		t.Fatal(err)
	}
	return k, rec, &buf
}

const accRegistryYAML = multiYAML + `  cache:
    image: redis
    host: 1.1.1.6
    registry:
      server: ghcr.io
      username: acc-user
      password: acc-secret
`

func TestRegistrySetupLogsInWithPasswordOnStdin(t *testing.T) {
	k, rec, out := newBuildKamal(t, accRegistryYAML, Options{})
	if err := k.Registry.Setup(context.Background(), RegistryOptions{}); err != nil {
		t.Fatal(err)
	}
	local, ok := rec.find("localhost", "docker login")
	if !ok || local.cmd != `docker login -u "dhh" --password-stdin` || local.stdin != "secret" {
		t.Errorf("local login = %+v", local)
	}
	if got, want := rec.hostsWith(`docker login -u "dhh" --password-stdin`), []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5", "1.1.1.6", "localhost"}; !slices.Equal(got, want) {
		t.Errorf("app registry login on %v, want %v", got, want)
	}
	acc, ok := rec.find("1.1.1.6", "ghcr.io")
	if !ok || acc.cmd != `docker login ghcr.io -u "acc-user" --password-stdin` || acc.stdin != "acc-secret" {
		t.Errorf("accessory login = %+v", acc)
	}
	if got := rec.hostsWith("ghcr.io"); !slices.Equal(got, []string{"1.1.1.6"}) {
		t.Errorf("accessory registry login on %v, want only its host", got)
	}
	notRevealed(t, rec, out, "secret")
	// As Kamal: the user name word of the login is printed redacted (every
	// printed line and error goes through this redactor), not the name.
	red := k.Out.Redactor()
	for cmd, want := range map[string]string{
		local.cmd:                 `docker login -u [REDACTED] --password-stdin`,
		acc.cmd:                   `docker login ghcr.io -u [REDACTED] --password-stdin`,
		"docker pull dhh/app:999": "docker pull dhh/app:999",
	} {
		if got := red.Redact(cmd); got != want {
			t.Errorf("printed as %q, want %q", got, want)
		}
	}
}

func TestRegistrySkipLocalAndRemote(t *testing.T) {
	tests := []struct {
		name  string
		hosts []string // -h
		run   func(*Registry, context.Context, RegistryOptions) error
		o     RegistryOptions
		cmd   string   // what was run …
		want  []string // … on these hosts
	}{
		{"login -L", nil, (*Registry).Login, RegistryOptions{SkipLocal: true},
			"docker login", []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"}},
		{"logout -h 1.1.1.2 -R", []string{"1.1.1.2"}, (*Registry).Logout, RegistryOptions{SkipRemote: true},
			"docker logout", []string{"localhost"}},
		{"logout -h 1.1.1.2 -L", []string{"1.1.1.2"}, (*Registry).Logout, RegistryOptions{SkipLocal: true},
			"docker logout", []string{"1.1.1.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, rec, _ := newBuildKamal(t, multiYAML, Options{Hosts: tt.hosts})
			if err := tt.run(k.Registry, context.Background(), tt.o); err != nil {
				t.Fatal(err)
			}
			if got := rec.hostsWith(tt.cmd); !slices.Equal(got, tt.want) {
				t.Errorf("%s on %v, want %v", tt.cmd, got, tt.want)
			}
		})
	}
}

func TestRegistryLoginFailureShowsReason(t *testing.T) {
	k, rec, _ := newBuildKamal(t, multiYAML, Options{},
		bRule{host: "localhost", match: "docker login", stderr: "Error response from daemon: login attempt failed: unauthorized", exit: 1})
	err := k.Registry.Login(context.Background(), RegistryOptions{})
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("err = %v, want the registry's reason", err)
	}
	if got := rec.hostsWith("docker login"); !slices.Equal(got, []string{"localhost"}) {
		t.Errorf("hosts logged in after the local login failed: %v", got)
	}
}

const localRegistryYAML = `service: app
image: dhh/app
servers:
  - 1.1.1.1
  - 1.1.1.2
registry:
  server: localhost:5555
builder:
  arch: amd64
`

func TestLocalRegistry(t *testing.T) {
	ctx := context.Background()
	k, rec, _ := newBuildKamal(t, localRegistryYAML, Options{})
	if err := k.Registry.Login(ctx, RegistryOptions{}); !errors.Is(err, ErrLocalRegistryLogin) {
		t.Errorf("login with a local registry: %v", err)
	}
	if err := k.Registry.Logout(ctx, RegistryOptions{}); !errors.Is(err, ErrLocalRegistryLogin) {
		t.Errorf("logout with a local registry: %v", err)
	}
	if err := k.Registry.Setup(ctx, RegistryOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.Registry.Remove(ctx, RegistryOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker --version",
		"docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:5555:5000 --name kamal-docker-registry registry:3",
		"docker stop kamal-docker-registry && docker rm kamal-docker-registry",
	}
	if got := rec.on("localhost"); !slices.Equal(got, want) {
		t.Errorf("local commands\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := rec.on("1.1.1.1"); len(got) != 0 {
		t.Errorf("hosts touched: %v", got)
	}

	// Pulls go through a port forward per host, closed afterwards.
	k, rec, _ = newBuildKamal(t, localRegistryYAML, Options{})
	if err := k.Builder.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(rec.forwards)
	if want := []string{"1.1.1.1 -> 127.0.0.1:5555", "1.1.1.2 -> 127.0.0.1:5555"}; !slices.Equal(rec.forwards, want) || rec.stopped != 2 {
		t.Errorf("forwards %v (stopped %d), want %v", rec.forwards, rec.stopped, want)
	}
	if _, ok := rec.find("1.1.1.1", "docker pull localhost:5555/dhh/app:999"); !ok {
		t.Errorf("no pull from the local registry: %v", rec.on("1.1.1.1"))
	}
	if _, ok := rec.find("1.1.1.1", "docker login"); ok {
		t.Errorf("login on a host with a local registry")
	}
}

func TestBuildPullSteps(t *testing.T) {
	k, rec, out := newBuildKamal(t, multiYAML, Options{Roles: []string{"web"}},
		bRule{match: "RegistryConfig.Mirrors", stderr: "template: :1:2: executing \"\" at <index .RegistryConfig.Mirrors 0>: error calling index: reflect: slice index out of range", exit: 1})
	if err := k.Builder.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`docker login -u "dhh" --password-stdin`,
		`docker info --format '{{index .RegistryConfig.Mirrors 0}}'`,
		"/usr/bin/env mkdir -p .kamal && ",
		"docker image rm --force dhh/app:999",
		"docker pull dhh/app:999",
		`docker inspect -f '{{ .Config.Labels.service }}' dhh/app:999 | grep -x app || (echo "Image dhh/app:999 is missing the 'service' label" && exit 1)`,
	}
	for _, h := range []string{"1.1.1.1", "1.1.1.2"} {
		got := rec.on(h)
		if len(got) != len(want) {
			t.Fatalf("%s ran\n%s", h, strings.Join(got, "\n"))
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("%s step %d = %s, want %s", h, i, got[i], want[i])
			}
		}
		if !strings.Contains(got[2], "Pulled image with version 999") {
			t.Errorf("audit line = %s", got[2])
		}
	}
	if got := rec.hostsWith("docker pull"); !slices.Equal(got, []string{"1.1.1.1", "1.1.1.2"}) {
		t.Errorf("pulled on %v (the web role only)", got)
	}
	if strings.Contains(out.String(), "seed") {
		t.Errorf("no mirror, no seeding: %s", out)
	}
}

func TestBuildPullSeedsMirrorsFirst(t *testing.T) {
	k, rec, out := newBuildKamal(t, multiYAML, Options{},
		bRule{host: "1.1.1.2", match: "RegistryConfig.Mirrors", stdout: "https://mirror-b\n"},
		bRule{host: "1.1.1.4", match: "RegistryConfig.Mirrors", stdout: "https://mirror-b\n"},
		bRule{match: "RegistryConfig.Mirrors", stdout: "https://mirror-a\n"})
	if err := k.Builder.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	// One host per mirror, the first in the hosts' order.
	if !strings.Contains(out.String(), "Pulling image on 1.1.1.1, 1.1.1.2 to seed the mirrors...\nPulling image on remaining hosts...") {
		t.Errorf("output:\n%s", out)
	}
	// The seeding hosts pulled before every other host.
	var order []string
	rec.mu.Lock()
	for _, c := range rec.calls {
		if strings.HasPrefix(c.cmd, "docker pull") {
			order = append(order, c.host)
		}
	}
	rec.mu.Unlock()
	if len(order) != 4 || !slices.Contains(order[:2], "1.1.1.1") || !slices.Contains(order[:2], "1.1.1.2") {
		t.Errorf("pull order %v", order)
	}
}

func TestBuildPullLabelFailure(t *testing.T) {
	msg := "Image dhh/app:999 is missing the 'service' label"
	k, _, _ := newBuildKamal(t, multiYAML, Options{Hosts: []string{"1.1.1.1"}},
		bRule{match: "RegistryConfig.Mirrors", exit: 0},
		bRule{match: "docker inspect -f", stdout: msg + "\n", exit: 1})
	err := k.Builder.Pull(context.Background())
	if err == nil || !strings.Contains(err.Error(), msg) {
		t.Errorf("err = %v, want %q", err, msg)
	}
}

// gitRepo makes a committed repository with a Dockerfile and config, and
// changes into it.
func gitRepo(t *testing.T, yaml string) (dir, sha string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir = t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\nCOPY marker /marker\n")
	write("marker", "committed\n")
	write(".gitignore", ".kamal/secrets\n")
	write(".kamal/secrets", "TOKEN=tok-value-123\n")
	gitEnv := append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "init"}, {"rev-parse", "HEAD"}} {
		c := exec.Command("git", args...)
		c.Dir, c.Env = dir, gitEnv
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		sha = strings.TrimSpace(string(out))
	}
	t.Chdir(dir)
	t.Setenv("TMPDIR", t.TempDir()) // the clone goes to $TMPDIR/kamal-clones
	return dir, sha
}

const buildYAML = `service: app
image: dhh/app
servers:
  - 1.1.1.1
registry:
  username: dhh
  password: secret
builder:
  arch: amd64
`

func TestBuildPushClassicFromClone(t *testing.T) {
	dir, sha := gitRepo(t, buildYAML)
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("dirty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, rec, out := newBuildKamal(t, buildYAML, Options{},
		bRule{host: "localhost", match: "docker buildx version", stderr: "docker: unknown command: docker buildx", exit: 1})
	rec.realGit = true
	k.Config.SetVersion(sha)
	if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	var docker []call
	for _, c := range rec.calls {
		if strings.HasPrefix(c.cmd, "docker") {
			docker = append(docker, c)
		}
	}
	want := []string{
		"docker --version",
		"docker buildx version",
		`docker login -u "dhh" --password-stdin`,
		`docker build -t dhh/app:` + sha + ` -t dhh/app:latest --label service="app" --file Dockerfile . 2>&1`,
		"docker push dhh/app:" + sha + " && docker push dhh/app:latest",
	}
	var got []string
	for _, c := range docker {
		got = append(got, c.cmd)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("docker commands\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	build := docker[3]
	if !strings.Contains(build.dir, "kamal-clones") {
		t.Errorf("build ran in %q, not in the clone", build.dir)
	}
	b, err := os.ReadFile(filepath.Join(build.dir, "marker"))
	if err != nil || string(b) != "committed\n" {
		t.Errorf("clone marker = %q, %v (the uncommitted change must not be built)", b, err)
	}
	for _, wantOut := range []string{
		"Building from a local git clone, so ignoring these uncommitted changes:\n M marker",
		"classic `docker build`",
	} {
		if !strings.Contains(out.String(), wantOut) {
			t.Errorf("output lacks %q:\n%s", wantOut, out)
		}
	}
}

func TestBuildPushBuildxWithSecret(t *testing.T) {
	yaml := buildYAML + "  driver: docker\n  secrets:\n    - TOKEN\n  context: .\n"
	gitRepo(t, yaml)
	k, rec, out := newBuildKamal(t, yaml, Options{})
	if err := k.Builder.Push(context.Background(), BuildOptions{NoCache: true}); err != nil {
		t.Fatal(err)
	}
	c, ok := rec.find("localhost", "docker buildx build")
	if !ok {
		t.Fatalf("no buildx build: %v", rec.on("localhost"))
	}
	want := `docker buildx build --output=type=registry --platform linux/amd64 -t dhh/app:999 -t dhh/app:latest --label service="app" --secret id="TOKEN" --file Dockerfile --no-cache . 2>&1`
	if c.cmd != want {
		t.Errorf("build = %s\nwant  %s", c.cmd, want)
	}
	if !slices.Contains(c.env, "TOKEN=tok-value-123") {
		t.Errorf("the secret is not in the build's environment: %v", c.env)
	}
	notRevealed(t, rec, out, "tok-value-123")
	if c.dir != "" {
		t.Errorf("context: . builds in the working directory, not %q", c.dir)
	}
}

func TestBuildPushCreatesMissingBuilder(t *testing.T) {
	gitRepo(t, buildYAML)
	k, rec, out := newBuildKamal(t, buildYAML+"  context: .\n", Options{},
		bRule{host: "localhost", match: "docker buildx inspect", stderr: "ERROR: no builder \"kamal-local-docker-container\" found", exit: 1})
	if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rec.on("localhost") {
		if strings.HasPrefix(c, "docker buildx") && !strings.HasPrefix(c, "docker buildx version") {
			got = append(got, strings.Fields(c)[2])
		}
	}
	if want := []string{"inspect", "rm", "create", "build"}; !slices.Equal(got, want) {
		t.Errorf("buildx steps %v, want %v", got, want)
	}
	if !strings.Contains(out.String(), "Missing compatible builder, so creating a new one first") {
		t.Errorf("output:\n%s", out)
	}
}

func TestBuildPushNeedsBuildx(t *testing.T) {
	gitRepo(t, buildYAML)
	k, rec, _ := newBuildKamal(t, buildYAML+"  cache:\n    type: gha\n", Options{},
		bRule{host: "localhost", match: "docker buildx version", exit: 1})
	err := k.Builder.Push(context.Background(), BuildOptions{})
	var dep *DependencyError
	if !errors.As(err, &dep) || !strings.Contains(err.Error(), "the build cache") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := rec.find("localhost", "docker login"); ok {
		t.Errorf("nothing should run once buildx is known to be needed")
	}
}

func TestBuildPushMissingDockerfile(t *testing.T) {
	gitRepo(t, buildYAML)
	k, _, _ := newBuildKamal(t, buildYAML+"  dockerfile: Dockerfile.prod\n  context: .\n", Options{})
	err := k.Builder.Push(context.Background(), BuildOptions{})
	if err == nil || err.Error() != "Missing Dockerfile.prod" {
		t.Errorf("err = %v", err)
	}
}

func TestBuildDevClassic(t *testing.T) {
	dir, _ := gitRepo(t, buildYAML)
	if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, rec, out := newBuildKamal(t, buildYAML, Options{},
		bRule{host: "localhost", match: "docker buildx version", exit: 1})
	rec.realGit = true
	if err := k.Builder.Dev(context.Background(), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `docker build -t dhh/app:999-dirty -t dhh/app:latest-dirty --label service="app" --file Dockerfile . 2>&1`
	if _, ok := rec.find("localhost", want); !ok {
		t.Errorf("no dev build %s: %v", want, rec.on("localhost"))
	}
	if _, ok := rec.find("localhost", "docker push"); ok {
		t.Errorf("dev builds are not pushed")
	}
	if !strings.Contains(out.String(), "WARNING: Untracked files will be present in the dev container:\n  new.txt") {
		t.Errorf("output:\n%s", out)
	}
}

func TestBuildCreateRemoveNeedBuildx(t *testing.T) {
	k, _, _ := newBuildKamal(t, buildYAML, Options{}, bRule{host: "localhost", match: "docker buildx version", exit: 1})
	for name, fn := range map[string]func(context.Context) error{"create": k.Builder.Create, "remove": k.Builder.Remove} {
		err := fn(context.Background())
		if err == nil || !strings.Contains(err.Error(), "Docker buildx plugin is not installed locally") {
			t.Errorf("%s: %v", name, err)
		}
	}

	k, rec, out := newBuildKamal(t, buildYAML, Options{}, bRule{host: "localhost", match: "docker context ls && docker buildx ls", stdout: "ctx\nbuilders\n"})
	if err := k.Builder.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := k.Builder.Details(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.find("localhost", "docker buildx create --name kamal-local-docker-container --driver=docker-container"); !ok {
		t.Errorf("no create: %v", rec.on("localhost"))
	}
	if !strings.Contains(out.String(), "Builder: kamal-local-docker-container\nctx\nbuilders\n") {
		t.Errorf("details output:\n%s", out)
	}
}

func TestBuildPullLogsInOnAppHostsOnly(t *testing.T) {
	k, rec, _ := newBuildKamal(t, accRegistryYAML, Options{}, bRule{match: "RegistryConfig.Mirrors", exit: 0})
	if err := k.Builder.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.hostsWith("docker login"), []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"}; !slices.Equal(got, want) {
		t.Errorf("logins on %v, want the app hosts %v", got, want)
	}
}

func TestCloneResetAndRecloneWhenBroken(t *testing.T) {
	dir, _ := gitRepo(t, buildYAML)
	push := func() (*recorder, string) {
		k, rec, out := newBuildKamal(t, buildYAML, Options{},
			bRule{host: "localhost", match: "docker buildx version", exit: 1})
		rec.realGit = true
		if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
			t.Fatal(err)
		}
		return rec, out.String()
	}
	rec, out := push()
	build, _ := rec.find("localhost", "docker build ")
	if !strings.Contains(out, "Cloning repo into build directory") {
		t.Fatalf("first build should clone:\n%s", out)
	}

	// A new commit: the existing clone is reset to it.
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitEnv := append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	c := exec.Command("git", "commit", "-qam", "second")
	c.Dir, c.Env = dir, gitEnv
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	_, out = push()
	if !strings.Contains(out, "Resetting local clone") {
		t.Errorf("second build should reset the clone:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(build.dir, "marker")); string(b) != "second\n" {
		t.Errorf("clone marker after reset = %q", b)
	}

	// A broken clone is deleted and cloned again.
	if err := os.RemoveAll(filepath.Join(build.dir, ".git")); err != nil {
		t.Fatal(err)
	}
	_, out = push()
	if !strings.Contains(out, "deleting and retrying") || !strings.Contains(out, "Cloning repo into build directory") {
		t.Errorf("a broken clone should be recloned:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(build.dir, "marker")); string(b) != "second\n" {
		t.Errorf("clone marker after reclone = %q", b)
	}
}

func TestDockerNotInstalledLocally(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	k, rec, _ := newBuildKamal(t, buildYAML, Options{})
	for name, fn := range map[string]func() error{
		"push":           func() error { return k.Builder.Push(context.Background(), BuildOptions{}) },
		"dev":            func() error { return k.Builder.Dev(context.Background(), BuildOptions{}) },
		"registry setup": func() error { return k.Registry.Setup(context.Background(), RegistryOptions{}) },
	} {
		err := fn()
		var dep *DependencyError
		if !errors.As(err, &dep) || err.Error() != "Docker is not installed locally" {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if len(rec.calls) != 0 {
		t.Errorf("commands ran without docker: %v", rec.calls)
	}
	// -L needs no local docker.
	if err := k.Registry.Setup(context.Background(), RegistryOptions{SkipLocal: true}); err != nil {
		t.Errorf("registry setup -L: %v", err)
	}
}

// fakeDockerScript stands in for docker on PATH: it logs its arguments
// (one [word] each) and $TOKEN, answers `buildx version` as $NO_BUILDX
// says, and fails builds when $FAIL_BUILD is set, echoing its build args
// to stderr as docker does in some errors.
const fakeDockerScript = `#!/bin/sh
{ printf 'argv:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf ' TOKEN=%s\n' "$TOKEN"; } >> "$DOCKER_LOG"
case "$1 $2" in
"buildx version") [ -z "$NO_BUILDX" ] || { echo "docker: unknown command: docker buildx" >&2; exit 1; } ;;
"login "*) cat > /dev/null ;;
"buildx build"|"build "*)
	echo "#1 building"
	if [ -n "$FAIL_BUILD" ]; then
		for a in "$@"; do case "$a" in API_TOKEN=*) echo "ERROR: failed to solve with build arg $a" >&2 ;; esac; done
		exit 1
	fi ;;
esac
exit 0
`

// fakeDocker puts fakeDockerScript first on PATH, without the buildx
// plugin when noBuildx is set and with failing builds when fail is set,
// and returns the file it logs its arguments to.
func fakeDocker(t *testing.T, noBuildx, fail bool) (dockerLog string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fakeDockerScript), 0o755); err != nil {
		t.Fatal(err)
	}
	dockerLog = filepath.Join(t.TempDir(), "docker.log")
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_LOG", dockerLog)
	t.Setenv("NO_BUILDX", map[bool]string{true: "1"}[noBuildx])
	t.Setenv("FAIL_BUILD", map[bool]string{true: "1"}[fail])
	return dockerLog
}

// TestBuildArgsNeverPrinted runs builds through the real local executor
// and a fake docker: build-arg values and builder secrets reach docker
// but appear in no printed line (default or verbose) and in no error.
func TestBuildArgsNeverPrinted(t *testing.T) {
	const argValue, secretValue = "argval-s3cr3t-9", "tok-value-123" // the secret is in gitRepo's .kamal/secrets
	withSecret := buildYAML + "  driver: docker\n  context: .\n  secrets:\n    - TOKEN\n  args:\n    API_TOKEN: " + argValue + "\n    RUBY_VERSION: \"3.3\"\n"
	classic := buildYAML + "  args:\n    API_TOKEN: " + argValue + "\n"
	tests := []struct {
		name, yaml string
		level      remote.Level
		noBuildx   bool
		fail       bool
	}{
		{"buildx default level", withSecret, remote.LevelDefault, false, false},
		{"buildx verbose", withSecret, remote.LevelVerbose, false, false},
		{"classic build from clone", classic, remote.LevelVerbose, true, false},
		{"failing build", withSecret, remote.LevelDefault, false, true},
		{"failing classic build verbose", classic, remote.LevelVerbose, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gitRepo(t, tt.yaml)
			dockerLog := fakeDocker(t, tt.noBuildx, tt.fail)
			t.Setenv("TOKEN", "") // only the build's own environment may carry it

			var out bytes.Buffer
			k, err := New(loadConfig(t, tt.yaml), Options{Executor: &recorder{}, Stdout: &out, SkipHooks: true, Level: tt.level})
			if err != nil {
				t.Fatal(err)
			}
			err = k.Builder.Push(context.Background(), BuildOptions{})
			if tt.fail != (err != nil) {
				t.Fatalf("err = %v\noutput:\n%s", err, &out)
			}

			logged, rerr := os.ReadFile(dockerLog)
			if rerr != nil {
				t.Fatal(rerr)
			}
			var build string
			for _, l := range strings.Split(string(logged), "\n") {
				if strings.HasPrefix(l, "argv: [buildx] [build]") || strings.HasPrefix(l, "argv: [build]") {
					build = l
				}
			}
			if !strings.Contains(build, "[API_TOKEN="+argValue+"]") {
				t.Errorf("docker did not get the build arg: %q", build)
			}
			if tt.yaml == withSecret && !strings.HasSuffix(build, "TOKEN="+secretValue) {
				t.Errorf("docker did not get the builder secret in its environment: %q", build)
			}

			printed := out.String()
			if err != nil {
				printed += "\n" + err.Error()
			}
			for _, v := range []string{argValue, secretValue} {
				if strings.Contains(printed, v) {
					t.Errorf("%q was printed:\n%s", v, printed)
				}
			}
			for _, want := range []string{"Running", "--build-arg [REDACTED]"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, &out)
				}
			}
			if tt.fail && !strings.Contains(err.Error(), "--build-arg [REDACTED]") {
				t.Errorf("the error does not show the redacted command: %v", err)
			}
		})
	}
}

func TestBuildCreateChecksRemoteBuilderHostFirst(t *testing.T) {
	tests := []struct {
		remote, host string
	}{
		{"ssh://app@10.0.0.9:2222", "app@10.0.0.9:2222"},
		{"ssh://10.0.0.9", "10.0.0.9"},
		{"ssh://root@[fd00::9]", "root@[fd00::9]:22"},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			yaml := buildYAML + "  remote: " + tt.remote + "\n  local: false\n"
			k, rec, _ := newBuildKamal(t, yaml, Options{})
			if err := k.Builder.Create(context.Background()); err != nil {
				t.Fatal(err)
			}
			var seq []string
			for _, c := range rec.calls {
				if c.host == tt.host || strings.Contains(c.cmd, "buildx create") {
					seq = append(seq, c.host+": "+c.cmd)
				}
			}
			if len(seq) != 2 || seq[0] != tt.host+": /usr/bin/env true" || !strings.HasPrefix(seq[1], "localhost: docker context create") {
				t.Errorf("commands = %q, want `true` on %s then the buildx create", seq, tt.host)
			}
		})
	}

	// An unreachable builder host stops before anything is created.
	yaml := buildYAML + "  remote: ssh://app@10.0.0.9\n  local: false\n"
	k, rec, _ := newBuildKamal(t, yaml, Options{}, bRule{host: "app@10.0.0.9", match: "true", stderr: "connection refused", exit: 255})
	err := k.Builder.Create(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connecting to the remote builder ssh://app@10.0.0.9") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := rec.find("localhost", "buildx create"); ok {
		t.Error("the builder was created although its host is unreachable")
	}

	// Other schemes are left to buildx.
	k, rec, _ = newBuildKamal(t, buildYAML+"  remote: tcp://10.0.0.9:2375\n  local: false\n", Options{})
	if err := k.Builder.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.calls {
		if c.host != "localhost" {
			t.Errorf("ran %q on %s", c.cmd, c.host)
		}
	}
}

func TestBuildPushRemoteBuilderLocalRegistryForward(t *testing.T) {
	for _, noBuildx := range []bool{false, true} {
		t.Run(map[bool]string{false: "buildx", true: "classic"}[noBuildx], func(t *testing.T) {
			yaml := localRegistryYAML + "  remote: ssh://app@10.0.0.9:2222\n  local: false\n  context: .\n"
			gitRepo(t, yaml)
			var rules []bRule
			if noBuildx {
				rules = append(rules, bRule{host: "localhost", match: "docker buildx version", exit: 1})
			}
			k, rec, _ := newBuildKamal(t, yaml, Options{}, rules...)
			if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
				t.Fatal(err)
			}
			if want := []string{"app@10.0.0.9:2222 -> 127.0.0.1:5555"}; !slices.Equal(rec.forwards, want) || rec.stopped != 1 {
				t.Errorf("forwards %v (stopped %d), want %v closed after the build", rec.forwards, rec.stopped, want)
			}
			var builds int
			for _, c := range rec.calls {
				if c.host == "localhost" && (strings.Contains(c.cmd, "build ") || strings.HasPrefix(c.cmd, "docker push")) {
					builds++
					if c.forwards != 1 {
						t.Errorf("%q ran without the registry forward", c.cmd)
					}
					if !strings.Contains(c.cmd, "localhost:5555/dhh/app:999") {
						t.Errorf("%q does not use the local registry", c.cmd)
					}
				}
			}
			if builds == 0 {
				t.Fatalf("no build ran: %v", rec.on("localhost"))
			}
		})
	}

	// A local builder pushes to the local registry directly: no forward.
	yaml := localRegistryYAML + "  context: .\n"
	gitRepo(t, yaml)
	k, rec, _ := newBuildKamal(t, yaml, Options{})
	if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.forwards) != 0 {
		t.Errorf("forwards for a local builder: %v", rec.forwards)
	}
}

// TestBuildPushHookOrder runs a push with a fake docker and real hooks
// that write to the same log: pre-connect first, then the docker checks
// and the local login, then pre-build, then the build.
func TestBuildPushHookOrder(t *testing.T) {
	yaml := buildYAML + "  driver: docker\n"
	dir, _ := gitRepo(t, yaml)
	dockerLog := fakeDocker(t, false, false)
	hooks := filepath.Join(dir, ".kamal", "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"pre-connect", "pre-build"} {
		writeHook(t, hooks, h, "echo hook "+h+" >> \"$DOCKER_LOG\"\n", 0o755)
	}
	var out bytes.Buffer
	k, err := New(loadConfig(t, yaml), Options{Executor: &recorder{}, Stdout: &out, Level: remote.LevelDefault,
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	logged, err := os.ReadFile(dockerLog)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, l := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		switch {
		case strings.HasPrefix(l, "hook "):
			steps = append(steps, strings.TrimPrefix(l, "hook "))
		case strings.HasPrefix(l, "argv: [--version]"):
			steps = append(steps, "docker check")
		case strings.HasPrefix(l, "argv: [login]"):
			steps = append(steps, "login")
		case strings.HasPrefix(l, "argv: [buildx] [build]"):
			steps = append(steps, "build")
		}
	}
	if want := []string{"pre-connect", "docker check", "login", "pre-build", "build"}; !slices.Equal(steps, want) {
		t.Errorf("steps %v, want %v\n%s", steps, want, logged)
	}
}

func TestBuildPushPack(t *testing.T) {
	yaml := buildYAML + "  pack:\n    builder: heroku/builder:24\n    buildpacks:\n      - heroku/ruby\n"
	for _, noBuildx := range []bool{false, true} {
		t.Run(map[bool]string{false: "buildx", true: "no buildx"}[noBuildx], func(t *testing.T) {
			dir, _ := gitRepo(t, yaml)
			if err := os.Remove(filepath.Join(dir, "Dockerfile")); err != nil { // buildpacks need none
				t.Fatal(err)
			}
			gitCommitAll(t, dir)
			var rules []bRule
			if noBuildx {
				rules = append(rules, bRule{host: "localhost", match: "docker buildx version", exit: 1})
			}
			k, rec, out := newBuildKamal(t, yaml, Options{}, rules...)
			rec.realGit = true
			if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			c, ok := rec.find("localhost", "pack build dhh")
			want := "/usr/bin/env pack build dhh/app --platform linux/amd64 --creation-time now --builder heroku/builder:24 --buildpack heroku/ruby --buildpack paketo-buildpacks/image-labels -t dhh/app:999 -t dhh/app:latest --env BP_IMAGE_LABELS=service=app --path . && docker push dhh/app:999 && docker push dhh/app:latest"
			if !ok || c.cmd != want {
				t.Fatalf("pack build = %q\nwant %q\nall: %v", c.cmd, want, rec.on("localhost"))
			}
			if !strings.Contains(c.dir, "kamal-clones") {
				t.Errorf("pack built in %q, not the clone", c.dir)
			}
			if _, ok := rec.find("localhost", "docker buildx build"); ok {
				t.Error("a buildx build ran for a pack builder")
			}
			if strings.Contains(out.String(), "classic") {
				t.Errorf("the classic-build note for a pack build:\n%s", out)
			}
		})
	}
}

func gitCommitAll(t *testing.T, dir string) {
	t.Helper()
	gitEnv := append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "more"}} {
		c := exec.Command("git", args...)
		c.Dir, c.Env = dir, gitEnv
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

func TestClassicBuildNoticeOncePerRun(t *testing.T) {
	yaml := buildYAML + "  context: .\n"
	gitRepo(t, yaml)
	noBuildx := bRule{host: "localhost", match: "docker buildx version", exit: 1}
	k, _, out := newBuildKamal(t, yaml, Options{}, noBuildx)
	for i := 0; i < 2; i++ {
		if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(out.String(), "classic `docker build`"); n != 1 {
		t.Errorf("the classic-build notice shows %d times in one run:\n%s", n, out)
	}
	k, _, out = newBuildKamal(t, yaml, Options{}, noBuildx)
	if err := k.Builder.Push(context.Background(), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "classic `docker build`") {
		t.Errorf("a second run does not say it builds with the classic builder:\n%s", out)
	}
}
