package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func init() { register(newBuildCommand) }

func newBuildCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build application image",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	// run wraps a build step with the run context and state.
	run := func(fn func(ctx context.Context, k *deploy.Kamal) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			ctx, cancel := a.RunContext(cmd)
			defer cancel()
			k, err := a.Kamal()
			if err != nil {
				return err
			}
			return runError(fn(ctx, k))
		}
	}

	var deliverOpts deploy.BuildOptions
	deliver := &cobra.Command{
		Use:   "deliver",
		Short: "Build app and push app image to registry then pull image on servers",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, k *deploy.Kamal) error {
			return k.BuildDeliver(ctx, deliverOpts)
		}),
	}
	deliver.Flags().BoolVar(&deliverOpts.NoCache, "no-cache", false, "Build without using Docker's build cache")

	var pushOpts deploy.BuildOptions
	push := &cobra.Command{
		Use:   "push",
		Short: "Build and push app image to registry",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, k *deploy.Kamal) error {
			return k.BuildPush(ctx, pushOpts)
		}),
	}
	push.Flags().StringVar(&pushOpts.Output, "output", "registry", "Export type for the build result, and may be specified multiple times")
	push.Flags().BoolVar(&pushOpts.NoCache, "no-cache", false, "Build without using Docker's build cache")

	pull := &cobra.Command{
		Use:   "pull",
		Short: "Pull app image from registry onto servers",
		Args:  cobra.NoArgs,
		RunE:  run(func(ctx context.Context, k *deploy.Kamal) error { return k.BuildPull(ctx) }),
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a build setup",
		Args:  cobra.NoArgs,
		RunE:  run(func(ctx context.Context, k *deploy.Kamal) error { return k.BuildCreate(ctx) }),
	}
	remove := &cobra.Command{
		Use:   "remove",
		Short: "Remove build setup",
		Args:  cobra.NoArgs,
		RunE:  run(func(ctx context.Context, k *deploy.Kamal) error { return k.BuildRemove(ctx) }),
	}
	details := &cobra.Command{
		Use:   "details",
		Short: "Show build setup",
		Args:  cobra.NoArgs,
		RunE:  run(func(ctx context.Context, k *deploy.Kamal) error { return k.BuildDetails(ctx) }),
	}

	var devOpts deploy.BuildOptions
	dev := &cobra.Command{
		Use:   "dev",
		Short: "Build using the working directory, tag it as dirty, and push to local image store.",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, k *deploy.Kamal) error {
			return k.BuildDev(ctx, devOpts)
		}),
	}
	dev.Flags().StringVar(&devOpts.Output, "output", "docker", "Export type for the build result, and may be specified multiple times")
	dev.Flags().BoolVar(&devOpts.NoCache, "no-cache", false, "Build without using Docker's build cache")

	cmd.AddCommand(deliver, push, pull, create, remove, details, dev)
	return cmd
}
