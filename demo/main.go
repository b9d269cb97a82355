// Command demo shows a zero-downtime deploy end to end on one machine
// (`make demo`, needs root on Linux): it brings up two simulated servers
// and a registry (internal/testhosts), builds our kamal-proxy image, runs
// `kamal setup` for the sample app in demo/app, then `kamal deploy` of a
// second version while four clients keep requesting both servers, and
// reports every failed request (there should be none).
//
//	go run ./demo -kamal bin/kamal [-keep]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

const (
	service      = "demo"
	appHost      = "demo.example.test"
	proxyRepo    = "kamal/kamal-proxy"
	proxyVersion = "v0.10.0"
	clients      = 4
	maxRequests  = 20000 // per client: the loop is bounded even if a deploy hangs
)

func main() {
	kamalBin := flag.String("kamal", "bin/kamal", "kamal binary to deploy with")
	keep := flag.Bool("keep", false, "leave the servers running (stop them with `make demo-down`)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *kamalBin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> %s\033[0m\n", fmt.Sprintf(format, args...))
}

func run(ctx context.Context, kamalBin string, keep bool) (err error) {
	kamalBin, err = filepath.Abs(kamalBin)
	if err != nil {
		return err
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "demo", "app", "main.go")); err != nil {
		return errors.New("run the demo from the repository root (make demo)")
	}

	step("Starting two simulated servers, a registry and a deployer Docker daemon")
	env, err := testhosts.Start(ctx, testhosts.Options{Hosts: 2, RegistryAuth: true})
	if err != nil {
		return err
	}
	if !keep {
		defer func() {
			step("Tearing the servers down")
			if cerr := env.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	for _, h := range env.Hosts {
		fmt.Printf("    %s  %s  (sshd + dockerd in their own namespaces)\n", h.Name, h.IP)
	}
	fmt.Printf("    registry  %s (user %s)\n", env.Registry, env.RegistryUser)

	work, err := os.MkdirTemp("", "kamal-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("Building our kamal-proxy image (FROM scratch) and pushing it to the registry")
	if err := docker(ctx, env, strings.NewReader(env.RegistryPassword), "login", "-u", env.RegistryUser, "--password-stdin", env.Registry); err != nil {
		return err
	}
	image := env.Registry + "/" + proxyRepo
	build := exec.CommandContext(ctx, "sh", filepath.Join(repo, "build", "kamal-proxy", "build.sh"))
	build.Env = append(os.Environ(), env.DeployerEnv()...)
	build.Env = append(build.Env, "IMAGE="+image, "TAGS="+proxyVersion, "VERSION="+proxyVersion, "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the proxy image: %w\n%s", err, out)
	}
	if err := docker(ctx, env, nil, "push", "-q", image+":"+proxyVersion); err != nil {
		return err
	}

	step("Creating the sample app (demo/app) as a git repository")
	dir := filepath.Join(work, "app")
	home := filepath.Join(work, "home")
	if err := writeProject(ctx, env, repo, dir, home); err != nil {
		return err
	}
	fmt.Printf("    %s\n", dir)

	step("kamal setup: bootstrap, boot kamal-proxy, build, push and deploy version 1")
	if err := kamal(ctx, env, kamalBin, dir, home, "setup"); err != nil {
		return err
	}
	for _, h := range env.Hosts {
		body, err := get(ctx, h.IP)
		if err != nil {
			return err
		}
		fmt.Printf("    http://%s/ (Host: %s) -> %s", h.IP, appHost, body)
	}

	step("kamal deploy of version 2 while %d clients keep requesting both servers", clients)
	if err := os.WriteFile(filepath.Join(dir, "message.txt"), []byte("Hello from version 2 of the demo app\n"), 0o644); err != nil {
		return err
	}
	if err := git(ctx, dir, "commit", "-q", "-am", "version 2"); err != nil {
		return err
	}
	load := startLoad(ctx, env.Hosts)
	deployErr := kamal(ctx, env, kamalBin, dir, home, "deploy")
	load.stopAfterNewVersion(ctx, "version 2")
	if deployErr != nil {
		return deployErr
	}

	step("Result")
	fmt.Printf("    requests during the deploy: %d, failed: %d\n", load.ok.Load()+load.failed.Load(), load.failed.Load())
	for _, m := range load.messages() {
		fmt.Printf("      %6d x %s\n", load.seen(m), m)
	}
	for _, e := range load.errorSamples() {
		fmt.Printf("    failure: %s\n", e)
	}
	for _, h := range env.Hosts {
		body, err := get(ctx, h.IP)
		if err != nil {
			return err
		}
		fmt.Printf("    curl -H 'Host: %s' http://%s/  -> %s", appHost, h.IP, body)
	}
	fmt.Println(`
    What happened: kamal built the app image on the deployer's Docker daemon,
    pushed it to the registry, pulled it on both servers over SSH, started the
    new container next to the old one, and told kamal-proxy (our Go proxy) to
    switch traffic once the new container passed its health check; the old
    container was drained and stopped. No request was dropped.`)
	if keep {
		fmt.Printf("\n    The servers stay up: ssh -i %s -o UserKnownHostsFile=%s root@%s\n    Stop them with: make demo-down\n",
			env.SSHKeyPath, env.KnownHostsPath, env.Hosts[0].IP)
	}
	if n := load.failed.Load(); n > 0 {
		return fmt.Errorf("%d requests failed during the deploy", n)
	}
	return nil
}

// writeProject creates the sample app's repository: the static binary, a
// FROM scratch Dockerfile, the kamal config and secrets, and a HOME whose
// known_hosts trusts the simulated servers.
func writeProject(ctx context.Context, env *testhosts.Env, repo, dir, home string) error {
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "app"), "./demo/app")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the sample app: %w\n%s", err, out)
	}
	var servers strings.Builder
	for _, h := range env.Hosts {
		fmt.Fprintf(&servers, "    - %s\n", h.IP)
	}
	files := map[string]string{
		"Dockerfile":  "FROM scratch\nCOPY app /app\nCOPY message.txt /message.txt\nEXPOSE 80\nENTRYPOINT [\"/app\"]\n",
		"message.txt": "Hello from version 1 of the demo app\n",
		".gitignore":  ".kamal/secrets\n",
		"config/deploy.yml": fmt.Sprintf(`service: %s
image: demo/app
servers:
  web:
%sproxy:
  host: %s
  healthcheck:
    path: /up
    interval: 1
  run:
    registry: %s
    repository: %s
    version: %s
registry:
  server: %s
  username: %s
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
ssh:
  keys: [ %q ]
  keys_only: true
  config: false
readiness_delay: 2
drain_timeout: 5
`, service, servers.String(), appHost, env.Registry, proxyRepo, proxyVersion, env.Registry, env.RegistryUser, env.SSHKeyPath),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".kamal"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".kamal", "secrets"), []byte("KAMAL_REGISTRY_PASSWORD="+env.RegistryPassword+"\n"), 0o600); err != nil {
		return err
	}
	if err := git(ctx, dir, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := git(ctx, dir, "add", "."); err != nil {
		return err
	}
	if err := git(ctx, dir, "commit", "-q", "-m", "version 1"); err != nil {
		return err
	}
	known, err := os.ReadFile(env.KnownHostsPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), known, 0o600)
}

