package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

// planFlag is --plan: print what the command would do, change nothing.
func planFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "plan", false, "Print what would be done on each host (read only: nothing is changed on any server)")
}

// deployCommand is deploy, redeploy or setup: run does the work unless
// --plan asks for the plan only.
func deployCommand(a *App, use, short string, run func(k *deploy.Kamal, ctx context.Context, o deploy.DeployOptions) error) *cobra.Command {
	var o deploy.DeployOptions
	var plan bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if plan {
					return k.Plan(ctx, deploy.PlanOptions{Command: use, SkipPush: o.SkipPush})
				}
				return run(k, ctx, o)
			})
		},
	}
	deployFlags(cmd, &o)
	planFlag(cmd, &plan)
	return cmd
}

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
	return deployCommand(a, "deploy", "Deploy app to servers", (*deploy.Kamal).Deploy)
}

func newRedeployCommand(a *App) *cobra.Command {
	return deployCommand(a, "redeploy", "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning", (*deploy.Kamal).Redeploy)
}

func newSetupCommand(a *App) *cobra.Command {
	return deployCommand(a, "setup", "Setup all accessories, push the env, and deploy app to servers", (*deploy.Kamal).Setup)
}

func newRollbackCommand(a *App) *cobra.Command {
	var o deploy.RollbackOptions
	var plan bool
	cmd := &cobra.Command{
		Use:   "rollback [VERSION]",
		Short: "Rollback app to VERSION (default: the version that ran before the current one)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Version = args[0]
			}
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if plan {
					return k.Plan(ctx, deploy.PlanOptions{Command: "rollback", Version: o.Version})
				}
				return k.Rollback(ctx, o)
			})
		},
	}
	noRollbackFlag(cmd, &o.NoRollback)
	planFlag(cmd, &plan)
	return cmd
}
