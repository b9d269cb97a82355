package cmd

import "github.com/spf13/cobra"

func newRolloutCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "rollout", Short: "Gradually roll out a new version"}
	cmd.AddCommand(newRolloutDeployCommand(), newRolloutSetCommand(), newRolloutStopCommand())
	return cmd
}
