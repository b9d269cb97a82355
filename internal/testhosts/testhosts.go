// Package testhosts simulates servers on one Linux machine for end-to-end
// tests: each host has its own network namespace, mount namespace, hostname,
// home directory, sshd and Docker daemon; a private registry and a deployer
// Docker daemon complete the picture. Everything needs root.
//
// Only one environment exists on a machine at a time (a lock file serialises
// concurrent test packages), and Start first clears whatever an earlier,
// killed run left behind.
package testhosts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Fixed addresses of the simulated network.
const (
	BridgeIP     = "10.77.0.1"
	DeployerIP   = "10.77.0.2"
	RegistryPort = 5000
	firstHostIP  = 11
	maxHosts     = 20
)

// Default locations; Options may override Root for tests of the harness.
const (
	DefaultRoot   = "/var/lib/kamal-testhosts"
	DefaultPrefix = "kt"
	lockPath      = "/run/kamal-testhosts.lock"
	markerEnv     = "KAMAL_TESTHOSTS"
)

// How long one daemon may take to answer after it was started.
const startTimeout = 90 * time.Second

// Options configures Start.
type Options struct {
	Hosts        int    // number of hosts, 1..20 (default 3)
	RegistryAuth bool   // protect the registry with htpasswd credentials
	Prefix       string // names namespaces, links and the state directory (default "kt")
	Root         string // parent of the state directory (default /var/lib/kamal-testhosts)
	// Users are login accounts besides root on every host (none by default).
	Users []User
	// SSHDLogLevel is every sshd's LogLevel (default INFO). VERBOSE logs
	// each session ("Starting session: ..."), which Host.SSHSessions counts.
	SSHDLogLevel string
}

// Env is a running environment.
type Env struct {
	Hosts            []*Host
	Registry         string // "10.77.0.1:5000"
	RegistryUser     string // empty when the registry has no auth
	RegistryPassword string
	SSHKeyPath       string // private key authorised for root on every host
	KnownHostsPath   string // known_hosts with every host's key
	// DeployerDockerHost is the Docker daemon of the machine deploying
	// (unix:///...); it trusts the registry.
	DeployerDockerHost string
	// DeployerDockerConfig is the DOCKER_CONFIG directory to use with it, so
	// that logins never touch the real user's ~/.docker.
	DeployerDockerConfig string
	Dir                  string // state directory of this environment

	prefix       string
	deployer     *Host
	lock         *os.File
	accounts     *accountSetup // nil without Options.Users
	sshdLogLevel string

	buildMu   sync.Mutex
	binaries  map[string]string // program -> built static binary
	loggedIn  bool
	closeOnce sync.Once
	closeErr  error
}

// Host is one simulated server.
type Host struct {
	Name       string // hostname, also the name used in deploy configs ("vm1")
	IP         string
	DockerHost string // unix:///... socket of the host's dockerd, reachable from the machine
	Home       string // the host's /root, as a path on the machine
	Dir        string // the host's state directory on the machine

	netns        string
	veth         string
	sshd         bool
	sshdLogLevel string
}

