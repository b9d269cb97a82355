package remote_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/testhosts"
)

// The same query, `docker ps` of one service's containers, asked of a
// simulated server's Docker Engine 20.10 in the two ways a deploy can:
// the docker CLI in a new SSH session, or the Engine API through the socket
// forwarded over the same SSH connection. Both report the wall time and the
// server's CPU (sshd, the shell and docker CLI, dockerd) per query.
//
//	go test -run XXX -bench DockerQuery -benchtime 50x ./bench/remote/
func BenchmarkDockerQueryCLI(b *testing.B) {
	benchDockerQuery(b, func(ctx context.Context, pool *remote.Pool, api *dockerapi.Client, host string) error {
		_, err := pool.Exec(ctx, host, "docker ps --all --filter label=service=bench --format '{{.Names}}'", remote.ExecOptions{})
		return err
	})
}

func BenchmarkDockerQueryAPI(b *testing.B) {
	benchDockerQuery(b, func(ctx context.Context, pool *remote.Pool, api *dockerapi.Client, host string) error {
		_, err := api.Containers(ctx, dockerapi.ListOptions{All: true, Filters: []string{"label=service=bench"}})
		return err
	})
}

func benchDockerQuery(b *testing.B, query func(context.Context, *remote.Pool, *dockerapi.Client, string) error) {
	if err := testhosts.CheckPrerequisites(); err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	ctx := context.Background()
	env, err := testhosts.Start(ctx, testhosts.Options{Hosts: 1, Prefix: "ktb", SSHDLogLevel: "VERBOSE"})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	h := env.Hosts[0]
	pool, err := remote.NewPool(remote.SSHOptions{
		User: "root", Keys: []string{env.SSHKeyPath}, KeysOnly: true, AgentSocket: "-", KnownHostsFile: env.KnownHostsPath,
	}, remote.Discard())
	if err != nil {
		b.Fatal(err)
	}
	engines := dockerapi.NewEngines(pool, nil, false)
	api := engines.API(ctx, h.IP)
	if api == nil {
		b.Fatalf("no Docker API: %v", engines.Reason(h.IP))
	}
	if err := query(ctx, pool, api, h.IP); err != nil { // connect and warm up
		b.Fatal(err)
	}
	sessions := h.SSHSessions()
	cpu0, err := h.ServerCPU()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := query(ctx, pool, api, h.IP); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	engines.Close()
	pool.Close()
	if err := h.WaitSSHIdle(ctx); err != nil {
		b.Fatal(err)
	}
	cpu1, err := h.ServerCPU()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(h.SSHSessions()-sessions)/float64(b.N), "sessions/op")
	b.ReportMetric(float64((cpu1-cpu0)/time.Microsecond)/1000/float64(b.N), "server-cpu-ms/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
