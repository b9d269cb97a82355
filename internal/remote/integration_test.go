package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

// testEnv is one client key, a known_hosts file and helpers to build pools.
type testEnv struct {
	t          *testing.T
	dir        string
	key        *sshtest.Key
	knownHosts string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	sshtest.Require(t)
	dir := t.TempDir()
	return &testEnv{t: t, dir: dir, key: sshtest.NewKey(t, dir, "id_test"), knownHosts: filepath.Join(dir, "known_hosts")}
}

// opts are options that touch nothing of the real user's SSH setup.
func (e *testEnv) opts(port int) SSHOptions {
	return SSHOptions{
		User: "root", Port: port, Keys: []string{e.key.Path}, KeysOnly: true,
		AgentSocket: "-", KnownHostsFile: e.knownHosts, ConnectTimeout: 10 * time.Second,
		GlobalKnownHostsFiles: []string{filepath.Join(e.dir, "global_known_hosts")},
	}
}

func (e *testEnv) pool(o SSHOptions, out *Output) *Pool {
	e.t.Helper()
	if out == nil {
		out = Discard()
	}
	p, err := NewPool(o, out)
	if err != nil {
		e.t.Fatalf("NewPool: %v", err)
	}
	e.t.Cleanup(func() { p.Close() })
	return p
}

func mustExec(t *testing.T, p Executor, host, cmd string) Result {
	t.Helper()
	res, err := p.Exec(context.Background(), host, cmd, ExecOptions{})
	if err != nil {
		t.Fatalf("Exec(%s, %q): %v", host, cmd, err)
	}
	return res
}

