// Package remotecommands benchmarks whole kamal commands against real
// loopback sshd servers: `kamal server exec true` on 1 and on 10 hosts,
// each iteration a complete run (config load, connections, audit line,
// the command, output), as a user would see it.
//
//	go test -bench . -benchtime 5x ./bench/remote_commands/
package remotecommands

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/cli"
	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

func BenchmarkServerExecTrue1Host(b *testing.B)   { benchServerExec(b, 1) }
func BenchmarkServerExecTrue10Hosts(b *testing.B) { benchServerExec(b, 10) }

func benchServerExec(b *testing.B, n int) {
	sshtest.Require(b)
	dir := b.TempDir()
	key := sshtest.NewKey(b, dir, "id_bench")
	port := sshtest.FreePort(b, "127.0.2.1")
	var hosts []string
	var servers []*sshtest.Server
	for i := range n {
		ip := fmt.Sprintf("127.0.2.%d", i+1)
		home := filepath.Join(dir, ip)
		if err := os.MkdirAll(home, 0o755); err != nil {
			b.Fatal(err)
		}
		// Each server keeps its .kamal (audit log) in its own directory.
		// LogLevel INFO logs one "Accepted publickey" line per connection.
		servers = append(servers, sshtest.Start(b, ip, sshtest.Options{Port: port, LogLevel: "INFO", Extra: []string{
			fmt.Sprintf(`ForceCommand cd %s && exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"`, home)}}, key))
		hosts = append(hosts, ip)
	}
	cfg := filepath.Join(dir, "deploy.yml")
	yml := fmt.Sprintf("service: bench\nimage: bench/app\nservers:\n  - %s\nregistry:\n  username: u\n  password: bench-password\nbuilder:\n  arch: amd64\nssh:\n  port: %d\n  keys: [%s]\n  keys_only: true\n  config: false\n",
		strings.Join(hosts, "\n  - "), port, key.Path)
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Setenv("HOME", dir) // known_hosts of this run only
	b.Setenv("SSH_AUTH_SOCK", "")
	args := []string{"-c", cfg, "-q", "server", "exec", "true"}
	if code := cli.Main(args, nil, io.Discard, os.Stderr); code != 0 { // learn host keys
		b.Fatalf("kamal exited %d", code)
	}
	cpu0 := clientCPU()
	b.ResetTimer()
	for range b.N {
		if code := cli.Main(args, nil, io.Discard, os.Stderr); code != 0 {
			b.Fatalf("kamal exited %d", code)
		}
	}
	b.StopTimer()
	// kamal's own CPU per run (this process only; the sshd servers are
	// separate processes).
	b.ReportMetric(float64((clientCPU()-cpu0).Microseconds())/1000/float64(b.N), "client-cpu-ms/run")

	// Every run (b.N plus the first) must open exactly one connection per host.
	runs := b.N + 1
	for _, s := range servers {
		data, err := os.ReadFile(s.LogFile)
		if err != nil {
			b.Fatal(err)
		}
		if got := strings.Count(string(data), "Accepted publickey"); got != runs {
			b.Fatalf("%s accepted %d connections in %d runs, want one per run", s.IP, got, runs)
		}
	}
	b.ReportMetric(1, "conns/host/run")
}

// clientCPU is the user+system CPU time used by this process so far.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
