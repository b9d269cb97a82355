// Command deploy measures `kamal deploy -P` of a pre-pushed version to 3
// simulated hosts (2 web + 1 worker) and the read-only commands `app
// version`, `details`, `lock status` and `app containers`: wall time, SSH
// sessions and connections per host (from each host's sshd log), and the
// servers' CPU time (sshd with its session children, the docker CLI,
// dockerd and containerd, from /proc; see testhosts.Host.ServerCPU).
//
// With -progress it measures the live view instead: the same deploy with
// --progress=tty (on a pseudo-terminal) and --progress=plain (to a pipe),
// alternating, and prints the medians of the wall time and of kamal's own
// CPU time, and the live view's overhead (the goal: at most 2 % of the
// wall time).
//
// With -baseline it runs the same scenario with a second kamal binary on the
// same hosts in the same run, alternating (which binary goes first switches
// every round), and prints both medians and the ratio. Needs root
// (internal/testhosts).
//
//	go build -o bin/kamal ./cmd/kamal
//	(cd /path/to/previous/checkout && go build -o /tmp/kamal-base ./cmd/kamal)
//	go run ./bench/deploy -kamal bin/kamal -baseline /tmp/kamal-base -runs 5
//	go run ./bench/deploy -kamal bin/kamal -progress -runs 7
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

func main() {
	kamalBin := flag.String("kamal", "bin/kamal", "kamal binary to measure")
	baseline := flag.String("baseline", "", "another kamal binary to compare with, alternating in the same run")
	runs := flag.Int("runs", 3, "deploys (and runs of each query) per binary")
	readiness := flag.Int("readiness-delay", 0, "readiness_delay of the worker role, in seconds")
	progressMode := flag.Bool("progress", false, "compare --progress=tty with --progress=plain instead")
	flag.StringVar(&logDir, "logs", "", "directory to write each run's verbose output to")
	flag.StringVar(&persist, "persist", "0", "KAMAL_SSH_PERSIST for the measured binary (the baseline gets 0), e.g. 60s; 0: no kept connections")
	flag.BoolVar(&hold, "hold", false, "keep the hosts and the project up after the runs, until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *progressMode && *baseline != "" {
		fmt.Fprintln(os.Stderr, "bench/deploy: -progress and -baseline do not go together")
		os.Exit(2)
	}
	if err := run(ctx, *kamalBin, *baseline, *runs, *readiness, *progressMode); err != nil {
		fmt.Fprintln(os.Stderr, "bench/deploy:", err)
		os.Exit(1)
	}
}

// logDir, when set, receives the -v output of every run.
var logDir string

// hold keeps the environment up at the end, to look at it by hand.
var hold bool

// persist, unless "0", runs the measured binary with kept connections.
var persist string

// binary is one kamal under test and what was measured with it.
type binary struct {
	label string
	path  string
	env   []string            // added to the environment of its runs
	runs  map[string][]sample // by command ("deploy", "app version", ...)
	logs  int
}

// sample is one command run.
type sample struct {
	wall     time.Duration
	ops      []int // "Running … on <host>" lines (-v), per host
	sessions []int // per host
	conns    []int // per host
	cpu      []time.Duration
}

type bench struct {
	env  *testhosts.Env
	dir  string
	home string
}

// queries are the read-only commands measured after the deploys.
var queries = [][]string{{"app", "version"}, {"details"}, {"lock", "status"}, {"app", "containers"}}

