// Package sshtest starts real OpenSSH servers and ssh-agents for tests and
// benchmarks. Servers listen on 127.0.0.x addresses, use fresh host keys and
// accept only the keys given to them. Everything started is stopped through
// tb.Cleanup.
package sshtest

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SSHD is the OpenSSH server binary.
const SSHD = "/usr/sbin/sshd"

// Require skips tb unless it can run real sshd servers (root on Linux with
// sshd installed). Under CI=true a missing prerequisite fails instead.
func Require(tb testing.TB) {
	tb.Helper()
	var why string
	switch {
	case os.Geteuid() != 0:
		why = "needs root to run sshd"
	default:
		if _, err := os.Stat(SSHD); err != nil {
			why = "sshd not installed (" + SSHD + ")"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true: %s", why)
	}
	tb.Skip(why)
}

// Key is a client key pair written to disk.
type Key struct {
	Path   string // private key file (0600, OpenSSH format)
	PEM    []byte // the same private key material
	Signer ssh.Signer
	Priv   ed25519.PrivateKey
}

// AuthorizedLine is the key's authorized_keys line.
func (k *Key) AuthorizedLine() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Signer.PublicKey())))
}

// NewKey generates an ed25519 key in dir.
func NewKey(tb testing.TB, dir, name string) *Key {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		tb.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return &Key{Path: path, PEM: data, Signer: signer, Priv: priv}
}

// Server is a running sshd.
type Server struct {
	IP      string
	Port    int
	HostKey ssh.PublicKey
	LogFile string // sshd's log (-E)
	cmd     *exec.Cmd
	done    chan struct{}
}

// Addr is "ip:port".
func (s *Server) Addr() string { return net.JoinHostPort(s.IP, strconv.Itoa(s.Port)) }

// Options for Start.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// LogLevel is sshd's LogLevel (default ERROR). DEBUG1 logs forwarding.
	LogLevel string
	// Extra sshd_config lines.
	Extra []string
}

// Start runs sshd on ip, accepting the given keys for root.
func Start(tb testing.TB, ip string, opts Options, keys ...*Key) *Server {
	tb.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation dir
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		tb.Fatal(err)
	}
	hostKeyPath := filepath.Join(dir, "host_ed25519")
	if err := os.WriteFile(hostKeyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		tb.Fatal(err)
	}
	hostSigner, _ := ssh.NewSignerFromKey(hostPriv)

	var auth strings.Builder
	for _, k := range keys {
		auth.WriteString(k.AuthorizedLine() + "\n")
	}
	authPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authPath, []byte(auth.String()), 0o600); err != nil {
		tb.Fatal(err)
	}

	port := opts.Port
	if port == 0 {
		port = FreePort(tb, ip)
	}
	level := opts.LogLevel
	if level == "" {
		level = "ERROR"
	}
	conf := []string{
		"Port " + strconv.Itoa(port),
		"ListenAddress " + ip,
		"HostKey " + hostKeyPath,
		"AuthorizedKeysFile " + authPath,
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding yes",
		"AllowAgentForwarding yes",
		"PermitTTY yes",
		"MaxStartups 200",
		"LogLevel " + level,
	}
	conf = append(conf, opts.Extra...)
	confPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	logPath := filepath.Join(dir, "sshd.log")
	cmd := exec.Command(SSHD, "-D", "-f", confPath, "-E", logPath)
	// Own process group, so Stop also reaches per-connection children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting sshd: %v", err)
	}
	s := &Server{IP: ip, Port: port, HostKey: hostSigner.PublicKey(), LogFile: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	tb.Cleanup(s.Stop)
	if err := waitListening(s.Addr(), s.done, 10*time.Second); err != nil {
		log, _ := os.ReadFile(logPath)
		tb.Fatalf("sshd on %s: %v\n%s", s.Addr(), err, log)
	}
	return s
}

// Stop kills sshd (its listener and every session child) and waits for it.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// DropConnections kills the sshd processes serving open connections (the
// listener's children and theirs), as a network fault would: clients see
// their connections end. sshd puts each connection in a session of its
// own, so Stop's process group kill does not reach them.
func (s *Server) DropConnections() { s.SignalConnections(syscall.SIGKILL) }

// SignalConnections sends sig to the sshd processes serving open
// connections: SIGSTOP makes them a peer that no longer answers (a
// suspended laptop's network, a vanished server), SIGCONT revives them.
func (s *Server) SignalConnections(sig syscall.Signal) {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name: state, ppid, ...
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 {
			if ppid, err := strconv.Atoi(f[1]); err == nil {
				children[ppid] = append(children[ppid], pid)
			}
		}
	}
	var kill func(pid int)
	kill = func(pid int) {
		for _, c := range children[pid] {
			kill(c)
		}
		_ = syscall.Kill(pid, sig)
	}
	for _, c := range children[s.cmd.Process.Pid] {
		kill(c)
	}
}

// Log returns sshd's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogFile)
	return string(b)
}

func waitListening(addr string, died <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			// Wait for the SSH banner so the server is really serving.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "SSH-") {
				return nil
			}
		}
		select {
		case <-died:
			return fmt.Errorf("sshd exited")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a TCP port that is free on ip right now.
func FreePort(tb testing.TB, ip string) int {
	tb.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Agent is a running ssh-agent.
type Agent struct {
	Socket string
	cmd    *exec.Cmd
	done   chan struct{}
}

// StartAgent runs `ssh-agent -D` on a fresh socket and loads keys into it
// through the agent protocol.
func StartAgent(tb testing.TB, keys ...*Key) *Agent {
	tb.Helper()
	sock := filepath.Join(tb.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting ssh-agent: %v", err)
	}
	a := &Agent{Socket: sock, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-a.done
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conn net.Conn
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-a.done:
			tb.Fatal("ssh-agent exited")
		case <-ctx.Done():
			tb.Fatalf("ssh-agent socket: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	defer conn.Close()
	client := agent.NewClient(conn)
	for _, k := range keys {
		if err := client.Add(agent.AddedKey{PrivateKey: k.Priv}); err != nil {
			tb.Fatalf("adding key to agent: %v", err)
		}
	}
	return a
}
