package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func init() { register(newAppCommand) }

// appSubcommands are the `kamal app` subcommands; each file adding some
// appends a constructor from its init.
var appSubcommands = []func(a *App) *cobra.Command{newAppBootCommand}

func newAppCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Manage application",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	for _, f := range appSubcommands {
		cmd.AddCommand(f(a))
	}
	return cmd
}

func newAppBootCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "boot",
		Short: "Boot app on servers (or reboot app if already running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				// Without --version, Kamal boots the image tagged latest (latest-<destination>).
				latest := a.Globals.Version == ""
				if latest {
					k.Config.SetVersion(k.Config.LatestTag())
				}
				return k.AppBoot(ctx, deploy.AppBootOptions{Latest: latest})
			})
		},
	}
}
