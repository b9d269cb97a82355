package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func deployFlags(cmd *cobra.Command, o *deploy.DeployOptions) {
	cmd.Flags().BoolVarP(&o.SkipPush, "skip-push", "P", false, "Skip image build and push")
	cmd.Flags().BoolVar(&o.NoCache, "no-cache", false, "Build without using Docker's build cache")
	noRollbackFlag(cmd, &o.NoRollback)
}

// noRollbackFlag is --no-rollback: a failed boot is left as it is instead
// of going back to the versions that ran before.
func noRollbackFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "no-rollback", false, "Leave hosts as they are when the boot fails, instead of rolling them back to the version that ran before")
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
	var o deploy.RollbackOptions
	cmd := &cobra.Command{
		Use:   "rollback [VERSION]",
		Short: "Rollback app to VERSION (default: the version that ran before the current one)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Version = args[0]
			}
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Rollback(ctx, o) })
		},
	}
	noRollbackFlag(cmd, &o.NoRollback)
	return cmd
}
