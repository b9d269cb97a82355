package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

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
