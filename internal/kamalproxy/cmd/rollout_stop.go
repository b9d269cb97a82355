package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newRolloutStopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop <service>",
		Short: "Stop the rollout",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var ok bool
			return call("RolloutStop", server.RolloutStopArgs{Service: args[0]}, &ok)
		},
	}
}