func run(ctx context.Context, kamalBin, baselineBin string, runs, readiness int, progressMode bool) error {
	bins := []*binary{{label: "kamal", path: kamalBin}}
	if baselineBin != "" {
		bins = append(bins, &binary{label: "baseline", path: baselineBin})
	}
	for _, b := range bins {
		abs, err := filepath.Abs(b.path)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return err
		}
		b.path, b.runs = abs, map[string][]sample{}
	}
	if logDir != "" {
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return err
		}
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	env, err := testhosts.Start(ctx, testhosts.Options{Hosts: 3, RegistryAuth: true, SSHDLogLevel: "VERBOSE"})
	if err != nil {
		return err
	}
	defer env.Close()
	work, err := os.MkdirTemp("", "kamal-bench-deploy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := &bench{env: env, dir: filepath.Join(work, "app"), home: filepath.Join(work, "home")}
	for _, bin := range bins {
		bin.env = []string{"KAMAL_SSH_PERSIST=0"}
	}
	if persist != "0" {
		// Short: the keepers' socket paths are limited to ~107 bytes.
		run, err := os.MkdirTemp("", "kb")
		if err != nil {
			return err
		}
		defer os.RemoveAll(run)
		defer stopKeepers(run)
		bins[0].env = []string{"KAMAL_SSH_PERSIST=" + persist, "XDG_RUNTIME_DIR=" + run}
	}

	deploys := runs * len(bins)
	if progressMode {
		deploys = runs * 2
	}
	for v := 0; v <= deploys; v++ {
		if _, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: "bench/app", Tag: fmt.Sprintf("v%d", v), Service: "bench"}); err != nil {
			return err
		}
	}
	if _, err := env.PushProxyImage(ctx, filepath.Join(repo, "build", "kamal-proxy", "build.sh")); err != nil {
		return err
	}
	if err := b.writeProject(readiness); err != nil {
		return err
	}
	if _, err := b.kamal(ctx, bins[len(bins)-1], "setup", "-P", "--version", "v0"); err != nil {
		return err
	}

	if progressMode {
		return b.compareProgress(ctx, bins[0].path, runs)
	}
	fmt.Printf("kamal deploy -P to 3 hosts (web: vm1, vm2; workers: vm3), readiness_delay %d s\n", readiness)
	for _, b := range bins {
		fmt.Printf("  %-8s %s\n", b.label, b.path)
	}
	fmt.Printf("\n%-8s %-14s %7s  %-11s %-11s %-11s %s\n", "binary", "command", "wall", "ops/host", "sessions", "conns", "server CPU vm1/vm2/vm3")
	version := 0
	for round := range runs {
		for _, bin := range alternate(bins, round) {
			version++
			s, err := b.measure(ctx, bin, "deploy", "deploy", "-P", "-v", "--version", fmt.Sprintf("v%d", version))
			if err != nil {
				return err
			}
			bin.runs["deploy"] = append(bin.runs["deploy"], s)
		}
	}
	for _, q := range queries {
		name := strings.Join(q, " ")
		for round := range runs {
			for _, bin := range alternate(bins, round) {
				s, err := b.measure(ctx, bin, name, append(slices.Clone(q), "-v")...)
				if err != nil {
					return err
				}
				bin.runs[name] = append(bin.runs[name], s)
			}
		}
	}
	summary(bins)
	if hold {
		fmt.Printf("\nholding until interrupted: cd %s && HOME=%s SSH_AUTH_SOCK= %s <command>\n", b.dir, b.home, bins[0].path)
		<-ctx.Done()
	}
	return nil
}

// alternate switches which binary goes first every round, so neither
// always runs on a freshly warmed (or freshly busy) machine.
func alternate(bins []*binary, round int) []*binary {
	order := slices.Clone(bins)
	if round%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// measure runs one kamal command and reads the hosts before and after.
func (b *bench) measure(ctx context.Context, bin *binary, name string, args ...string) (sample, error) {
	sessions, conns, cpu, err := b.readHosts()
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	out, err := b.kamal(ctx, bin, args...)
	wall := time.Since(start)
	if err != nil {
		return sample{}, err
	}
	for _, h := range b.env.Hosts {
		if err := settle(ctx, h); err != nil {
			return sample{}, err
		}
	}
	sessions2, conns2, cpu2, err := b.readHosts()
	if err != nil {
		return sample{}, err
	}
	if logDir != "" {
		bin.logs++
		file := filepath.Join(logDir, fmt.Sprintf("%s-%s-%d.log", bin.label, strings.ReplaceAll(name, " ", "-"), bin.logs))
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			return sample{}, err
		}
	}
	s := sample{wall: wall}
	ops := opsPerHost(out)
	for i, h := range b.env.Hosts {
		s.ops = append(s.ops, ops[h.IP])
		s.sessions = append(s.sessions, sessions2[i]-sessions[i])
		s.conns = append(s.conns, conns2[i]-conns[i])
		s.cpu = append(s.cpu, cpu2[i]-cpu[i])
	}
	fmt.Printf("%-8s %-14s %6.2fs  %-11s %-11s %-11s %s\n", bin.label, name, wall.Seconds(), ints(s.ops), ints(s.sessions), ints(s.conns), durations(s.cpu))
	return s, nil
}

func (b *bench) readHosts() (sessions, conns []int, cpu []time.Duration, err error) {
	for _, h := range b.env.Hosts {
		c, err := h.ServerCPU()
		if err != nil {
			return nil, nil, nil, err
		}
		sessions = append(sessions, h.SSHSessions())
		conns = append(conns, h.SSHConnections())
		cpu = append(cpu, c)
	}
	return sessions, conns, cpu, nil
}

