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

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

// TestHostKeyPolicies covers the known hosts files besides the user's
// (the global /etc/ssh/ssh_known_hosts) and the ssh_config settings read
// when `ssh: config` is on: StrictHostKeyChecking, UserKnownHostsFile and
// GlobalKnownHostsFile.
func TestHostKeyPolicies(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.40", sshtest.Options{}, e.key)
	t.Setenv("HOME", e.dir)
	addr := "[" + srv.IP + "]:" + strconv.Itoa(srv.Port)
	good := knownhosts.Line([]string{addr}, srv.HostKey) + "\n"
	bad := knownhosts.Line([]string{addr}, sshtest.NewKey(t, e.dir, "impostor").Signer.PublicKey()) + "\n"
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(e.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return string(b)
	}
	// sshConfig writes an ssh_config for the server's address with extra
	// settings, and returns options that read it (and no user file).
	sshConfig := func(name, extra string) SSHOptions {
		conf := fmt.Sprintf("Host %s\n  Port %d\n  User root\n  IdentityFile %s\n%s", srv.IP, srv.Port, e.key.Path, extra)
		return SSHOptions{UseConfig: true, ConfigFiles: []string{write(name, conf)}, AgentSocket: "-"}
	}
	run := func(o SSHOptions) (string, error) {
		var buf bytes.Buffer
		_, err := e.pool(o, NewOutput(&buf, LevelDefault, nil)).Exec(context.Background(), srv.IP, "true", ExecOptions{})
		return buf.String(), err
	}

	t.Run("global file trusts the host", func(t *testing.T) {
		o := e.opts(srv.Port)
		o.KnownHostsFile = write("user1", "")
		o.GlobalKnownHostsFiles = []string{write("global1", good), filepath.Join(e.dir, "missing")}
		out, err := run(o)
		if err != nil || strings.Contains(out, "Permanently added") || read(o.KnownHostsFile) != "" {
			t.Fatalf("err %v, output %q, user file %q", err, out, read(o.KnownHostsFile))
		}
	})
	t.Run("global file refuses a changed key", func(t *testing.T) {
		o := e.opts(srv.Port)
		o.KnownHostsFile = write("user2", "")
		o.GlobalKnownHostsFiles = []string{write("global2", bad)}
		_, err := run(o)
		var changed *HostKeyChangedError
		if !errors.As(err, &changed) || changed.File != o.GlobalKnownHostsFiles[0] {
			t.Fatalf("err = %v, want a changed key in the global file", err)
		}
	})
	t.Run("StrictHostKeyChecking yes refuses an unknown host", func(t *testing.T) {
		user := filepath.Join(e.dir, "user3")
		o := sshConfig("config3", "  StrictHostKeyChecking yes\n  UserKnownHostsFile "+user+"\n  GlobalKnownHostsFile none\n")
		_, err := run(o)
		var unknown *HostKeyUnknownError
		if !errors.As(err, &unknown) || unknown.Kind() != "Net::SSH::HostKeyUnknown" || !strings.Contains(err.Error(), user) {
			t.Fatalf("err = %v, want an unknown host naming %s", err, user)
		}
		if _, err := os.Stat(user); err == nil {
			t.Errorf("the known hosts file was written: %q", read(user))
		}
		// Once the key is known, the same setting connects.
		write("user3", good)
		if _, err := run(o); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UserKnownHostsFile receives new keys", func(t *testing.T) {
		user := filepath.Join(e.dir, "sub", "user4")
		o := sshConfig("config4", "  UserKnownHostsFile ~/sub/user4 ~/other\n  GlobalKnownHostsFile "+filepath.Join(e.dir, "missing")+"\n")
		out, err := run(o)
		if err != nil || !strings.Contains(out, "Permanently added "+addr) || read(user) != good {
			t.Fatalf("err %v, output %q, file %q", err, out, read(user))
		}
		if _, err := os.Stat(filepath.Join(e.dir, ".ssh", "known_hosts")); err == nil {
			t.Error("the default known_hosts was written")
		}
	})
	t.Run("GlobalKnownHostsFile from ssh_config", func(t *testing.T) {
		o := sshConfig("config5", "  UserKnownHostsFile "+write("user5", "")+"\n  GlobalKnownHostsFile "+write("global5", bad)+"\n")
		var changed *HostKeyChangedError
		if _, err := run(o); !errors.As(err, &changed) {
			t.Fatalf("err = %v, want the global file's key to be checked", err)
		}
	})
	t.Run("StrictHostKeyChecking no connects despite a changed key", func(t *testing.T) {
		user := write("user6", bad)
		o := sshConfig("config6", "  StrictHostKeyChecking no\n  UserKnownHostsFile "+user+"\n  GlobalKnownHostsFile none\n")
		out, err := run(o)
		if err != nil || !strings.Contains(out, "Connecting anyway: StrictHostKeyChecking is no") || read(user) != bad {
			t.Fatalf("err %v, output %q, file %q", err, out, read(user))
		}
	})
	t.Run("ssh_config is not read with config: false", func(t *testing.T) {
		o := sshConfig("config7", "  StrictHostKeyChecking yes\n")
		o.UseConfig, o.Keys, o.Port = false, []string{e.key.Path}, srv.Port
		o.KnownHostsFile = filepath.Join(e.dir, "user7")
		o.GlobalKnownHostsFiles = []string{}
		if _, err := run(o); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an invalid setting is an error", func(t *testing.T) {
		o := sshConfig("config8", "  StrictHostKeyChecking maybe\n")
		if _, err := run(o); err == nil || !strings.Contains(err.Error(), `invalid StrictHostKeyChecking "maybe"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

// The default global files are OpenSSH's.
func TestHostKeyPolicyDefaults(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	p, err := hostKeyPolicyFor(SSHOptions{}, nil, "h")
	if err != nil {
		t.Fatal(err)
	}
	want := hostKeyPolicy{strict: strictAcceptNew,
		user:   []string{"/home/u/.ssh/known_hosts", "/home/u/.ssh/known_hosts2"},
		global: []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("policy = %+v, want %+v", p, want)
	}
}

// A private key file that others can read is refused, as OpenSSH does;
// default identity files with such modes are skipped.
func TestPrivateKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir, "id_open")
	if err := os.Chmod(key.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	a := newAuth(SSHOptions{Keys: []string{key.Path}, AgentSocket: "-"})
	err := a.load()
	if err == nil || !strings.Contains(err.Error(), "permissions 0644 are too open") || !strings.Contains(err.Error(), "chmod 600 "+key.Path) {
		t.Fatalf("err = %v, want a clear refusal", err)
	}
	if err := os.Chmod(key.Path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := newAuth(SSHOptions{Keys: []string{key.Path}, AgentSocket: "-"}).load(); err != nil {
		t.Fatalf("0600 key refused: %v", err)
	}

	// Default identities: the open one is skipped, so there is none.
	if err := os.Chmod(key.Path, 0o640); err != nil {
		t.Fatal(err)
	}
	none := newAuth(SSHOptions{AgentSocket: "-"})
	if _, err := none.signers(target{Identity: []string{key.Path}})(); !errors.Is(err, errNoIdentities) {
		t.Fatalf("err = %v, want no identities", err)
	}
}
