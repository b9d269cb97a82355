package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func newServerCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Bootstrap servers with curl and Docker",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}

	var o deploy.ServerExecOptions
	exec := &cobra.Command{
		Use:   "exec CMD...",
		Short: "Run a custom command on the server (use --help to show options)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				return k.Servers.ExecCommand(ctx, deploy.JoinCommand(args), o)
			})
		},
	}
	// Everything after the command's first word belongs to it (`server
	// exec ls -la`), as Thor passes unknown options through.
	exec.Flags().SetInterspersed(false)
	exec.Flags().BoolVarP(&o.Interactive, "interactive", "i", false, "Run the command interactively (use for console/bash)")
	exec.Flags().BoolVar(&o.Raw, "raw", false, "Write the output unchanged, without host headers or log lines")

	bootstrap := &cobra.Command{
		Use:   "bootstrap",
		Short: "Set up Docker to run Kamal apps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Servers.Bootstrap(ctx) })
		},
	}
	cmd.AddCommand(exec, bootstrap)
	return cmd
}
