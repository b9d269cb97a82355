package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func init() {
	register(newDeployCommand)
	register(newRedeployCommand)
	register(newSetupCommand)
	register(newRollbackCommand)
	register(newRemoveCommand)
	register(newDetailsCommand)
	register(newUpgradeCommand)
}

// runKamal is the body of most commands: the run context (Ctrl-C releases
// the lock), the run state, then fn.
func (a *App) runKamal(cmd *cobra.Command, fn func(ctx context.Context, k *deploy.Kamal) error) error {
	ctx, cancel := a.RunContext(cmd)
	defer cancel()
	k, err := a.Kamal()
	if err != nil {
		return err
	}
	return runError(fn(ctx, k))
}

// confirm asks question with Kamal's `[y, N] (N)` prompt unless yes is
// set; anything but "y" prints "Aborted" and returns false.
func (a *App) confirm(question string, yes bool) bool {
	if yes {
		return true
	}
	fmt.Fprintf(a.Stdout, "%s [y, N] (N) ", question)
	line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
	if strings.TrimSpace(line) == "y" {
		return true
	}
	fmt.Fprintln(a.Stdout, "Aborted")
	return false
}

func deployFlags(cmd *cobra.Command, o *deploy.DeployOptions) {
	cmd.Flags().BoolVarP(&o.SkipPush, "skip-push", "P", false, "Skip image build and push")
	cmd.Flags().BoolVar(&o.NoCache, "no-cache", false, "Build without using Docker's build cache")
}

func newDeployCommand(a *App) *cobra.Command {
	var o deploy.DeployOptions
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy app to servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Deploy(ctx, o) })
		},
	}
	deployFlags(cmd, &o)
	return cmd
}

func newRedeployCommand(a *App) *cobra.Command {
	var o deploy.DeployOptions
	cmd := &cobra.Command{
		Use:   "redeploy",
		Short: "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Redeploy(ctx, o) })
		},
	}
	deployFlags(cmd, &o)
	return cmd
}

func newSetupCommand(a *App) *cobra.Command {
	var o deploy.DeployOptions
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Setup all accessories, push the env, and deploy app to servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Setup(ctx, o) })
		},
	}
	deployFlags(cmd, &o)
	return cmd
}

func newRollbackCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback VERSION",
		Short: "Rollback app to VERSION",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Rollback(ctx, args[0]) })
		},
	}
}

func newRemoveCommand(a *App) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "remove",
		Short: "Remove kamal-proxy, app, accessories, and registry session from servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if !a.confirm("This will remove all containers and images. Are you sure?", yes) {
					return nil
				}
				return k.Remove(ctx)
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "confirmed", "y", false, "Proceed without confirmation question")
	return cmd
}

func newDetailsCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "details",
		Short: "Show details about all containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Details(ctx) })
		},
	}
}

func newUpgradeCommand(a *App) *cobra.Command {
	var yes bool
	var o deploy.UpgradeOptions
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Upgrade from Kamal 1.x to 2.0",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if !a.confirm("This will replace Traefik with kamal-proxy and restart all accessories", yes) {
					return nil
				}
				return k.Upgrade(ctx, o)
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "confirmed", "y", false, "Proceed without confirmation question")
	cmd.Flags().BoolVar(&o.Rolling, "rolling", false, "Upgrade one host at a time")
	return cmd
}