func TestKeyAuthReusesOneConnection(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.2", sshtest.Options{}, e.key)
	var buf bytes.Buffer
	p := e.pool(e.opts(srv.Port), NewOutput(&buf, LevelVerbose, nil))
	for i := range 5 {
		res := mustExec(t, p, srv.IP, fmt.Sprintf("echo hello-%d; echo to-stderr >&2", i))
		if want := fmt.Sprintf("hello-%d\n", i); res.Stdout != want {
			t.Fatalf("stdout = %q, want %q", res.Stdout, want)
		}
		if res.Stderr != "to-stderr\n" {
			t.Fatalf("stderr = %q", res.Stderr)
		}
	}
	if n := p.ConnectionsOpened(srv.IP); n != 1 {
		t.Errorf("connections opened = %d, want 1", n)
	}
	log := buf.String()
	for _, want := range []string{
		"  INFO [", "] Running echo hello-0; echo to-stderr >&2 on 127.0.0.2",
		" DEBUG [", "] \thello-0", "] Finished in ", " seconds with exit status 0 (successful).",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestUnknownHostKeyIsAddedAndThenVerified(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.3", sshtest.Options{}, e.key)
	var buf bytes.Buffer
	p := e.pool(e.opts(srv.Port), NewOutput(&buf, LevelDefault, nil))
	mustExec(t, p, srv.IP, "true")

	known, err := os.ReadFile(e.knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	_, hosts, key, _, _, err := ssh.ParseKnownHosts(known)
	if err != nil {
		t.Fatalf("known_hosts unparsable: %v\n%s", err, known)
	}
	wantHost := fmt.Sprintf("[%s]:%d", srv.IP, srv.Port)
	if len(hosts) != 1 || hosts[0] != wantHost || !bytes.Equal(key.Marshal(), srv.HostKey.Marshal()) {
		t.Fatalf("known_hosts = %s, want an entry for %s with the server's key", known, wantHost)
	}
	if fp := ssh.FingerprintSHA256(srv.HostKey); !strings.Contains(buf.String(), fp) {
		t.Errorf("fingerprint %s not printed:\n%s", fp, buf.String())
	}
	st, _ := os.Stat(e.knownHosts)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode = %v", st.Mode().Perm())
	}

	// A second pool verifies against the recorded key and adds nothing.
	buf.Reset()
	p2 := e.pool(e.opts(srv.Port), NewOutput(&buf, LevelDefault, nil))
	mustExec(t, p2, srv.IP, "true")
	again, _ := os.ReadFile(e.knownHosts)
	if !bytes.Equal(again, known) || strings.Contains(buf.String(), "Permanently added") {
		t.Errorf("known host re-added:\n%s\n%s", again, buf.String())
	}
}

func TestChangedHostKeyIsRefused(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.4", sshtest.Options{}, e.key)
	other := sshtest.NewKey(t, e.dir, "impostor")
	line := fmt.Sprintf("[%s]:%d %s\n", srv.IP, srv.Port, other.AuthorizedLine())
	if err := os.WriteFile(e.knownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.pool(e.opts(srv.Port), nil)
	_, err := p.Exec(context.Background(), srv.IP, "touch "+filepath.Join(e.dir, "ran"), ExecOptions{})
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) {
		t.Fatalf("err = %v, want HostKeyChangedError", err)
	}
	msg := err.Error()
	for _, want := range []string{fmt.Sprintf("[%s]:%d", srv.IP, srv.Port), e.knownHosts, ssh.FingerprintSHA256(srv.HostKey)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "ran")); err == nil {
		t.Error("command ran despite the changed host key")
	}
	after, _ := os.ReadFile(e.knownHosts)
	if string(after) != line {
		t.Errorf("known_hosts modified:\n%s", after)
	}
}

func TestAuthFailure(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.5", sshtest.Options{}, e.key)
	o := e.opts(srv.Port)
	stranger := sshtest.NewKey(t, e.dir, "stranger")
	o.Keys = []string{stranger.Path}
	_, err := e.pool(o, nil).Exec(context.Background(), srv.IP, "true", ExecOptions{})
	// Kamal (net-ssh) prints: ERROR (Net::SSH::AuthenticationFailed):
	// Authentication failed for user root@<host>.
	var auth *AuthenticationError
	if !errors.As(err, &auth) || err.Error() != "Authentication failed for user root@"+srv.IP || auth.Kind() != "Net::SSH::AuthenticationFailed" {
		t.Fatalf("err = %v, want Net::SSH::AuthenticationFailed naming root@%s", err, srv.IP)
	}

	// No identity at all is the same failure, with the reason.
	o.Keys = nil
	t.Setenv("HOME", e.dir)
	_, err = e.pool(o, nil).Exec(context.Background(), srv.IP, "true", ExecOptions{})
	if !errors.As(err, &auth) || !auth.NoIdentities || !strings.HasPrefix(err.Error(), "Authentication failed for user root@"+srv.IP+" (no SSH identities") {
		t.Fatalf("err = %v, want an authentication failure for want of identities", err)
	}
}

func TestAgentAuthAndKeysOnly(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.6", sshtest.Options{}, e.key)
	ag := sshtest.StartAgent(t, e.key)

	// Only the agent holds the authorized key.
	o := e.opts(srv.Port)
	o.Keys, o.KeysOnly, o.AgentSocket = nil, false, ag.Socket
	t.Setenv("HOME", e.dir) // no default ~/.ssh/id_* keys
	res := mustExec(t, e.pool(o, nil), srv.IP, "echo via-agent")
	if res.Stdout != "via-agent\n" {
		t.Fatalf("stdout = %q", res.Stdout)
	}

	// keys_only with an unauthorized explicit key ignores the agent's identity.
	stranger := sshtest.NewKey(t, e.dir, "stranger")
	o.Keys, o.KeysOnly = []string{stranger.Path}, true
	if _, err := e.pool(o, nil).Exec(context.Background(), srv.IP, "true", ExecOptions{}); err == nil {
		t.Fatal("keys_only: agent identity was used")
	}
	// Without keys_only the agent identity is tried after the explicit key.
	o.KeysOnly = false
	mustExec(t, e.pool(o, nil), srv.IP, "true")
}

func TestForwardAgent(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.7", sshtest.Options{}, e.key)
	ag := sshtest.StartAgent(t, e.key)
	o := e.opts(srv.Port)
	o.AgentSocket, o.ForwardAgent = ag.Socket, true
	res := mustExec(t, e.pool(o, nil), srv.IP, "ssh-add -L")
	if !strings.Contains(res.Stdout, strings.Fields(e.key.AuthorizedLine())[1]) {
		t.Fatalf("forwarded agent does not list the key: %q", res.Stdout)
	}
	o.ForwardAgent = false
	res, _ = e.pool(o, nil).Exec(context.Background(), srv.IP, "ssh-add -L", ExecOptions{AllowFailure: true})
	if res.ExitStatus == 0 {
		t.Fatalf("agent reachable without forward_agent: %q", res.Stdout)
	}
}

func TestKeyDataIsUsedAndRedacted(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.8", sshtest.Options{}, e.key)
	o := e.opts(srv.Port)
	o.Keys, o.KeyData = nil, []string{string(e.key.PEM)}
	var buf bytes.Buffer
	p := e.pool(o, NewOutput(&buf, LevelVerbose, nil))
	mustExec(t, p, srv.IP, "true")

	body := strings.Split(string(e.key.PEM), "\n")[1]
	_, err := p.Exec(context.Background(), srv.IP, "echo "+body+"; exit 1", ExecOptions{})
	if err == nil || strings.Contains(err.Error(), body) || !strings.Contains(err.Error(), Redacted) {
		t.Fatalf("key material not redacted from error: %v", err)
	}
	if strings.Contains(buf.String(), body) {
		t.Fatalf("key material printed:\n%s", buf.String())
	}

	o.KeyData = []string{"-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key-but-secret-looking-text\n-----END OPENSSH PRIVATE KEY-----\n"}
	_, err = e.pool(o, nil).Exec(context.Background(), srv.IP, "true", ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), "key_data entry 1") || strings.Contains(err.Error(), "not-a-key") {
		t.Fatalf("bad key_data error = %v", err)
	}
}

