package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func newBuildCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build application image",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	// building is a subcommand that builds: it takes --no-cache and, when output
	// is not "", --output with that default.
	building := func(use, short, output string, fn func(b *deploy.Builder, ctx context.Context, o deploy.BuildOptions) error) *cobra.Command {
		var o deploy.BuildOptions
		c := a.simpleCommand(use, short, func(k *deploy.Kamal, ctx context.Context) error { return fn(k.Builder, ctx, o) })
		if output != "" {
			c.Flags().StringVar(&o.Output, "output", output, "Export type for the build result, and may be specified multiple times")
		}
		c.Flags().BoolVar(&o.NoCache, "no-cache", false, "Build without using Docker's build cache")
		return c
	}
	// simple is a subcommand without flags of its own.
	simple := func(use, short string, fn func(b *deploy.Builder, ctx context.Context) error) *cobra.Command {
		return a.simpleCommand(use, short, func(k *deploy.Kamal, ctx context.Context) error { return fn(k.Builder, ctx) })
	}
	cmd.AddCommand(
		building("deliver", "Build app and push app image to registry then pull image on servers", "", (*deploy.Builder).Deliver),
		building("push", "Build and push app image to registry", "registry", (*deploy.Builder).Push),
		simple("pull", "Pull app image from registry onto servers", (*deploy.Builder).Pull),
		simple("create", "Create a build setup", (*deploy.Builder).Create),
		simple("remove", "Remove build setup", (*deploy.Builder).Remove),
		simple("details", "Show build setup", (*deploy.Builder).Details),
		building("dev", "Build using the working directory, tag it as dirty, and push to local image store.", "docker", (*deploy.Builder).Dev),
	)
	return cmd
}
