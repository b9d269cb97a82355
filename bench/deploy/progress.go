package main

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/kamalgo/kamal/internal/ptytest"
)

// progressSample is one deploy: its wall time and kamal's own CPU time.
type progressSample struct{ wall, cpu time.Duration }

// compareProgress deploys with --progress=tty on a terminal and with
// --progress=plain to a pipe, alternating which goes first, and prints
// the medians and the live view's overhead.
func (b *bench) compareProgress(ctx context.Context, bin string, runs int) error {
	modes := []string{"tty", "plain"}
	samples := map[string][]progressSample{}
	fmt.Printf("kamal deploy -P to 3 hosts: --progress=tty (pseudo-terminal) against --progress=plain (pipe)\n\n")
	fmt.Printf("%-6s %8s %10s\n", "mode", "wall", "kamal CPU")
	version := 0
	for round := range runs {
		order := modes
		if round%2 == 1 {
			order = []string{"plain", "tty"}
		}
		for _, mode := range order {
			version++
			cmd := b.env.KamalCommand(ctx, bin, b.dir, b.home, "deploy", "-P", "--progress="+mode, "--version", fmt.Sprintf("v%d", version))
			cmd.Env = append(cmd.Env, "KAMAL_SSH_PERSIST=0") // each deploy connects, as it did when measured first
			s, err := runDeploy(cmd, mode == "tty")
			if err != nil {
				return err
			}
			samples[mode] = append(samples[mode], s)
			fmt.Printf("%-6s %7.2fs %9.0fms\n", mode, s.wall.Seconds(), float64(s.cpu)/float64(time.Millisecond))
		}
	}
	med := func(mode string, f func(progressSample) time.Duration) time.Duration {
		var ss []sample
		for _, s := range samples[mode] {
			ss = append(ss, sample{wall: f(s)})
		}
		return median(ss, func(s sample) time.Duration { return s.wall })
	}
	ttyWall, plainWall := med("tty", func(s progressSample) time.Duration { return s.wall }), med("plain", func(s progressSample) time.Duration { return s.wall })
	ttyCPU, plainCPU := med("tty", func(s progressSample) time.Duration { return s.cpu }), med("plain", func(s progressSample) time.Duration { return s.cpu })
	fmt.Printf("\nmedians of %d runs\n", runs)
	fmt.Printf("%-6s %7.2fs %9.0fms\n", "tty", ttyWall.Seconds(), float64(ttyCPU)/float64(time.Millisecond))
	fmt.Printf("%-6s %7.2fs %9.0fms\n", "plain", plainWall.Seconds(), float64(plainCPU)/float64(time.Millisecond))
	// kamal's extra CPU time is what the live view can cost at most; the
	// wall times also carry the servers' noise.
	fmt.Printf("live view: wall %+.1f %%, kamal CPU %+.0f ms (%.2f %% of the wall time)\n",
		100*(ttyWall.Seconds()/plainWall.Seconds()-1), float64(ttyCPU-plainCPU)/float64(time.Millisecond),
		100*(ttyCPU-plainCPU).Seconds()/plainWall.Seconds())
	return nil
}

// runDeploy runs cmd on a pseudo-terminal or with its output to a pipe.
func runDeploy(cmd *exec.Cmd, terminal bool) (progressSample, error) {
	start := time.Now()
	var out []byte
	var err error
	if terminal {
		var s *ptytest.Session
		if s, err = ptytest.Start(cmd, 120, 40); err != nil {
			return progressSample{}, err
		}
		err = s.Wait()
		out = s.Output()
	} else {
		out, err = cmd.CombinedOutput()
	}
	wall := time.Since(start)
	if err != nil {
		return progressSample{}, fmt.Errorf("%v: %w\n%s", cmd.Args, err, out)
	}
	st := cmd.ProcessState
	return progressSample{wall: wall, cpu: st.UserTime() + st.SystemTime()}, nil
}
