package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Kept connections (KAMAL_SSH_PERSIST, a minute unless set), like
// OpenSSH's ControlPersist.
//
// Every kamal run pays an SSH connection per host (TCP, key exchange,
// authentication and sshd's per-connection setup: most of the time of a
// query such as `kamal lock status`). With persistence on, a run that had
// to connect directly leaves a keeper process behind for each such host:
// `kamal __ssh-keeper`, detached, which opens its own connection with the
// same settings and offers it on a Unix socket in a private directory.
// Later runs reach the host through it (an SSH handshake over the local
// socket, about a millisecond) until it has been idle for the persist
// duration or its connection drops. Errors are never reported by a
// keeper: whenever it is missing or fails, the run connects directly as
// without persistence.

// PersistEnv names the environment variable that sets how long kept
// connections last: a duration ("90s", "10m") or a number of seconds; 0
// turns them off. Unset or empty: DefaultPersist.
const PersistEnv = "KAMAL_SSH_PERSIST"

// DefaultPersist is a minute, as Ansible keeps its OpenSSH connections
// (ControlPersist=60s): long enough for a few commands in a row, short
// enough that nothing lingers.
const DefaultPersist = time.Minute

// KeeperCommand is the hidden kamal command a keeper runs as.
const KeeperCommand = "__ssh-keeper"

// keeperVersion changes when keepers of an older kamal must not be used.
const keeperVersion = "1"

// ParsePersist reads a KAMAL_SSH_PERSIST value.
func ParsePersist(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultPersist, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q is not a duration: use seconds or e.g. 90s, 10m (0 turns it off)", PersistEnv, v)
	}
	return d, nil
}

// keeperSpec is what a run hands a new keeper on its standard input: one
// keeper process serves every host the run connected to directly.
type keeperSpec struct {
	Opts  SSHOptions
	Idle  time.Duration
	Hosts []keptHost
}

type keptHost struct {
	Host   string // as the run named it
	Socket string
}

// keeperID is what a client needs to trust a keeper and be let in: the
// keeper's host key (authorized_keys format) and a random password. It is
// written next to the socket, readable by the owner only.
type keeperID struct {
	HostKey string
	Token   string
}

