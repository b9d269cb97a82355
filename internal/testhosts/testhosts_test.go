package testhosts

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestOptionsDefaultsAndValidation(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", Options{}, ""},
		{"too many hosts", Options{Hosts: 21}, "Hosts must be between 1 and 20"},
		{"negative hosts", Options{Hosts: -1}, "Hosts must be between 1 and 20"},
		{"prefix with dash", Options{Prefix: "k-t"}, "Prefix must match"},
		{"prefix too long", Options{Prefix: "abcdefg"}, "Prefix must match"},
		{"relative root", Options{Root: "tmp"}, "Root must be an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.setDefaults()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.opts.Hosts != 3 || tt.opts.Prefix != "kt" || tt.opts.Root != DefaultRoot {
					t.Errorf("defaults = %+v", tt.opts)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNamesFitInterfaceLimits(t *testing.T) {
	e := newEnv(Options{Hosts: maxHosts, Prefix: "abcdef", Root: DefaultRoot})
	s := e.state()
	for _, l := range append(s.Veths, s.Bridge) {
		if len(l) > 15 {
			t.Errorf("link name %q is longer than IFNAMSIZ-1", l)
		}
	}
	if got, want := e.Hosts[2].IP, "10.77.0.13"; got != want {
		t.Errorf("third host IP = %s, want %s", got, want)
	}
	if got, want := e.Hosts[0].DockerHost, "unix:///var/lib/kamal-testhosts/abcdef/vm1/run/docker.sock"; got != want {
		t.Errorf("DockerHost = %s, want %s", got, want)
	}
	// unix socket paths are limited to 108 bytes.
	if n := len(strings.TrimPrefix(e.Hosts[19].DockerHost, "unix://")); n >= 108 {
		t.Errorf("socket path is %d bytes", n)
	}
}

func TestBootScriptAndSSHDConfig(t *testing.T) {
	e := newEnv(Options{Hosts: 1, Prefix: "kt", Root: "/var/lib/it's"})
	h := e.Hosts[0]
	script := h.bootScript(e)
	for _, want := range []string{
		`D='/var/lib/it'\''s/kt/vm1'`,
		`mount --bind "$D/root" /root`,
		`mount --bind "$D/run" /run`,
		"hostname 'vm1'",
		`/usr/sbin/sshd -f "$D/sshd_config"`,
		"--insecure-registry '10.77.0.1:5000'",
		"--cgroup-parent '/kamal-testhosts-kt-vm1'",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("boot script lacks %q:\n%s", want, script)
		}
	}
	// /run must be mounted last: the other sources could live below it.
	if strings.Index(script, "/run\n") < strings.Index(script, "/root\n") {
		t.Errorf("/run mounted before /root:\n%s", script)
	}
	if strings.Contains(e.deployer.bootScript(e), "sshd -f") {
		t.Error("the deployer must not run sshd")
	}
	cfg := h.sshdConfig("INFO")
	for _, want := range []string{"ListenAddress 10.77.0.11\n", "PasswordAuthentication no\n", "UsePAM no\n", "PermitRootLogin prohibit-password\n"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("sshd_config lacks %q", want)
		}
	}
}