func TestJumpHostAndProxyCommand(t *testing.T) {
	e := newTestEnv(t)
	jump := sshtest.Start(t, "127.0.0.9", sshtest.Options{LogLevel: "DEBUG1"}, e.key)
	target := sshtest.Start(t, "127.0.0.10", sshtest.Options{}, e.key)

	t.Run("proxy", func(t *testing.T) {
		o := e.opts(target.Port)
		o.Proxy = fmt.Sprintf("%s:%d", jump.IP, jump.Port) // user defaults to root
		o.MaxConcurrentStarts = 1                          // the jump's start must not starve the target's
		p := e.pool(o, nil)
		for range 3 {
			if res := mustExec(t, p, target.IP, "echo $SSH_CONNECTION"); !strings.Contains(res.Stdout, " "+target.IP+" ") {
				t.Fatalf("SSH_CONNECTION = %q", res.Stdout)
			}
		}
		if n := p.ConnectionsOpened(target.IP); n != 1 {
			t.Errorf("target connections = %d", n)
		}
		if n := p.ConnectionsOpened("jump:root@" + o.Proxy); n != 1 {
			t.Errorf("jump connections = %d", n)
		}
		// The jump sshd really forwarded to the target.
		if !strings.Contains(jump.Log(), target.IP) {
			t.Errorf("jump host log does not mention %s:\n%s", target.IP, jump.Log())
		}
	})

	t.Run("proxy_command", func(t *testing.T) {
		o := e.opts(target.Port)
		o.ProxyCommand = fmt.Sprintf("ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=%s -i %s -p %d -W %%h:%%p root@%s",
			filepath.Join(e.dir, "kh-openssh"), e.key.Path, jump.Port, jump.IP)
		res := mustExec(t, e.pool(o, nil), target.IP, "echo $SSH_CONNECTION")
		if !strings.Contains(res.Stdout, " "+target.IP+" "+strconv.Itoa(target.Port)) {
			t.Fatalf("SSH_CONNECTION = %q", res.Stdout)
		}
	})

	t.Run("proxy_command fails", func(t *testing.T) {
		o := e.opts(target.Port)
		o.ProxyCommand = "echo cannot reach %h:%p >&2; exit 1"
		_, err := e.pool(o, nil).Exec(context.Background(), target.IP, "true", ExecOptions{})
		want := fmt.Sprintf("proxy command stderr: cannot reach %s:%d", target.IP, target.Port)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to contain %q", err, want)
		}
	})

	t.Run("jump host down", func(t *testing.T) {
		o := e.opts(target.Port)
		o.Proxy = fmt.Sprintf("root@127.0.0.9:%d", sshtest.FreePort(t, "127.0.0.9"))
		_, err := e.pool(o, nil).Exec(context.Background(), target.IP, "true", ExecOptions{})
		if err == nil || !strings.Contains(err.Error(), "via jump host "+o.Proxy) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSSHConfigFile(t *testing.T) {
	e := newTestEnv(t)
	jump := sshtest.Start(t, "127.0.0.11", sshtest.Options{}, e.key)
	target := sshtest.Start(t, "127.0.0.12", sshtest.Options{}, e.key)
	conf := fmt.Sprintf(`Host web1
  HostName %s
  Port %d
  User root
  IdentityFile %s

Host behind
  HostName %s
  Port %d
  IdentityFile %s
  ProxyJump root@%s:%d

Host %s
  Port %d
  IdentityFile %s
`, target.IP, target.Port, e.key.Path, target.IP, target.Port, e.key.Path, jump.IP, jump.Port, target.IP, target.Port, e.key.Path)
	path := filepath.Join(e.dir, "ssh_config")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	o := SSHOptions{UseConfig: true, ConfigFiles: []string{path}, AgentSocket: "-", KnownHostsFile: e.knownHosts}
	t.Setenv("HOME", e.dir)
	p := e.pool(o, nil)
	for _, host := range []string{"web1", "behind"} {
		if res := mustExec(t, p, host, "echo $SSH_CONNECTION"); !strings.Contains(res.Stdout, " "+target.IP+" ") {
			t.Fatalf("%s: SSH_CONNECTION = %q", host, res.Stdout)
		}
	}
	mustExec(t, p, target.IP, "true") // Port from the "Host <ip>" block

	// config: false ignores the file, so the port falls back to 22.
	o.UseConfig, o.Keys = false, []string{e.key.Path}
	_, err := e.pool(o, nil).Exec(context.Background(), target.IP, "true", ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), target.IP+":22") {
		t.Fatalf("err = %v, want a failure on port 22", err)
	}

	// config: true without paths reads ~/.ssh/config.
	home := fmt.Sprintf("Host homealias\n  HostName %s\n  Port %d\n  IdentityFile %s\n", target.IP, target.Port, e.key.Path)
	if err := os.MkdirAll(filepath.Join(e.dir, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, ".ssh", "config"), []byte(home), 0o600); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e.pool(SSHOptions{UseConfig: true, AgentSocket: "-", KnownHostsFile: e.knownHosts}, nil), "homealias", "true")

	// config: [paths]: the first file that sets a key wins.
	other := filepath.Join(e.dir, "other_config")
	if err := os.WriteFile(other, []byte("Host web1\n  Port 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	both := SSHOptions{UseConfig: true, ConfigFiles: []string{path, other}, AgentSocket: "-", KnownHostsFile: e.knownHosts}
	mustExec(t, e.pool(both, nil), "web1", "true")
	both.ConfigFiles = []string{other, path}
	_, err = e.pool(both, nil).Exec(context.Background(), "web1", "true", ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), "connecting to "+target.IP+":1:") {
		t.Fatalf("err = %v, want a failure on port 1 from the first file", err)
	}
}

func TestLogLevelDebugShowsConnectionSteps(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.36", sshtest.Options{}, e.key)
	for _, tt := range []struct {
		level string
		shown bool
	}{{"debug", true}, {"", false}, {"fatal", false}} {
		var buf bytes.Buffer
		o := e.opts(srv.Port)
		o.LogLevel = tt.level
		mustExec(t, e.pool(o, NewOutput(&buf, LevelDefault, nil)), srv.IP, "true")
		got := strings.Contains(buf.String(), "ssh: connecting to root@"+srv.Addr()) &&
			strings.Contains(buf.String(), "ssh: connected to root@"+srv.Addr()+" (SSH-2.0-OpenSSH")
		if got != tt.shown {
			t.Errorf("log_level %q: connection steps shown = %v:\n%s", tt.level, got, buf.String())
		}
	}
}
