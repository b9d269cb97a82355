package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newStopCommand() *cobra.Command {
	a := server.StopArgs{}
	cmd := &cobra.Command{
		Use:   "stop <service>",
		Short: "Stop a service",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			a.Service = args[0]
			var ok bool
			return call("Stop", a, &ok)
		},
	}
	cmd.Flags().DurationVar(&a.DrainTimeout, "drain-timeout", server.DefaultDrainTimeout, "How long to allow in-flight requests to complete")
	cmd.Flags().StringVar(&a.Message, "message", "", "Message to display to visitors while stopped")
	return cmd
}