// keptDir is the private directory of the keepers' sockets: under
// $XDG_RUNTIME_DIR, else the temporary directory with the user's id in its
// name. It must be a real directory of ours that nobody else can enter.
func keptDir() (string, error) {
	dir := filepath.Join(os.TempDir(), "kamal-ssh-"+strconv.Itoa(os.Getuid()))
	if base := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(base) {
		dir = filepath.Join(base, "kamal-ssh")
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	return dir, checkPrivateDir(dir)
}

// keptSocket is the socket of the keeper for host with the pool's
// settings, or "" when this run does not use kept connections. The name
// is a digest of everything that decides what the connection is (the
// resolved target, user, keys, proxies, host key policy), so a changed
// setting never reuses a connection made with the old one.
func (p *Pool) keptSocket(host string, t target) string {
	if p.opts.Persist <= 0 || !persistSupported {
		return ""
	}
	if p.opts.ForwardAgent {
		p.persistNote("ssh: kept connections are not used with forward_agent")
		return ""
	}
	base, err := p.kept()
	if err != nil {
		p.persistNote("ssh: kept connections are off: " + err.Error())
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%x\x00%s\x00%#v", base.seed, host, t)
	sock := filepath.Join(base.dir, hex.EncodeToString(h.Sum(nil)[:16])+".sock")
	if len(sock) > maxSocketPath {
		p.persistNote("ssh: kept connections are off: the socket path " + sock + " is too long")
		return ""
	}
	return sock
}

// keptBase is what the keeper sockets of all a pool's hosts share: their
// directory and a digest of the pool's settings and ssh_config files.
type keptBase struct {
	dir  string
	seed []byte
}

// newKeptBase prepares the directory and reads the ssh_config files once
// per run (Pool.kept), not once per host.
func newKeptBase(o SSHOptions) (keptBase, error) {
	dir, err := keptDir()
	if err != nil {
		return keptBase{}, err
	}
	o.LogLevel, o.MaxConcurrentStarts, o.PoolIdleTimeout, o.Persist = "", 0, 0, 0
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%#v", keeperVersion, o)
	for _, f := range o.ConfigFiles {
		b, _ := os.ReadFile(f) // ssh_config lines of jump hosts are not in a host's target
		fmt.Fprintf(h, "\x00%d:%s", len(b), b)
	}
	return keptBase{dir: dir, seed: h.Sum(nil)}, nil
}

// persistNote logs why kept connections are not used, once per run.
func (p *Pool) persistNote(msg string) {
	p.noteOnce.Do(func() { p.sshLog("%s", strings.TrimPrefix(msg, "ssh: ")) })
}

// dialKept connects through the keeper listening on sock.
func dialKept(ctx context.Context, sock string) (*ssh.Client, error) {
	b, err := os.ReadFile(sock + ".id")
	if err != nil {
		return nil, err
	}
	var id keeperID
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, fmt.Errorf("%s.id: %w", sock, err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(id.HostKey))
	if err != nil {
		return nil, fmt.Errorf("%s.id: %w", sock, err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:            "kamal",
		Auth:            []ssh.AuthMethod{ssh.Password(id.Token)},
		HostKeyCallback: ssh.FixedHostKey(pub),
		Timeout:         keeperTimeout,
	}
	return handshake(ctx, nc, "kept connection", cfg, keeperTimeout)
}

// maxSocketPath is the longest Unix socket path every system takes (the
// kernel's sun_path is 108 bytes on Linux, 104 on BSDs, with a NUL).
const maxSocketPath = 103

// keeperTimeout bounds the local handshake with a keeper; a keeper that
// is that slow is passed over for a direct connection.
const keeperTimeout = 5 * time.Second

// startKeepers leaves a keeper behind for every host this run connected
// to directly. Failures only cost the next run its shortcut.
func (p *Pool) startKeepers() {
	p.mu.Lock()
	toKeep := p.toKeep
	p.toKeep = nil
	p.mu.Unlock()
	if len(toKeep) == 0 {
		return
	}
	spec := keeperSpec{Opts: p.opts, Idle: p.opts.Persist}
	spec.Opts.Persist = 0 // a keeper connects directly
	for _, host := range slices.Sorted(maps.Keys(toKeep)) {
		spec.Hosts = append(spec.Hosts, keptHost{Host: host, Socket: toKeep[host]})
	}
	if err := startKeeper(spec); err != nil {
		p.sshLog("could not keep the connections: %v", err)
	}
}

// keeperEnv keeps what a connection may need (a proxy command's PATH,
// HOME, the agent) and drops the rest, such as secrets a run exported: a
// keeper lives on after the run.
func keeperEnv(env []string) []string {
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "PATH", "HOME", "USER", "LOGNAME", "SHELL", "SSH_AUTH_SOCK", "XDG_RUNTIME_DIR", "TMPDIR", "LANG", "LC_ALL":
			kept = append(kept, kv)
		}
	}
	return kept
}

// startKeeper runs this executable as a detached keeper. The spec (with
// any key material) goes through a pipe, never the command line.
func startKeeper(spec keeperSpec) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(exe, KeeperCommand)
	cmd.Stdin = r
	cmd.Dir = "/"
	cmd.Env = keeperEnv(os.Environ())
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	written := make(chan error, 1)
	go func() {
		_, err := w.Write(b)
		w.Close()
		written <- err
	}()
	select {
	case err = <-written:
	case <-time.After(keeperTimeout):
		err = errors.New("the keeper did not read its settings")
		w.Close()
	}
	_ = cmd.Process.Release()
	return err
}
