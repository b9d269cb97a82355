package cli

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/remote"
)

// newSSHKeeperCommand is the hidden command a run starts, detached, to
// keep a host's SSH connection for later runs (KAMAL_SSH_PERSIST). Its
// settings arrive on standard input; it prints nothing.
func newSSHKeeperCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:    remote.KeeperCommand,
		Short:  "Keep one host's SSH connection for later runs (started by kamal itself)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			return remote.RunKeeper(ctx, a.Stdin)
		},
	}
}
