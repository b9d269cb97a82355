package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

// TestMain lets the test binary stand in for kamal when a pool starts a
// keeper (os.Executable() KeeperCommand).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == KeeperCommand {
		if err := RunKeeper(context.Background(), os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParsePersist(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"", DefaultPersist, false},
		{" ", DefaultPersist, false},
		{"0", 0, false},
		{"60", time.Minute, false},
		{" 90s ", 90 * time.Second, false},
		{"10m", 10 * time.Minute, false},
		{"-5", 0, true},
		{"-1s", 0, true},
		{"soon", 0, true},
	} {
		got, err := ParsePersist(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParsePersist(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), PersistEnv) {
			t.Errorf("error %q does not name %s", err, PersistEnv)
		}
	}
}

func TestCheckPrivateDir(t *testing.T) {
	if !persistSupported {
		t.Skip("kept connections are Linux only")
	}
	base := t.TempDir()
	private := filepath.Join(base, "private")
	open := filepath.Join(base, "open")
	link := filepath.Join(base, "link")
	for _, d := range []string{private, open} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{private: "", open: "open to other users", link: "not a directory", file: "not a directory"} {
		err := checkPrivateDir(dir)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("checkPrivateDir(%s) = %v, want %q", filepath.Base(dir), err, want)
		}
	}
}

// keptEnv is a host, options with persistence on, and the keeper socket
// those options lead to.
type keptEnv struct {
	*testEnv
	srv  *sshtest.Server
	opts SSHOptions
	sock string
}

