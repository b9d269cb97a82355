package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

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
