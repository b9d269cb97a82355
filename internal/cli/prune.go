package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func newPruneCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Prune old application images and containers",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	all := &cobra.Command{
		Use:   "all",
		Short: "Prune unused images and stopped containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Pruner.All(ctx, 0) })
		},
	}
	images := &cobra.Command{
		Use:   "images",
		Short: "Prune unused images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Pruner.Images(ctx) })
		},
	}
	var retain int
	containers := &cobra.Command{
		Use:   "containers",
		Short: "Prune all stopped containers, except the last n (default 5)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("retain") && retain < 1 {
				return &deploy.ArgumentError{Msg: "retain must be at least 1"}
			}
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Pruner.Containers(ctx, retain) })
		},
	}
	containers.Flags().IntVar(&retain, "retain", 0, "Number of containers to retain (default: retain_containers, 5)")
	cmd.AddCommand(all, images, containers)
	return cmd
}