func newKeptEnv(t *testing.T, ip string) *keptEnv {
	t.Helper()
	if !persistSupported {
		t.Skip("kept connections are Linux only")
	}
	e := newTestEnv(t)
	// Short: a Unix socket path has at most 107 bytes.
	run, err := os.MkdirTemp("", "kt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	t.Setenv("XDG_RUNTIME_DIR", run)
	srv := sshtest.Start(t, ip, sshtest.Options{LogLevel: "VERBOSE"}, e.key)
	o := e.opts(srv.Port)
	o.Persist = 10 * time.Second // the keepers started outlive the test by that much at most
	p := e.pool(o, nil)
	tg, err := resolve(srv.IP, p.opts, p.cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	sock := p.keptSocket(srv.IP, tg)
	if sock == "" {
		t.Fatal("no keeper socket with Persist set")
	}
	return &keptEnv{testEnv: e, srv: srv, opts: o, sock: sock}
}

func (k *keptEnv) accepted() int { return strings.Count(k.srv.Log(), "Accepted publickey") }

// waitForKeeper waits until a keeper answers on sock.
func waitForKeeper(t *testing.T, sock string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := dialKept(context.Background(), sock)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no keeper on %s: %v", sock, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keep runs one command directly, which leaves a keeper behind.
func (k *keptEnv) keep(t *testing.T) {
	t.Helper()
	p := k.pool(k.opts, nil)
	mustExec(k.t, p, k.srv.IP, "true")
	p.Close()
	waitForKeeper(t, k.sock)
}

func TestKeptConnectionServesLaterRuns(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.60")
	k.keep(t)
	if n := k.accepted(); n != 2 {
		t.Fatalf("%d connections after the first run, want 2 (the run's and the keeper's)", n)
	}
	for range 3 {
		var log bytes.Buffer
		o := k.opts
		o.LogLevel = "info" // prints how it connected; not part of the keeper's identity
		p := k.pool(o, NewOutput(&log, LevelVerbose, nil))
		res, err := p.Exec(context.Background(), k.srv.IP, "cat; echo err >&2; exit 3",
			ExecOptions{Stdin: strings.NewReader("in\n"), AllowFailure: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stdout != "in\n" || res.Stderr != "err\n" || res.ExitStatus != 3 {
			t.Fatalf("through the keeper: stdout %q, stderr %q, status %d", res.Stdout, res.Stderr, res.ExitStatus)
		}
		big := mustExec(t, p, k.srv.IP, "head -c 3000000 /dev/zero | tr '\\0' x")
		if len(big.Stdout) != 3000000 {
			t.Fatalf("3 MB of output arrived as %d bytes", len(big.Stdout))
		}
		if !strings.Contains(log.String(), "through its kept connection") {
			t.Fatalf("log does not say the kept connection was used:\n%s", log.String())
		}
		p.Close()
	}
	if n := k.accepted(); n != 2 {
		t.Fatalf("later runs opened %d connections of their own, want 0", n-2)
	}
}

func TestKeptConnectionCarriesSocketsAndForwards(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.61")
	k.keep(t)
	p := k.pool(k.opts, nil)
	ctx := context.Background()

	c, err := p.DialUnix(ctx, k.srv.IP, echoSocket(t))
	if err != nil {
		t.Fatalf("DialUnix through the keeper: %v", err)
	}
	if _, err := c.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "echo: hi\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	c.Close()
	if _, err := p.DialUnix(ctx, k.srv.IP, filepath.Join(t.TempDir(), "missing.sock")); err == nil {
		t.Fatal("DialUnix of a missing socket succeeded through the keeper")
	}

	// A port the host forwards back to this machine (a registry on the
	// deployer's localhost), through the keeper.
	local, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	go func() {
		for {
			c, err := local.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	port := sshtest.FreePort(t, "127.0.0.1")
	stop, err := p.ForwardRemotePort(ctx, k.srv.IP, port, local.Addr().String())
	if err != nil {
		t.Fatalf("ForwardRemotePort through the keeper: %v", err)
	}
	fc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("dialing the forwarded port: %v", err)
	}
	if _, err := fc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(fc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("forwarded echo: %q, %v", buf, err)
	}
	fc.Close()
	stop()
	if n := k.accepted(); n != 2 {
		t.Fatalf("%d connections, want 2 (the first run's and the keeper's)", n)
	}
}

func TestKeeperLeavesWhenIdleOrCutOff(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.62")
	o := k.opts
	o.Persist = 0
	start := func(idle time.Duration) <-chan error {
		b, err := json.Marshal(keeperSpec{Opts: o, Idle: idle, Hosts: []keptHost{{Host: k.srv.IP, Socket: k.sock}}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- RunKeeper(context.Background(), bytes.NewReader(b)) }()
		waitForKeeper(t, k.sock)
		return done
	}
	gone := func(done <-chan error, why string) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("keeper (%s): %v", why, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("keeper still running (%s)", why)
		}
		for _, f := range []string{k.sock, k.sock + ".id"} {
			if _, err := os.Stat(f); !os.IsNotExist(err) {
				t.Errorf("%s left behind (%s): %v", filepath.Base(f), why, err)
			}
		}
	}

	gone(start(200*time.Millisecond), "idle")

	done := start(time.Minute)
	// A second keeper for the same socket steps aside.
	b, _ := json.Marshal(keeperSpec{Opts: o, Idle: time.Minute, Hosts: []keptHost{{Host: k.srv.IP, Socket: k.sock}}})
	if err := RunKeeper(context.Background(), bytes.NewReader(b)); err != nil {
		t.Fatalf("second keeper: %v", err)
	}
	waitForKeeper(t, k.sock)
	k.srv.DropConnections() // the kept connection drops
	gone(done, "connection dropped")
}

func TestStaleKeeperSocketFallsBackAndIsReplaced(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.63")
	ln, err := net.Listen("unix", k.sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a dead keeper's socket
	if err := os.WriteFile(k.sock+".id", []byte(`{"HostKey":"garbage"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := k.pool(k.opts, nil)
	mustExec(t, p, k.srv.IP, "true")
	p.Close()
	waitForKeeper(t, k.sock) // a new keeper took the socket over
	if n := k.accepted(); n != 2 {
		t.Fatalf("%d connections, want 2 (the direct one and the new keeper's)", n)
	}
}

func TestNoKeeperWithoutPersistOrWithForwardAgent(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.64")
	for name, o := range map[string]SSHOptions{
		"persist off":   func() SSHOptions { o := k.opts; o.Persist = 0; return o }(),
		"forward agent": func() SSHOptions { o := k.opts; o.ForwardAgent, o.AgentSocket = true, "-"; return o }(),
	} {
		p := k.pool(o, nil)
		mustExec(t, p, k.srv.IP, "true")
		tg, err := resolve(k.srv.IP, p.opts, p.cfg, false)
		if err != nil {
			t.Fatal(err)
		}
		if sock := p.keptSocket(k.srv.IP, tg); sock != "" {
			t.Errorf("%s: keeper socket %s", name, sock)
		}
		p.Close()
	}
	if entries, _ := os.ReadDir(filepath.Dir(k.sock)); len(entries) != 0 {
		t.Errorf("keeper files appeared: %v", entries)
	}
}

func TestKeeperEnvDropsSecrets(t *testing.T) {
	got := keeperEnv([]string{"PATH=/bin", "KAMAL_REGISTRY_PASSWORD=hunter2", "HOME=/root", "SSH_AUTH_SOCK=/a", "AWS_SECRET_ACCESS_KEY=x", "XDG_RUNTIME_DIR=/run/user/0"})
	want := []string{"PATH=/bin", "HOME=/root", "SSH_AUTH_SOCK=/a", "XDG_RUNTIME_DIR=/run/user/0"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keeperEnv = %q, want %q", got, want)
	}
}

// Right after the kept connection drops, whether or not its keeper has
// noticed yet, a run still gets through (directly).
func TestRunRightAfterTheKeptConnectionDrops(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.65")
	for i := range 3 {
		k.keep(t)
		k.srv.DropConnections()
		p := k.pool(k.opts, nil)
		if res, err := p.Exec(context.Background(), k.srv.IP, "echo ok", ExecOptions{}); err != nil || res.Stdout != "ok\n" {
			t.Fatalf("round %d: %q, %v", i, res.Stdout, err)
		}
		p.Close()

		k.keep(t)
		k.srv.DropConnections()
		p = k.pool(k.opts, nil)
		c, err := p.DialUnix(context.Background(), k.srv.IP, echoSocket(t))
		if err != nil {
			t.Fatalf("round %d: DialUnix: %v", i, err)
		}
		c.Close()
		p.Close()
	}
}

// A client whose channel the keeper cannot open because the host's
// connection has just died sees its own connection end (io.EOF, which
// the pool answers by connecting again), not a refused channel.
func TestKeeperWithADeadHostConnectionHangsUp(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.66")
	_, up := k.serveInProcess(t)
	c, err := dialKept(context.Background(), k.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up.Close()
	if _, err := c.NewSession(); !errors.Is(err, io.EOF) {
		t.Fatalf("NewSession through a keeper whose host connection died: %v, want io.EOF", err)
	}
}

// Two runs sharing a kept connection stay within sshd's MaxSessions (10
// here): 16 concurrent commands, 8 from each run, all succeed.
func TestKeptConnectionSharedByConcurrentRuns(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.67")
	k.keep(t)
	errs := make(chan error, 16)
	for range 2 {
		p := k.pool(k.opts, nil)
		for range 8 {
			go func() {
				res, err := p.Exec(context.Background(), k.srv.IP, "sleep 0.3; echo ok", ExecOptions{})
				if err == nil && res.Stdout != "ok\n" {
					err = fmt.Errorf("stdout %q", res.Stdout)
				}
				errs <- err
			}()
		}
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// serveInProcess runs a keeper inside the test on a fresh connection to
// the host, so the test can reach into it; it returns the keeper and its
// host connection.
func (k *keptEnv) serveInProcess(t *testing.T) (*keeper, *ssh.Client) {
	t.Helper()
	p := k.pool(k.opts, nil)
	up, err := p.connect(context.Background(), k.srv.IP)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := newKeeper(up, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(k.sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := kp.listen(k.sock)
	if err != nil {
		t.Fatal(err)
	}
	go kp.serve(ln)
	t.Cleanup(func() { kp.close(ln) })
	return kp, up
}

// keeperPID is the process serving sock.
func keeperPID(t *testing.T, sock string) int32 {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	return cred.Pid
}

// One run, two hosts: one keeper process serves both.
func TestOneKeeperProcessForTheRunsHosts(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.68")
	other := sshtest.Start(t, "127.0.0.69", sshtest.Options{Port: k.srv.Port}, k.key)
	p := k.pool(k.opts, nil)
	mustExec(t, p, k.srv.IP, "true")
	mustExec(t, p, other.IP, "true")
	tg, err := resolve(other.IP, p.opts, p.cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	otherSock := p.keptSocket(other.IP, tg)
	p.Close()
	waitForKeeper(t, k.sock)
	waitForKeeper(t, otherSock)
	if a, b := keeperPID(t, k.sock), keeperPID(t, otherSock); a != b {
		t.Fatalf("hosts kept by processes %d and %d, want one", a, b)
	}
}

// A kept connection idle for a while whose peer no longer answers is not
// handed out: the client is turned away within the liveness timeout and
// connects directly.
func TestKeeperChecksAnIdleConnectionBeforeUse(t *testing.T) {
	k := newKeptEnv(t, "127.0.0.70")
	kp, _ := k.serveInProcess(t)

	backdate := func() {
		t.Helper()
		// Once the keeper is done with the last client (which sets lastUsed).
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			kp.mu.Lock()
			idle := len(kp.clients) == 0 && kp.pending == 0
			if idle {
				kp.lastUsed = time.Now().Add(-2 * livenessAfter).Round(0)
			}
			kp.mu.Unlock()
			if idle {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the keeper still serves a client")
			}
		}
	}
	backdate()
	c, err := dialKept(context.Background(), k.sock)
	if err != nil {
		t.Fatalf("an idle but healthy connection was refused: %v", err)
	}
	c.Close()

	k.srv.SignalConnections(syscall.SIGSTOP)
	defer k.srv.SignalConnections(syscall.SIGCONT)
	backdate()
	if c, err := dialKept(context.Background(), k.sock); err == nil {
		c.Close()
		t.Fatal("a connection whose peer does not answer was handed out")
	}
	res, err := k.pool(k.opts, nil).Exec(context.Background(), k.srv.IP, "echo direct", ExecOptions{})
	if err != nil || res.Stdout != "direct\n" {
		t.Fatalf("direct run: %q, %v", res.Stdout, err)
	}
}
