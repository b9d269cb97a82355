package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newResumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resume <service>",
		Short: "Resume a service",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var ok bool
			return call("Resume", server.ResumeArgs{Service: args[0]}, &ok)
		},
	}
}
