package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newRolloutSetCommand() *cobra.Command {
	var sa server.RolloutSetArgs
	cmd := &cobra.Command{
		Use:   "set <service>",
		Short: "Set the rollout split",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			sa.Service = args[0]
			var ok bool
			return call("RolloutSet", sa, &ok)
		},
	}
	cmd.Flags().IntVar(&sa.Percentage, "percent", 0, "Percentage of requests to send to the rollout targets")
	cmd.Flags().StringSliceVar(&sa.Allowlist, "list", nil, "kamal-rollout cookie values that always use the rollout targets")
	cmd.MarkFlagsOneRequired("percent", "list")
	return cmd
}