func TestKeysAndKnownHosts(t *testing.T) {
	dir := t.TempDir()
	authorized, err := writeClientKey(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		t.Fatalf("client key is not a valid OpenSSH key: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(authorized)
	if err != nil || string(pub.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Fatalf("authorized_keys line does not match the private key (%v)", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "id")); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode = %v", fi.Mode().Perm())
	}

	hostPub, err := writeHostKey(filepath.Join(dir, "host"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := writeHostKey(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(knownHostsLine("10.77.0.11", hostPub)), 0o644); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.ParseIP("10.77.0.11"), Port: 22}
	if err := cb("10.77.0.11:22", addr, hostPub); err != nil {
		t.Errorf("own host key rejected: %v", err)
	}
	if err := cb("10.77.0.11:22", addr, other); err == nil {
		t.Error("a different host key was accepted")
	}
}

func TestRegistryConfigAndHtpasswd(t *testing.T) {
	line, err := htpasswdLine("kamal", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	user, hash, ok := strings.Cut(strings.TrimSpace(line), ":")
	if !ok || user != "kamal" {
		t.Fatalf("htpasswd line %q", line)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret")) != nil {
		t.Error("hash does not match the password")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("wrong")) == nil {
		t.Error("hash matches a wrong password")
	}
	if cfg := registryConfig("10.77.0.1:5000", "/d", ""); strings.Contains(cfg, "auth:") || !strings.Contains(cfg, "addr: 10.77.0.1:5000") {
		t.Errorf("config without auth:\n%s", cfg)
	}
	if cfg := registryConfig("10.77.0.1:5000", "/d", "/h"); !strings.Contains(cfg, "path: /h") {
		t.Errorf("config with auth:\n%s", cfg)
	}
}

func TestImageSpec(t *testing.T) {
	spec := ImageSpec{Program: "app", Repository: "team/web", Tag: "v1", Env: map[string]string{"BOOT_DELAY": "2"}, Labels: map[string]string{"role": `we"b`}}
	if err := spec.normalize(); err != nil {
		t.Fatal(err)
	}
	want := `FROM scratch
COPY app /app
ENV VERSION="v1"
ENV BOOT_DELAY="2"
LABEL service="web"
LABEL role="we\"b"
EXPOSE 80
ENTRYPOINT ["/app"]
`
	if got := spec.dockerfile(); got != want {
		t.Errorf("dockerfile:\n%s\nwant:\n%s", got, want)
	}

	bad := []struct {
		spec    ImageSpec
		wantErr string
	}{
		{ImageSpec{Program: "nginx"}, "unknown image program"},
		{ImageSpec{Program: "app", Repository: "Bad Name"}, "invalid repository"},
		{ImageSpec{Program: "app", Tag: "v1\nRUN x"}, "invalid tag"},
		{ImageSpec{Program: "app", Labels: map[string]string{"a b": "c"}}, "invalid label key"},
		{ImageSpec{Program: "app", Env: map[string]string{"A=B": "c"}}, "invalid env key"},
	}
	for _, b := range bad {
		if err := b.spec.normalize(); err == nil || !strings.Contains(err.Error(), b.wantErr) {
			t.Errorf("%+v: err = %v, want %q", b.spec, err, b.wantErr)
		}
	}
}

func TestImagesDirHasEveryProgram(t *testing.T) {
	dir, err := imagesDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Programs {
		if _, err := os.Stat(filepath.Join(dir, p, "main.go")); err != nil {
			t.Errorf("program %s: %v", p, err)
		}
	}
}

func TestUnescapeMountAndReadProc(t *testing.T) {
	if got := unescapeMount(`/a\040b/c`); got != "/a b/c" {
		t.Errorf("unescapeMount = %q", got)
	}
	p, ok := readProc(os.Getpid())
	if !ok || p.ppid != os.Getppid() || p.zombie {
		t.Errorf("readProc(self) = %+v, %v", p, ok)
	}
	if _, ok := readProc(-1); ok {
		t.Error("readProc(-1) succeeded")
	}
}

// requireRoot skips where the environment cannot run, except under CI,
// where a missing prerequisite is a failure.
func requireRoot(t *testing.T) {
	t.Helper()
	if err := CheckPrerequisites(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		if runtime.GOOS != "linux" || os.Geteuid() != 0 {
			t.Skip(err)
		}
		t.Fatal(err)
	}
}

// TestKilledRunIsCleared starts an environment, abandons it the way a
// killed test process would (daemons and network left, lock dropped), and
// checks that the next Start clears it, works, and that Close leaves
// nothing behind.
func TestKilledRunIsCleared(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute) // mostly waiting for the testhosts lock while another run has it
	defer cancel()
	const prefix = "ktt"

	first, err := Start(ctx, Options{Hosts: 1, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Hosts[0].Docker(ctx, "info", "--format", "{{.Name}}"); err != nil {
		t.Fatal(err)
	}
	first.lock.Close() // what the kernel does when the process dies

	second, err := Start(ctx, Options{Hosts: 2, Prefix: prefix, RegistryAuth: true})
	if err != nil {
		t.Fatalf("start after an abandoned run: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			second.Close()
		}
	}()
	for _, h := range second.Hosts {
		out, err := second.SSH(ctx, h, "hostname")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) != h.Name {
			t.Errorf("hostname over ssh = %q, want %s", out, h.Name)
		}
	}
	// The registry refuses anonymous pushes when auth is on.
	if out, err := run(ctx, []string{"DOCKER_HOST=" + second.DeployerDockerHost, "DOCKER_CONFIG=" + t.TempDir()}, "docker", "pull", second.Registry+"/nothing:1"); err == nil {
		t.Errorf("anonymous pull succeeded: %s", out)
	} else if !strings.Contains(err.Error(), "no basic auth credentials") && !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("anonymous pull failed for another reason: %v", err)
	}

	closed = true
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if err := second.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	left, err := Leftovers("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left behind:\n%s", strings.Join(left, "\n"))
	}
}

// TestDockerdFailureReportsLogTail makes every dockerd reject its flags and
// checks that Start says why and cleans up.
func TestDockerdFailureReportsLogTail(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute) // mostly waiting for the testhosts lock while another run has it
	defer cancel()
	extraDockerdFlags = " --no-such-flag"
	defer func() { extraDockerdFlags = "" }()

	_, err := Start(ctx, Options{Hosts: 1, Prefix: "ktf"})
	if err == nil {
		t.Fatal("Start succeeded with a broken dockerd")
	}
	t.Logf("Start failed as expected: %v", err)
	if !strings.Contains(err.Error(), "dockerd.log") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error lacks the dockerd log tail: %v", err)
	}
	left, lerr := Leftovers("", "ktf")
	if lerr != nil {
		t.Fatal(lerr)
	}
	if len(left) > 0 {
		t.Errorf("left behind after a failed Start:\n%s", strings.Join(left, "\n"))
	}
}

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	first, err := acquireLock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if second, err := acquireLock(ctx, path); err == nil {
		second.Close()
		t.Fatal("a second holder got the lock")
	} else if !strings.Contains(err.Error(), "waiting for another environment") {
		t.Errorf("err = %v", err)
	}
	first.Close() // as when the holder exits
	second, err := acquireLock(context.Background(), path)
	if err != nil {
		t.Fatalf("lock not free after the holder closed it: %v", err)
	}
	second.Close()
}
