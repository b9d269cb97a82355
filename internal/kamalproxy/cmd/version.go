package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Version is the proxy version; Kamal requires v0.9.2 or later. The image
// build sets it with -ldflags -X.
var Version = "v0.10.0"

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), Version)
		},
	}
}
