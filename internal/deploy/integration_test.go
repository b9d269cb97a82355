package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/cli"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/deploy"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/remote/sshtest"
	"github.com/kamalgo/kamal/internal/syncbuf"
)

// The test binary doubles as the kamal binary, so tests can run several
// kamal processes at once (locks) and interrupt them (SIGINT).
func TestMain(m *testing.M) {
	// The test binary stands in for kamal, so it cannot be a keeper of
	// kept connections (its children would run the tests instead).
	os.Setenv("KAMAL_SSH_PERSIST", "0")
	if os.Getenv("DEPLOY_TEST_AS_KAMAL") == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// sshProject is a kamal project whose servers are real sshd instances on
// 127.0.1.x. Every server runs its commands in its own directory (its
// "home"), with a fake docker CLI first in PATH, so hosts have separate
// state although they share this machine.
type sshProject struct {
	dir, home string // project dir, and HOME of the kamal processes
	config    string
	hosts     []string
	homes     map[string]string
}

func newSSHProject(t *testing.T, n int, extraYAML string) *sshProject {
	t.Helper()
	sshtest.Require(t)
	p := &sshProject{dir: t.TempDir(), homes: map[string]string{}}
	p.home = filepath.Join(p.dir, "home")
	if err := os.MkdirAll(filepath.Join(p.home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	key := sshtest.NewKey(t, p.dir, "id_test")
	port := sshtest.FreePort(t, "127.0.1.1")
	for i := range n {
		ip := fmt.Sprintf("127.0.1.%d", i+1)
		home := filepath.Join(p.dir, "server-"+ip)
		if err := os.MkdirAll(filepath.Join(home, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "bin", "docker"), []byte("#!/bin/sh\necho 'Docker version 0.0.0-test'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		force := fmt.Sprintf(`ForceCommand cd %s && PATH=%s/bin:$PATH && export PATH && exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"`, home, home)
		sshtest.Start(t, ip, sshtest.Options{Port: port, Extra: []string{force}}, key)
		p.hosts = append(p.hosts, ip)
		p.homes[ip] = home
	}
	yaml := fmt.Sprintf(`service: app
image: test/app
servers:
%s
registry:
  username: user
  password: not-a-real-password
builder:
  arch: amd64
ssh:
  port: %d
  keys: [%s]
  keys_only: true
  config: false
%s`, "  - "+strings.Join(p.hosts, "\n  - "), port, key.Path, extraYAML)
	p.config = filepath.Join(p.dir, "config", "deploy.yml")
	if err := os.MkdirAll(filepath.Dir(p.config), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// command prepares the kamal process (the test binary) in the project.
func (p *sshProject) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"--version", "999"}, args...)...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "DEPLOY_TEST_AS_KAMAL=1", "HOME="+p.home, "SSH_AUTH_SOCK=", "KAMAL_LOCK=")
	return cmd
}

func (p *sshProject) kamal(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := p.command(ctx, args...).CombinedOutput()
	return string(out), err
}

func (p *sshProject) exists(host, path string) bool {
	_, err := os.Stat(filepath.Join(p.homes[host], path))
	return err == nil
}

func (p *sshProject) read(t *testing.T, host, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.homes[host], path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestServerExecOnThreeHostsWithOneFailing(t *testing.T) {
	p := newSSHProject(t, 3, "")
	for _, h := range []string{p.hosts[0], p.hosts[2]} {
		if err := os.WriteFile(filepath.Join(p.homes[h], "greeting"), []byte("hello from "+h+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := p.kamal(t, "server", "exec", "cat", "greeting")
	if exitCode(err) != 1 {
		t.Fatalf("exit = %v, want 1\n%s", err, out)
	}
	for _, want := range []string{
		"Running 'cat greeting' on 127.0.1.1, 127.0.1.2, 127.0.1.3...",
		"App Host: 127.0.1.1\nhello from 127.0.1.1\n",
		"App Host: 127.0.1.3\nhello from 127.0.1.3\n",
		"ERROR (",
		"Exception while executing on host 127.0.1.2",
		"No such file or directory",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "App Host: 127.0.1.2") {
		t.Errorf("failing host printed as a success:\n%s", out)
	}
	// Each host recorded the command in its audit log.
	for _, h := range p.hosts {
		log := p.read(t, h, ".kamal/app-audit.log")
		if !strings.Contains(log, "] Executed cmd 'cat greeting' on "+h+"\n") {
			t.Errorf("audit log of %s: %q", h, log)
		}
	}

	// -p runs only on the primary; a wildcard host filter selects two.
	out, err = p.kamal(t, "server", "exec", "-p", "hostname")
	if err != nil || !strings.Contains(out, "Running '/usr/bin/env hostname'") && !strings.Contains(out, "Running 'hostname' on 127.0.1.1...") {
		t.Errorf("exec -p: %v\n%s", err, out)
	}
	out, err = p.kamal(t, "server", "exec", "-h", "127.0.1.[13]", "cat greeting")
	if err != nil || strings.Count(out, "App Host:") != 2 {
		t.Errorf("exec -h wildcard: %v\n%s", err, out)
	}
	// --raw: the bytes only, no headers or log lines.
	out, err = p.kamal(t, "server", "exec", "-p", "--raw", "printf", "'a  b\\n\\n'")
	if err != nil || out != "a  b\n\n" {
		t.Errorf("exec --raw: %v\n%q", err, out)
	}
	if _, err := p.kamal(t, "server", "exec", "-h", "10.*", "true"); err == nil {
		t.Error("no error for a host filter matching nothing")
	}
}

func TestAuditPrintsEveryHost(t *testing.T) {
	p := newSSHProject(t, 2, "")
	if out, err := p.kamal(t, "server", "exec", "true"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := p.kamal(t, "audit")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, h := range p.hosts {
		if !strings.Contains(out, "App Host: "+h+"\n[") || !strings.Contains(out, "Executed cmd 'true' on "+h) {
			t.Errorf("audit output for %s missing:\n%s", h, out)
		}
	}
	if !strings.Contains(out, "tail -n 50 .kamal/app-audit.log") {
		t.Errorf("command not logged:\n%s", out)
	}
}

func TestConcurrentLockAcquireExactlyOneWins(t *testing.T) {
	p := newSSHProject(t, 2, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type result struct {
		msg string
		out string
		err error
	}
	results := make(chan result, 2)
	cmds := []*exec.Cmd{p.command(ctx, "lock", "acquire", "-m", "first one"), p.command(ctx, "lock", "acquire", "-m", "second one")}
	bufs := []*bytes.Buffer{{}, {}}
	for i, c := range cmds {
		c.Stdout, c.Stderr = bufs[i], bufs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		go func() {
			err := c.Wait()
			results <- result{msg: []string{"first one", "second one"}[i], out: bufs[i].String(), err: err}
		}()
	}
	var winners, losers []result
	for range 2 {
		r := <-results
		if r.err == nil {
			winners = append(winners, r)
		} else {
			losers = append(losers, r)
		}
	}
	if len(winners) != 1 || len(losers) != 1 {
		t.Fatalf("winners=%d losers=%d: %+v %+v", len(winners), len(losers), winners, losers)
	}
	if !strings.Contains(winners[0].out, "Acquired the deploy lock") {
		t.Errorf("winner output:\n%s", winners[0].out)
	}
	lost := losers[0].out
	for _, want := range []string{"Deploy lock already in place!", "Message: " + winners[0].msg,
		"ERROR (Kamal::Cli::LockError): Deploy lock found. Run 'kamal lock help' for more information"} {
		if !strings.Contains(lost, want) {
			t.Errorf("loser output lacks %q:\n%s", want, lost)
		}
	}
	// Only on the primary host.
	if !p.exists(p.hosts[0], ".kamal/lock-app/details") || p.exists(p.hosts[1], ".kamal/lock-app") {
		t.Error("lock not (only) on the primary host")
	}

	out, err := p.kamal(t, "lock", "status")
	if err != nil || !strings.Contains(out, "Locked by: ") || !strings.Contains(out, "Version: 999\nMessage: "+winners[0].msg) {
		t.Errorf("status: %v\n%s", err, out)
	}
	out, err = p.kamal(t, "lock", "release")
	if err != nil || !strings.Contains(out, "Released the deploy lock") {
		t.Errorf("release: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"lock", "status"}, {"lock", "release"}} {
		out, err = p.kamal(t, args...)
		if err != nil || !strings.Contains(out, "There is no deploy lock") {
			t.Errorf("%v after release: %v\n%s", args, err, out)
		}
	}
}

func TestCorruptLockDetailsReported(t *testing.T) {
	p := newSSHProject(t, 1, "")
	lockDir := filepath.Join(p.homes[p.hosts[0]], ".kamal", "lock-app")
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lockDir, "details"), []byte("%%% not base64 %%%\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := p.kamal(t, "lock", "status")
	if err == nil || !strings.Contains(out, "corrupt") || !strings.Contains(out, "kamal lock release") {
		t.Errorf("status with corrupt details: %v\n%s", err, out)
	}
	out, err = p.kamal(t, "lock", "release")
	if err != nil || p.exists(p.hosts[0], ".kamal/lock-app") {
		t.Errorf("release of a corrupt lock: %v\n%s", err, out)
	}

	// A lock directory without details: reported, and release clears it.
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = p.kamal(t, "lock", "status")
	if err == nil || !strings.Contains(out, "has no details file") {
		t.Errorf("status without details: %v\n%s", err, out)
	}
	out, err = p.kamal(t, "lock", "acquire", "-m", "x")
	if err == nil || !strings.Contains(out, "Deploy lock found") {
		t.Errorf("acquire over a lock without details: %v\n%s", err, out)
	}
	out, err = p.kamal(t, "lock", "release")
	if err != nil || p.exists(p.hosts[0], ".kamal/lock-app") || !strings.Contains(out, "Released the deploy lock") {
		t.Errorf("release of a lock without details: %v\n%s", err, out)
	}
}

func TestLockReleasedAfterSIGINT(t *testing.T) {
	p := newSSHProject(t, 2, "")
	started := filepath.Join(p.dir, "hook-started")
	hooks := filepath.Join(p.dir, ".kamal", "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	// The docker-setup hook runs last inside the lock of `server bootstrap`.
	hook := "#!/bin/sh\ntouch " + started + "\nexec sleep 120\n"
	if err := os.WriteFile(filepath.Join(hooks, "docker-setup"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := p.command(ctx, "server", "bootstrap")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for !fileExists(started) {
		select {
		case err := <-done:
			t.Fatalf("bootstrap ended before the hook: %v\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("hook never started\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !p.exists(p.hosts[0], ".kamal/lock-app/details") {
		t.Fatalf("no lock while bootstrap runs\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Signal(syscall.SIGQUIT)
		err = <-done
	}
	if err == nil {
		t.Errorf("interrupted bootstrap succeeded\n%s", out.String())
	}
	if p.exists(p.hosts[0], ".kamal/lock-app") {
		t.Errorf("lock left behind after SIGINT\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Releasing the deploy lock...") {
		t.Errorf("output:\n%s", out.String())
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestBootstrapInstallsNothingWhenDockerPresent(t *testing.T) {
	p := newSSHProject(t, 2, "")
	out, err := p.kamal(t, "server", "bootstrap")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "get.docker.com") {
		t.Errorf("tried to install docker:\n%s", out)
	}
	// As in Kamal, the user and group checks belong to the install.
	if strings.Contains(out, "-eq 0 ]") || strings.Contains(out, "id -nG") {
		t.Errorf("checked the user on hosts that have Docker:\n%s", out)
	}
	for _, h := range p.hosts {
		if !p.exists(h, ".kamal") {
			t.Errorf("no .kamal on %s", h)
		}
	}
	if p.exists(p.hosts[0], ".kamal/lock-app") {
		t.Error("lock left behind")
	}
}

func TestBootstrapFailsWithoutDockerAndRoot(t *testing.T) {
	p := newSSHProject(t, 2, "")
	// Hide docker on the second host and make `id -u` report a non-root
	// user without sudo, so nothing can be installed there.
	h := p.hosts[1]
	bin := filepath.Join(p.homes[h], "bin")
	if err := os.Remove(filepath.Join(bin, "docker")); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"docker": "exit 127\n",
		"id":     "echo 1000\n",
		"sudo":   "exit 1\n",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// EUID is set by bash but not by dash; make sure it does not say root.
	out, err := p.kamal(t, "server", "bootstrap")
	want := "Docker is not installed on " + h + " and can't be automatically installed without having root access and either `wget` or `curl`. Install Docker manually: https://docs.docker.com/engine/install/"
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("err=%v, output lacks the failure message:\n%s", err, out)
	}
	if strings.Contains(out, "get.docker.com |") || strings.Contains(out, "Installing") {
		t.Errorf("tried to install:\n%s", out)
	}
	if p.exists(p.hosts[0], ".kamal/lock-app") {
		t.Error("lock left behind")
	}
}

func TestInteractiveExecGetsATerminal(t *testing.T) {
	p := newSSHProject(t, 2, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := p.command(ctx, "server", "exec", "-i", "tty; exit 3")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if exitCode(err) != 3 {
		t.Errorf("exit = %v, want the remote status 3\n%s", err, out)
	}
	if !strings.Contains(string(out), "Running 'tty; exit 3' on 127.0.1.1 interactively...") || !strings.Contains(string(out), "/dev/pts/") {
		t.Errorf("output:\n%s", out)
	}
}

// TestWithLockOverSSH checks, in process, that a failing step releases
// the lock and the pool opens a single connection per host.
func TestWithLockOverSSH(t *testing.T) {
	p := newSSHProject(t, 3, "")
	t.Setenv("HOME", p.home)
	t.Setenv("SSH_AUTH_SOCK", "")
	cfg, err := config.Load(config.LoadOptions{ConfigFile: p.config, Version: "999"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	k, err := deploy.New(cfg, deploy.Options{Stdout: &out, Level: remote.LevelVerbose, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx := context.Background()
	err = k.Lock.With(ctx, func(ctx context.Context) error {
		if !p.exists(p.hosts[0], ".kamal/lock-app/details") {
			t.Error("lock not taken")
		}
		if err := k.Record(ctx, k.Hosts(), "Booted app version 999"); err != nil {
			return err
		}
		return k.On(ctx, k.Hosts(), func(ctx context.Context, h string) error {
			_, err := k.ExecRaw(ctx, h, "exit 7", remote.ExecOptions{})
			return err
		})
	})
	var he remote.HostErrors
	if !errors.As(err, &he) || len(he) != 3 {
		t.Fatalf("err = %v", err)
	}
	if p.exists(p.hosts[0], ".kamal/lock-app") {
		t.Error("lock not released after the failing step")
	}
	for _, h := range p.hosts {
		if n := k.Pool().ConnectionsOpened(h); n != 1 {
			t.Errorf("%s: %d connections, want 1", h, n)
		}
		if log := p.read(t, h, ".kamal/app-audit.log"); !strings.Contains(log, "] Booted app version 999\n") {
			t.Errorf("audit log of %s: %q", h, log)
		}
	}
}

// TestNestedKamalFromHookInheritsTheLock runs kamal from a hook while the
// outer run holds the lock: the nested run sees KAMAL_LOCK=true, so a
// locking command neither fails with "Deploy lock found" nor waits, and
// it does not release the outer run's lock.
func TestNestedKamalFromHookInheritsTheLock(t *testing.T) {
	p := newSSHProject(t, 2, "")
	hooks := filepath.Join(p.dir, ".kamal", "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(p.dir, "nested.log")
	lockDir := filepath.Join(p.homes[p.hosts[0]], ".kamal", "lock-app")
	// -H keeps the nested bootstrap from running this hook again.
	hook := fmt.Sprintf(`#!/bin/sh
exec >>%[1]s 2>&1
echo "KAMAL_LOCK=$KAMAL_LOCK"
%[2]s --version 999 lock status
echo "status exit $?"
%[2]s --version 999 -H server bootstrap
echo "bootstrap exit $?"
test -d %[3]s && echo "lock still held"
`, log, os.Args[0], lockDir)
	if err := os.WriteFile(filepath.Join(hooks, "docker-setup"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := p.kamal(t, "server", "bootstrap")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	nested, rerr := os.ReadFile(log)
	if rerr != nil {
		t.Fatalf("hook did not run: %v\n%s", rerr, out)
	}
	for _, want := range []string{"KAMAL_LOCK=true", "Locked by:", "Message: Automatic deploy lock", "status exit 0", "bootstrap exit 0", "lock still held"} {
		if !strings.Contains(string(nested), want) {
			t.Errorf("nested output lacks %q:\n%s", want, nested)
		}
	}
	if strings.Contains(string(nested), "Deploy lock found") || strings.Contains(string(nested), "Acquiring the deploy lock") {
		t.Errorf("nested run tried to take the lock:\n%s", nested)
	}
	if p.exists(p.hosts[0], ".kamal/lock-app") {
		t.Errorf("lock left behind\n%s", out)
	}
}

// TestOutputLevelsOverSSH runs `kamal server exec` against real sshd at
// each verbosity and checks the lines a user sees, with the registry
// password (a secret of the run) redacted in output and in errors.
func TestOutputLevelsOverSSH(t *testing.T) {
	p := newSSHProject(t, 2, "")
	const secret = "not-a-real-password"
	info := func(s string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^  INFO \[[0-9a-f]{8}\] ` + regexp.QuoteMeta(s) + `$`)
	}
	finished := regexp.MustCompile(`(?m)^  INFO \[[0-9a-f]{8}\] Finished in \d+\.\d{3} seconds with exit status 0 \(successful\)\.$`)
	failed := regexp.MustCompile(`(?m)^  INFO \[[0-9a-f]{8}\] Finished in \d+\.\d{3} seconds with exit status 3 \(failed\)\.$`)
	for _, tt := range []struct {
		flags       []string
		info, debug bool
	}{
		{nil, true, false},
		{[]string{"-v"}, true, true},
		{[]string{"-q"}, false, false},
	} {
		t.Run(fmt.Sprint(tt.flags), func(t *testing.T) {
			out, err := p.kamal(t, append(tt.flags, "server", "exec", "echo hi")...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, h := range p.hosts {
				if !strings.Contains(out, "App Host: "+h+"\nhi\n\n") {
					t.Errorf("no output block for %s:\n%s", h, out)
				}
				if got := info("Running echo hi on " + h).MatchString(out); got != tt.info {
					t.Errorf("INFO Running line for %s: %v, want %v:\n%s", h, got, tt.info, out)
				}
			}
			if got := finished.MatchString(out); got != tt.info {
				t.Errorf("Finished line: %v, want %v:\n%s", got, tt.info, out)
			}
			// The audit line is written by a command Kamal logs at debug.
			if got := strings.Contains(out, " DEBUG [") && strings.Contains(out, "] Command: /usr/bin/env mkdir -p .kamal && printf "); got != tt.debug {
				t.Errorf("DEBUG command lines: %v, want %v:\n%s", got, tt.debug, out)
			}
			if tt.flags == nil && strings.Contains(out, "DEBUG") {
				t.Errorf("DEBUG at default verbosity:\n%s", out)
			}
			if !tt.info && (strings.Contains(out, " INFO ") || strings.Contains(out, " WARN ")) {
				t.Errorf("-q printed INFO/WARN lines:\n%s", out)
			}

			out, err = p.kamal(t, append(tt.flags, "server", "exec", "echo "+secret+"; exit 3")...)
			if err == nil {
				t.Fatalf("failing command succeeded:\n%s", out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("secret printed:\n%s", out)
			}
			for _, want := range []string{" ERROR (SSHKit::Command::Failed): Exceptions on 2 hosts:\n", "Exception while executing on host " + p.hosts[0] + ": echo [REDACTED]; exit 3 exit status: 3\n", "echo [REDACTED]; exit 3 stdout: [REDACTED]\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in:\n%s", want, out)
				}
			}
			if got := failed.MatchString(out); got != tt.info {
				t.Errorf("failed Finished line: %v, want %v:\n%s", got, tt.info, out)
			}
		})
	}
}

// TestLockWaitBetweenProcesses runs the --lock-wait flags through the CLI:
// a second kamal waits for an automatic lock held by a first one and runs
// once it is released; with no time to wait it times out; a manual lock is
// not waited for.
func TestLockWaitBetweenProcesses(t *testing.T) {
	p := newSSHProject(t, 2, "")
	hooks := filepath.Join(p.dir, ".kamal", "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	started, release := filepath.Join(p.dir, "started"), filepath.Join(p.dir, "release")
	// The hook of the first run holds the lock until the test creates release.
	hook := fmt.Sprintf("#!/bin/sh\ntouch %s\nwhile [ ! -e %s ]; do sleep 0.05; done\n", started, release)
	if err := os.WriteFile(filepath.Join(hooks, "docker-setup"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func(args ...string) (*syncbuf.Buffer, chan error) {
		cmd := p.command(ctx, args...)
		out := &syncbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		return out, done
	}
	waitFor := func(what string, cond func() bool, done chan error, out *syncbuf.Buffer) {
		t.Helper()
		for !cond() {
			select {
			case err := <-done:
				t.Fatalf("ended before %s: %v\n%s", what, err, out.String())
			case <-ctx.Done():
				t.Fatalf("no %s\n%s", what, out.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}

	first, firstDone := start("server", "bootstrap")
	waitFor("hook start", func() bool { return fileExists(started) }, firstDone, first)

	// No time to wait: fails at once with Kamal's message.
	out, err := p.kamal(t, "--lock-wait", "--lock-wait-timeout", "0", "-H", "server", "bootstrap")
	if err == nil || !strings.Contains(out, "Timed out waiting for deploy lock") {
		t.Errorf("lock wait timeout: %v\n%s", err, out)
	}

	second, secondDone := start("--lock-wait", "--lock-wait-interval", "1", "-H", "server", "bootstrap")
	waitFor("waiting message", func() bool {
		return strings.Contains(second.String(), "Waiting 1 seconds for the deploy lock to be released...")
	}, secondDone, second)
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-firstDone; err != nil {
		t.Fatalf("first run: %v\n%s", err, first.String())
	}
	if err := <-secondDone; err != nil {
		t.Fatalf("waiting run: %v\n%s", err, second.String())
	}
	if p.exists(p.hosts[0], ".kamal/lock-app") {
		t.Error("lock left behind")
	}

	// A manual lock is not waited for.
	if out, err := p.kamal(t, "lock", "acquire", "-m", "Maintenance"); err != nil {
		t.Fatalf("lock acquire: %v\n%s", err, out)
	}
	out, err = p.kamal(t, "--lock-wait", "-H", "server", "bootstrap")
	if err == nil || !strings.Contains(out, "Deploy lock held manually, not waiting. Run 'kamal lock help' for more information") {
		t.Errorf("manual lock: %v\n%s", err, out)
	}
	if !p.exists(p.hosts[0], ".kamal/lock-app/details") {
		t.Error("the manual lock was released")
	}
}

// TestBootstrapAddsNonRootUserToDockerGroup: on a host without Docker,
// where the user is not root but may sudo, Docker is installed, then the
// user, not in the docker group, gets `sudo usermod -aG docker`, and its
// SSH session is ended (kill -HUP $PPID, as Kamal) so the next command runs
// on a new connection that has the group.
func TestBootstrapAddsNonRootUserToDockerGroup(t *testing.T) {
	p := newSSHProject(t, 2, "")
	h := p.hosts[1]
	home := p.homes[h]
	inGroup, sudoLog := filepath.Join(home, "in-group"), filepath.Join(home, "sudo.log")
	docker := filepath.Join(home, "bin", "docker")
	if err := os.Rename(docker, docker+".installed"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docker, []byte("#!/bin/sh\nexit 127\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		// The "install script" puts docker in place.
		"curl": fmt.Sprintf("echo 'mv %[1]s.installed %[1]s'\n", docker),
		"id": fmt.Sprintf(`case "$1" in
-u) echo 1000;;
-un) echo deploy;;
-nG) if [ -e %[1]s ]; then echo "deploy docker"; else echo deploy; fi;;
*) exec /usr/bin/id "$@";;
esac
`, inGroup),
		// sudo -nl usermod (may we?) says yes; usermod -aG is logged.
		"sudo": fmt.Sprintf("case \"$*\" in \"-n usermod -aG \"*) echo \"$*\" >> %s; touch %s;; esac\nexit 0\n", sudoLog, inGroup),
	} {
		if err := os.WriteFile(filepath.Join(home, "bin", name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := p.kamal(t, "server", "bootstrap")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	data, err := os.ReadFile(sudoLog)
	if err != nil || !strings.HasPrefix(string(data), "-n usermod -aG docker ") {
		t.Errorf("sudo calls: %q (%v)\n%s", data, err, out)
	}
	if !p.exists(h, ".kamal") {
		t.Errorf("no .kamal on %s after the session was refreshed\n%s", h, out)
	}
	if p.exists(p.hosts[0], "sudo.log") {
		t.Error("root host got sudo")
	}
	// A second bootstrap finds the user in the group.
	if out, err := p.kamal(t, "server", "bootstrap"); err != nil {
		t.Fatalf("second bootstrap: %v\n%s", err, out)
	}
	if data2, _ := os.ReadFile(sudoLog); string(data2) != string(data) {
		t.Errorf("usermod ran again: %q", data2)
	}
}
