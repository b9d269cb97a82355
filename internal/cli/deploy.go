package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

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