func git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "user.name=Demo", "-c", "user.email=demo@example.test"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", args[0], err, out)
	}
	return nil
}

// docker runs the docker CLI against the deployer's daemon.
func docker(ctx context.Context, env *testhosts.Env, stdin io.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), env.DeployerEnv()...)
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker %s: %w\n%s", args[0], err, out)
	}
	return nil
}

// kamal runs kamal in the app directory, its output shown indented.
func kamal(ctx context.Context, env *testhosts.Env, bin, dir, home string, args ...string) error {
	fmt.Printf("    $ kamal %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "SSH_AUTH_SOCK=")
	cmd.Env = append(cmd.Env, env.DeployerEnv()...)
	w := &indenter{w: os.Stdout}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kamal %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

type indenter struct {
	mu  sync.Mutex
	w   io.Writer
	mid bool
}

func (i *indenter) Write(p []byte) (int, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !i.mid {
			io.WriteString(i.w, "      ")
		}
		io.WriteString(i.w, line)
		i.mid = !strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}

var client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}

// get requests "/" from a server's kamal-proxy with the app's Host header.
func get(ctx context.Context, ip string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ip+"/", nil)
	if err != nil {
		return "", err
	}
	req.Host = appHost
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET http://%s/: status %d: %s", ip, resp.StatusCode, body)
	}
	return string(body), nil
}

// load is the bounded request loop running during the deploy.
type load struct {
	ok, failed atomic.Int64
	stop       chan struct{}
	done       chan struct{}
	mu         sync.Mutex
	counts     map[string]int64 // message (without the container part) -> requests
	order      []string
	errs       []string
}

func startLoad(ctx context.Context, hosts []*testhosts.Host) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{}), counts: map[string]int64{}}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxRequests; i++ {
				select {
				case <-l.stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				h := hosts[(c+i)%len(hosts)]
				body, err := get(ctx, h.IP)
				l.record(body, err)
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

func (l *load) record(body string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed.Add(1)
		if len(l.errs) < 5 {
			l.errs = append(l.errs, err.Error())
		}
		return
	}
	l.ok.Add(1)
	msg, _, _ := strings.Cut(body, " (")
	if _, ok := l.counts[msg]; !ok {
		l.order = append(l.order, msg)
	}
	l.counts[msg]++
}

func (l *load) seen(msg string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[msg]
}

func (l *load) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

func (l *load) errorSamples() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// stopAfterNewVersion lets the clients see the new version a few times,
// then stops them and waits.
func (l *load) stopAfterNewVersion(ctx context.Context, marker string) {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
wait:
	for {
		for _, m := range l.messages() {
			if strings.Contains(m, marker) && l.seen(m) >= 20 {
				break wait
			}
		}
		select {
		case <-l.done:
			break wait
		case <-ctx.Done():
			break wait
		case <-ticker.C:
		}
	}
	close(l.stop)
	<-l.done
}
