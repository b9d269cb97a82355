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
	"syscall"

	"github.com/kamalgo/kamal/internal/testhosts"
)

const (
	service     = "demo"
	appHost     = "demo.example.test"
	v2Message   = "Hello from version 2 of the demo app"
	clients     = 4
	maxRequests = 20000 // per client: the loop is bounded even if a deploy hangs
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
	if _, err := env.PushProxyImage(ctx, filepath.Join(repo, "build", "kamal-proxy", "build.sh")); err != nil {
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
	if err := os.WriteFile(filepath.Join(dir, "message.txt"), []byte(v2Message+"\n"), 0o644); err != nil {
		return err
	}
	if err := git(ctx, dir, "commit", "-q", "-am", "version 2"); err != nil {
		return err
	}
	load := testhosts.StartLoad(ctx, testhosts.LoadOptions{
		Hosts: env.Hosts, Host: appHost, Clients: clients, MaxPerClient: maxRequests,
		// "Hello from version 2 of the demo app (version 1234567, container abc)"
		Key: func(body string) string { msg, _, _ := strings.Cut(body, " ("); return msg },
	})
	deployErr := kamal(ctx, env, kamalBin, dir, home, "deploy")
	// Let the clients see the new version a few times, then stop them.
	stopErr := load.StopAfter(ctx, v2Message, 20)
	if deployErr != nil {
		return deployErr
	}
	if stopErr != nil {
		return stopErr
	}

	step("Result")
	fmt.Printf("    requests during the deploy: %d, failed: %d\n", load.OK()+load.Failed(), load.Failed())
	for _, m := range load.Keys() {
		fmt.Printf("      %6d x %s\n", load.Seen(m), m)
	}
	errs := load.Errors()
	for _, e := range errs[:min(len(errs), 5)] {
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
	if n := load.Failed(); n > 0 {
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
`, service, servers.String(), appHost) + env.ProxyRunYAML() + env.RegistryYAML() + "readiness_delay: 2\ndrain_timeout: 5\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".kamal"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".kamal", "secrets"), []byte(env.SecretsFile()), 0o600); err != nil {
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
	return env.WriteKnownHosts(home)
}

func git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "user.name=Demo", "-c", "user.email=demo@example.test"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", args[0], err, out)
	}
	return nil
}

// kamal runs kamal in the app directory, its output shown indented.
func kamal(ctx context.Context, env *testhosts.Env, bin, dir, home string, args ...string) error {
	fmt.Printf("    $ kamal %s\n", strings.Join(args, " "))
	cmd := env.KamalCommand(ctx, bin, dir, home, args...)
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

// get requests "/" from a server's kamal-proxy with the app's Host header.
func get(ctx context.Context, ip string) (string, error) {
	status, body, err := testhosts.Get(ctx, "http://"+ip+"/", appHost)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("GET http://%s/: status %d: %s", ip, status, body)
	}
	return body, nil
}
