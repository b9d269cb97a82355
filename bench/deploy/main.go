// Command deploy measures `kamal deploy -P` of a pre-pushed version to 3
// simulated hosts (2 web + 1 worker, readiness_delay at its default) and
// `kamal app version`: wall time, remote commands per host (from -v
// output) and SSH connections per host (from each host's sshd log).
// Needs root (internal/testhosts).
//
//	go build -o bin/kamal ./cmd/kamal && go run ./bench/deploy -kamal bin/kamal -runs 3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

func main() {
	kamalBin := flag.String("kamal", "bin/kamal", "kamal binary")
	runs := flag.Int("runs", 3, "deploys to measure")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *kamalBin, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/deploy:", err)
		os.Exit(1)
	}
}

type bench struct {
	env  *testhosts.Env
	bin  string
	dir  string
	home string
}

func run(ctx context.Context, kamalBin string, runs int) error {
	bin, err := filepath.Abs(kamalBin)
	if err != nil {
		return err
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	env, err := testhosts.Start(ctx, testhosts.Options{Hosts: 3, RegistryAuth: true})
	if err != nil {
		return err
	}
	defer env.Close()
	work, err := os.MkdirTemp("", "kamal-bench-deploy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := &bench{env: env, bin: bin, dir: filepath.Join(work, "app"), home: filepath.Join(work, "home")}

	for v := 0; v <= runs; v++ {
		if _, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: "bench/app", Tag: fmt.Sprintf("v%d", v), Service: "bench"}); err != nil {
			return err
		}
	}
	if _, err := env.PushProxyImage(ctx, filepath.Join(repo, "build", "kamal-proxy", "build.sh")); err != nil {
		return err
	}
	if err := b.writeProject(); err != nil {
		return err
	}
	if _, err := b.kamal(ctx, "setup", "-P", "--version", "v0"); err != nil {
		return err
	}

	fmt.Printf("kamal deploy -P to 3 hosts (web: vm1, vm2; workers: vm3), readiness_delay 7 s (default)\n\n")
	fmt.Printf("%-6s %8s  %-28s %-22s %s\n", "run", "wall", "commands vm1/vm2/vm3", "uploads", "ssh connections vm1/vm2/vm3")
	for i := 1; i <= runs; i++ {
		before := b.connections()
		start := time.Now()
		out, err := b.kamal(ctx, "deploy", "-P", "-v", "--version", fmt.Sprintf("v%d", i))
		wall := time.Since(start)
		if err != nil {
			return err
		}
		after := b.connections()
		fmt.Printf("deploy %7.2fs  %-28s %-22d %s\n", wall.Seconds(), b.perHost(commandsPerHost(out)), strings.Count(out, "Uploading "), b.diff(before, after))
	}
	for i := 1; i <= runs; i++ {
		before := b.connections()
		start := time.Now()
		out, err := b.kamal(ctx, "app", "version", "-v")
		wall := time.Since(start)
		if err != nil {
			return err
		}
		fmt.Printf("version %6.2fs  %-28s %-22d %s\n", wall.Seconds(), b.perHost(commandsPerHost(out)), 0, b.diff(before, b.connections()))
	}
	return nil
}

var runningRE = regexp.MustCompile(`(?m)Running .* on (\S+)$`)

// commandsPerHost counts the "Running … on <host>" lines of -v output.
func commandsPerHost(out string) map[string]int {
	counts := map[string]int{}
	for _, m := range runningRE.FindAllStringSubmatch(out, -1) {
		counts[m[1]]++
	}
	return counts
}

func (b *bench) perHost(counts map[string]int) string {
	var parts []string
	for _, h := range b.env.Hosts {
		parts = append(parts, fmt.Sprint(counts[h.IP]))
	}
	return strings.Join(parts, "/")
}

// connections counts accepted logins in each host's sshd log.
func (b *bench) connections() []int {
	var out []int
	for _, h := range b.env.Hosts {
		data, _ := os.ReadFile(filepath.Join(h.Dir, "sshd.log"))
		out = append(out, strings.Count(string(data), "Accepted publickey"))
	}
	return out
}

func (b *bench) diff(before, after []int) string {
	var parts []string
	for i := range after {
		parts = append(parts, fmt.Sprint(after[i]-before[i]))
	}
	return strings.Join(parts, "/")
}

func (b *bench) kamal(ctx context.Context, args ...string) (string, error) {
	out, err := b.env.KamalCommand(ctx, b.bin, b.dir, b.home, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kamal %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (b *bench) writeProject() error {
	env := b.env
	yml := fmt.Sprintf(`service: bench
image: bench/app
servers:
  web:
    - %s
    - %s
  workers:
    hosts:
      - %s
    cmd: /app --worker
proxy:
  host: bench.example.test
  healthcheck:
    path: /up
    interval: 1
`, env.Hosts[0].IP, env.Hosts[1].IP, env.Hosts[2].IP) + env.ProxyRunYAML() + env.RegistryYAML()
	files := map[string]string{
		"config/deploy.yml": yml,
		".kamal/secrets":    env.SecretsFile(),
	}
	for name, body := range files {
		p := filepath.Join(b.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			return err
		}
	}
	return env.WriteKnownHosts(b.home)
}
