package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func newRegistryCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Login and -out of the image registry",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	sub := func(use, short string, fn func(r *deploy.Registry, ctx context.Context, o deploy.RegistryOptions) error) *cobra.Command {
		var o deploy.RegistryOptions
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return fn(k.Registry, ctx, o) })
			},
		}
		c.Flags().BoolVarP(&o.SkipLocal, "skip-local", "L", false, "Skip local login")
		c.Flags().BoolVarP(&o.SkipRemote, "skip-remote", "R", false, "Skip remote login")
		return c
	}
	cmd.AddCommand(
		sub("setup", "Setup local registry or log in to remote registry locally and remotely", (*deploy.Registry).Setup),
		sub("remove", "Remove local registry or log out of remote registry locally and remotely", (*deploy.Registry).Remove),
		sub("login", "Log in to remote registry locally and remotely", (*deploy.Registry).Login),
		sub("logout", "Log out of remote registry locally and remotely", (*deploy.Registry).Logout),
	)
	return cmd
}
