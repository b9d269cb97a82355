package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newPauseCommand() *cobra.Command {
	a := server.PauseArgs{}
	cmd := &cobra.Command{
		Use:   "pause <service>",
		Short: "Pause a service",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			a.Service = args[0]
			var ok bool
			return call("Pause", a, &ok)
		},
	}
	cmd.Flags().DurationVar(&a.DrainTimeout, "drain-timeout", server.DefaultDrainTimeout, "How long to allow in-flight requests to complete")
	cmd.Flags().DurationVar(&a.PauseTimeout, "max-pause", server.DefaultPauseTimeout, "How long to hold requests before they fail")
	return cmd
}