var runningRE = regexp.MustCompile(`(?m)Running .* on (\S+)$`)

// opsPerHost counts the "Running … on <host>" lines of -v output: one per
// remote operation, whether it ran as a command or through the Docker API.
func opsPerHost(out string) map[string]int {
	counts := map[string]int{}
	for _, m := range runningRE.FindAllStringSubmatch(out, -1) {
		counts[m[1]]++
	}
	return counts
}

// summary prints the medians of every command per binary and, with a
// baseline, the ratios kamal/baseline.
func summary(bins []*binary) {
	fmt.Printf("\nmedians of %d runs\n", len(bins[0].runs["deploy"]))
	fmt.Printf("%-14s %-8s %7s  %-11s %-11s %s\n", "command", "binary", "wall", "sessions", "conns", "server CPU (sum of hosts)")
	for _, name := range append([]string{"deploy"}, queryNames()...) {
		for _, bin := range bins {
			m := medianOf(bin.runs[name])
			fmt.Printf("%-14s %-8s %6.2fs  %-11s %-11s %s\n", name, bin.label, m.wall.Seconds(), ints(m.sessions), ints(m.conns), m.cpu[0].Round(time.Millisecond))
		}
		if len(bins) == 2 {
			a, base := medianOf(bins[0].runs[name]), medianOf(bins[1].runs[name])
			fmt.Printf("%-14s %-8s %6.2fx  %-11s %-11s %.2fx\n", name, "ratio", a.wall.Seconds()/base.wall.Seconds(), "", "", float64(a.cpu[0])/float64(base.cpu[0]))
		}
	}
}

func queryNames() []string {
	var names []string
	for _, q := range queries {
		names = append(names, strings.Join(q, " "))
	}
	return names
}

// median is the per-field median of samples: wall time, per-host sessions
// and connections, and the hosts' CPU time summed (in cpu[0]).
func medianOf(samples []sample) sample {
	var m sample
	m.wall = median(samples, func(s sample) time.Duration { return s.wall })
	m.cpu = []time.Duration{median(samples, func(s sample) time.Duration {
		var sum time.Duration
		for _, c := range s.cpu {
			sum += c
		}
		return sum
	})}
	for i := range samples[0].sessions {
		m.sessions = append(m.sessions, int(median(samples, func(s sample) time.Duration { return time.Duration(s.sessions[i]) })))
		m.conns = append(m.conns, int(median(samples, func(s sample) time.Duration { return time.Duration(s.conns[i]) })))
	}
	return m
}

func median(samples []sample, f func(sample) time.Duration) time.Duration {
	var v []time.Duration
	for _, s := range samples {
		v = append(v, f(s))
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func ints(v []int) string {
	var parts []string
	for _, n := range v {
		parts = append(parts, fmt.Sprint(n))
	}
	return strings.Join(parts, "/")
}

func durations(v []time.Duration) string {
	var parts []string
	for _, d := range v {
		parts = append(parts, d.Round(10*time.Millisecond).String())
	}
	return strings.Join(parts, "/")
}

func (b *bench) kamal(ctx context.Context, bin *binary, args ...string) (string, error) {
	cmd := b.env.KamalCommand(ctx, bin.path, b.dir, b.home, args...)
	cmd.Env = append(cmd.Env, bin.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", bin.path, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// settle waits until the run's SSH connections are gone from h, so their
// sessions are in the CPU reading. With kept connections some stay open
// for good: then it waits until h's sshd processes stop changing.
func settle(ctx context.Context, h *testhosts.Host) error {
	if persist == "0" {
		return h.WaitSSHIdle(ctx)
	}
	last, stable := -1, 0
	for deadline := time.Now().Add(5 * time.Second); stable < 5 && time.Now().Before(deadline); {
		n, err := h.SSHDProcesses()
		if err != nil {
			return err
		}
		if n == last {
			stable++
		} else {
			last, stable = n, 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// stopKeepers ends the keepers the measured binary left (those with
// XDG_RUNTIME_DIR=run), so none outlives the benchmark.
func stopKeepers(run string) {
	pids, _ := testhosts.KeeperPIDs(run)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

func (b *bench) writeProject(readiness int) error {
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
readiness_delay: %d
proxy:
  host: bench.example.test
  healthcheck:
    path: /up
    interval: 1
`, env.Hosts[0].IP, env.Hosts[1].IP, env.Hosts[2].IP, readiness) + env.ProxyRunYAML() + env.RegistryYAML()
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
