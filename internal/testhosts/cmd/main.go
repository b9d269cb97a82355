// Command testhosts brings the simulated servers of the end-to-end tests up
// and down by hand, for debugging and demos:
//
//	go run ./internal/testhosts/cmd up [-hosts 3] [-auth] [-images]
//	go run ./internal/testhosts/cmd status
//	go run ./internal/testhosts/cmd down
//
// The environment outlives `up`; the next `down`, `up` or e2e test run
// tears it down. Needs root.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kamalgo/kamal/internal/testhosts"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testhosts:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: testhosts up [-hosts N] [-auth] [-images] | status | down  (flags: -prefix, -root)")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	hosts := fs.Int("hosts", 3, "number of hosts")
	auth := fs.Bool("auth", false, "protect the registry with a generated user and password")
	images := fs.Bool("images", false, "build and push every test image as <program>:latest")
	prefix := fs.String("prefix", testhosts.DefaultPrefix, "name prefix of namespaces and links")
	root := fs.String("root", testhosts.DefaultRoot, "state directory parent")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "up":
		env, err := testhosts.Start(ctx, testhosts.Options{Hosts: *hosts, RegistryAuth: *auth, Prefix: *prefix, Root: *root})
		if err != nil {
			return err
		}
		if *images {
			for _, p := range testhosts.Programs {
				ref, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: p})
				if err != nil {
					return err
				}
				fmt.Fprintln(out, "pushed", ref)
			}
		}
		describe(out, env)
		return nil
	case "down":
		return testhosts.Down(ctx, *root, *prefix)
	case "status":
		b, err := os.ReadFile(filepath.Join(*root, *prefix, "env.json"))
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(out, "no environment is up")
			return nil
		}
		if err != nil {
			return err
		}
		var env testhosts.Env
		if err := json.Unmarshal(b, &env); err != nil {
			return fmt.Errorf("reading %s: %w", filepath.Join(*root, *prefix, "env.json"), err)
		}
		describe(out, &env)
		left, err := testhosts.Leftovers(*root, *prefix)
		if err != nil {
			return err
		}
		var procs []string
		for _, l := range left {
			if strings.HasPrefix(l, "process ") {
				procs = append(procs, "  "+l)
			}
		}
		fmt.Fprintf(out, "\nprocesses:\n%s\n", strings.Join(procs, "\n"))
		return nil
	default:
		return fmt.Errorf("unknown command %q (want up, status or down)", args[0])
	}
}

func describe(out io.Writer, env *testhosts.Env) {
	fmt.Fprintf(out, "registry:  %s", env.Registry)
	if env.RegistryUser != "" {
		fmt.Fprintf(out, " (user %s, password %s)", env.RegistryUser, env.RegistryPassword)
	}
	fmt.Fprintf(out, "\ndeployer:  export DOCKER_HOST=%s DOCKER_CONFIG=%s\n", env.DeployerDockerHost, env.DeployerDockerConfig)
	fmt.Fprintf(out, "ssh key:   %s\nknown_hosts: %s\nstate:     %s\nhosts:\n", env.SSHKeyPath, env.KnownHostsPath, env.Dir)
	for _, h := range env.Hosts {
		fmt.Fprintf(out, "  %-4s %-12s docker: DOCKER_HOST=%s\n", h.Name, h.IP, h.DockerHost)
	}
	if len(env.Hosts) > 0 {
		fmt.Fprintf(out, "ssh in:    ssh -i %s -o UserKnownHostsFile=%s root@%s\n", env.SSHKeyPath, env.KnownHostsPath, env.Hosts[0].IP)
	}
}