// state is what Start records before it creates anything, so that a later
// run can undo a killed one.
type state struct {
	Prefix     string   `json:"prefix"`
	Dir        string   `json:"dir"`
	Bridge     string   `json:"bridge"`
	Namespaces []string `json:"namespaces"`
	Veths      []string `json:"veths"`
}

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,5}$`)

func (o *Options) setDefaults() error {
	if o.Hosts == 0 {
		o.Hosts = 3
	}
	if o.Hosts < 1 || o.Hosts > maxHosts {
		return fmt.Errorf("testhosts: Hosts must be between 1 and %d, got %d", maxHosts, o.Hosts)
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(o.Prefix) {
		return fmt.Errorf("testhosts: Prefix must match %s, got %q", prefixRE, o.Prefix)
	}
	if o.Root == "" {
		o.Root = DefaultRoot
	}
	if !filepath.IsAbs(o.Root) {
		return fmt.Errorf("testhosts: Root must be an absolute path, got %q", o.Root)
	}
	if o.SSHDLogLevel == "" {
		o.SSHDLogLevel = "INFO"
	}
	return nil
}

// Prerequisites are the programs Start runs.
var Prerequisites = []string{"ip", "iptables", "nsenter", "unshare", "mount", "dockerd", "docker", "containerd", "runc", "/usr/sbin/sshd", "docker-registry", "ssh"}

// CheckPrerequisites reports why this machine cannot run an environment, or
// nil if it can.
func CheckPrerequisites() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("testhosts: needs Linux, this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("testhosts: needs root (network and mount namespaces)")
	}
	var missing []string
	for _, p := range Prerequisites {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("testhosts: missing programs %s (Debian: apt-get install docker.io openssh-server openssh-client docker-registry iproute2 iptables)", strings.Join(missing, ", "))
	}
	return nil
}

func newEnv(opts Options) *Env {
	dir := filepath.Join(opts.Root, opts.Prefix)
	e := &Env{
		Registry:             fmt.Sprintf("%s:%d", BridgeIP, RegistryPort),
		SSHKeyPath:           filepath.Join(dir, "id_ed25519"),
		KnownHostsPath:       filepath.Join(dir, "known_hosts"),
		DeployerDockerConfig: filepath.Join(dir, "deployer", "docker-config"),
		Dir:                  dir,
		prefix:               opts.Prefix,
		sshdLogLevel:         opts.SSHDLogLevel,
		binaries:             map[string]string{},
	}
	for i := 1; i <= opts.Hosts; i++ {
		name := fmt.Sprintf("vm%d", i)
		e.Hosts = append(e.Hosts, newHost(e, name, fmt.Sprintf("10.77.0.%d", firstHostIP+i-1), fmt.Sprintf("%sv%d", opts.Prefix, i), true))
	}
	e.deployer = newHost(e, "deployer", DeployerIP, opts.Prefix+"vd", false)
	e.DeployerDockerHost = e.deployer.DockerHost
	return e
}

func newHost(e *Env, name, ip, veth string, sshd bool) *Host {
	dir := filepath.Join(e.Dir, name)
	return &Host{
		Name:         name,
		IP:           ip,
		DockerHost:   "unix://" + filepath.Join(dir, "run", "docker.sock"),
		Home:         filepath.Join(dir, "root"),
		Dir:          dir,
		netns:        e.prefix + "-" + name,
		veth:         veth,
		sshd:         sshd,
		sshdLogLevel: e.sshdLogLevel,
	}
}

func (e *Env) state() state {
	s := state{Prefix: e.prefix, Dir: e.Dir, Bridge: e.prefix + "br0"}
	for _, h := range e.allHosts() {
		s.Namespaces = append(s.Namespaces, h.netns)
		s.Veths = append(s.Veths, h.veth)
	}
	return s
}

func (e *Env) allHosts() []*Host { return append([]*Host{e.deployer}, e.Hosts...) }

// Start brings up an environment. It blocks while another environment on
// this machine is up (the lock is released by Close or by the process
// ending), then clears leftovers of earlier runs. On error everything
// created so far is torn down again.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := CheckPrerequisites(); err != nil {
		return nil, err
	}
	lock, err := acquireLock(ctx, lockPath)
	if err != nil {
		return nil, err
	}
	if err := CleanupAll(ctx, opts.Root, opts.Prefix); err != nil {
		lock.Close()
		return nil, fmt.Errorf("testhosts: clearing leftovers: %w", err)
	}
	e := newEnv(opts)
	e.lock = lock
	if err := e.start(ctx, opts); err != nil {
		if cerr := e.Close(); cerr != nil {
			err = fmt.Errorf("%w (and teardown: %v)", err, cerr)
		}
		return nil, err
	}
	return e, nil
}

func (e *Env) start(ctx context.Context, opts Options) error {
	if err := os.MkdirAll(e.Dir, 0o700); err != nil {
		return err
	}
	// Record names first: a run killed from here on is undone by the next.
	if err := writeJSON(filepath.Join(e.Dir, "state.json"), e.state()); err != nil {
		return err
	}
	if err := setupNetwork(ctx, e.state(), e.allHosts()); err != nil {
		return err
	}
	clientPub, err := writeClientKey(e.SSHKeyPath)
	if err != nil {
		return err
	}
	if opts.RegistryAuth {
		e.RegistryUser = "kamal"
		if e.RegistryPassword, err = randomHex(16); err != nil {
			return err
		}
	}
	if len(opts.Users) > 0 {
		passwd, err := os.ReadFile("/etc/passwd")
		if err != nil {
			return err
		}
		group, err := os.ReadFile("/etc/group")
		if err != nil {
			return err
		}
		if e.accounts, err = newAccountSetup(opts.Users, string(passwd), string(group)); err != nil {
			return err
		}
	}
	var known []string
	for _, h := range e.allHosts() {
		line, err := h.prepare(e, clientPub)
		if err != nil {
			return fmt.Errorf("testhosts: preparing %s: %w", h.Name, err)
		}
		if line != "" {
			known = append(known, line)
		}
	}
	if err := os.WriteFile(e.KnownHostsPath, []byte(strings.Join(known, "")), 0o644); err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.startRegistry(gctx) })
	for _, h := range e.allHosts() {
		g.Go(func() error { return h.boot(gctx, e) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return writeJSON(filepath.Join(e.Dir, "env.json"), e)
}

// Close removes every container, stops every process, deletes the
// namespaces, links and state directory, and releases the lock. It is safe
// to call more than once.
func (e *Env) Close() error {
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		e.closeErr = teardown(ctx, e.state())
		if e.lock != nil {
			e.lock.Close()
		}
	})
	return e.closeErr
}

// Deployer returns the deployer's Docker daemon as a Host (it has no sshd).
func (e *Env) Deployer() *Host { return e.deployer }

// DeployerEnv is the environment for docker and kamal commands run on the
// deploying machine: DOCKER_HOST and DOCKER_CONFIG point at the deployer.
func (e *Env) DeployerEnv() []string {
	return []string{"DOCKER_HOST=" + e.DeployerDockerHost, "DOCKER_CONFIG=" + e.DeployerDockerConfig}
}

// SSHArgs are the ssh options that log in as root to a host with the
// environment's key and verified host keys, ignoring the user's ssh config.
func (e *Env) SSHArgs() []string {
	return []string{
		"-F", "/dev/null",
		"-i", e.SSHKeyPath,
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + e.KnownHostsPath,
		"-o", "ConnectTimeout=10",
	}
}

// SSH runs command on h over ssh as root and returns its standard output.
func (e *Env) SSH(ctx context.Context, h *Host, command string) (string, error) {
	return e.SSHAs(ctx, h, "root", command)
}

// SSHAs runs command on h over ssh as user (root or one of Options.Users).
func (e *Env) SSHAs(ctx context.Context, h *Host, user, command string) (string, error) {
	args := append(e.SSHArgs(), user+"@"+h.IP, command)
	return run(ctx, nil, "ssh", args...)
}

// Docker runs the docker CLI against the host's daemon and returns its
// standard output. The host's /root/.docker is used as DOCKER_CONFIG, so
// logins done on the host over ssh apply.
func (h *Host) Docker(ctx context.Context, args ...string) (string, error) {
	env := []string{"DOCKER_HOST=" + h.DockerHost, "DOCKER_CONFIG=" + filepath.Join(h.Home, ".docker")}
	out, err := run(ctx, env, "docker", args...)
	if err != nil {
		return out, fmt.Errorf("on %s: %w", h.Name, err)
	}
	return out, nil
}

// run executes a program with the machine's environment minus DOCKER_*
// variables plus extra, returning stdout; errors carry stderr's tail.
func run(ctx context.Context, extra []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cleanEnv(), extra...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, firstArgs(args), err, tail(stderr.String(), 20))
	}
	return stdout.String(), nil
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DOCKER_") || strings.HasPrefix(kv, markerEnv+"=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// firstArgs names a command in errors without dumping long argument lists.
func firstArgs(args []string) string {
	if len(args) > 3 {
		return strings.Join(args[:3], " ") + " ..."
	}
	return strings.Join(args, " ")
}

func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func tailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return tail(string(b), lines)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
