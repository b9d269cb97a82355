// Package remote_test benchmarks the SSH pool against real loopback sshd
// servers: 50 sequential commands on 1 and on 10 hosts (the hosts run in
// parallel, commands on each host one after another). Each benchmark
// reports the connections opened per host, which must stay at 1, and the
// client's own CPU per command. Results: docs/benchmarks.md.
//
//	go test -bench . -benchtime 3x ./bench/remote/
package remote_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

const commandsPerHost = 50

func BenchmarkSequentialCommands1Host(b *testing.B)   { benchSequential(b, 1) }
func BenchmarkSequentialCommands10Hosts(b *testing.B) { benchSequential(b, 10) }

func benchSequential(b *testing.B, n int) {
	sshtest.Require(b)
	dir := b.TempDir()
	key := sshtest.NewKey(b, dir, "id_bench")
	port := sshtest.FreePort(b, "127.0.0.201")
	var hosts []string
	for i := range n {
		ip := fmt.Sprintf("127.0.0.%d", 201+i)
		sshtest.Start(b, ip, sshtest.Options{Port: port}, key)
		hosts = append(hosts, ip)
	}
	pool, err := remote.NewPool(remote.SSHOptions{
		User: "root", Port: port, Keys: []string{key.Path}, KeysOnly: true,
		AgentSocket: "-", KnownHostsFile: filepath.Join(dir, "known_hosts"),
	}, remote.Discard())
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()

	cpu0 := clientCPU()
	b.ResetTimer()
	for range b.N {
		err := remote.Parallel(ctx, hosts, func(ctx context.Context, host string) error {
			for range commandsPerHost {
				if _, err := pool.Exec(ctx, host, "true", remote.ExecOptions{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := clientCPU() - cpu0

	maxConns := 0
	for _, h := range hosts {
		maxConns = max(maxConns, pool.ConnectionsOpened(h))
	}
	if maxConns != 1 {
		b.Fatalf("a host got %d connections, want 1", maxConns)
	}
	b.ReportMetric(float64(maxConns), "conns/host")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/commandsPerHost, "ms/cmd")
	// The client's own CPU (user+system, this process only: the sshd
	// servers are separate processes) per command on one host.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N*commandsPerHost*n), "client-cpu-ms/cmd")
}

// clientCPU is the user+system CPU time used by this process so far.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
