package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "remove <service>",
		Aliases: []string{"rm"},
		Short:   "Remove the service",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var ok bool
			return call("Remove", server.RemoveArgs{Service: args[0]}, &ok)
		},
	}
}
