package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

// newReadyCommand is ours: kamal starts a new proxy beside the running one
// and runs this inside it to learn when it has taken the traffic over (it
// opens its command socket only then).
func newReadyCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ready",
		Short: "Wait until the server answers on its command socket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			deadline := time.Now().Add(timeout)
			for {
				var res server.ListResponse
				err := call("List", true, &res)
				if err == nil {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("not ready after %s: %w", timeout, err)
				}
				// Polling the socket is how a client learns the server is up.
				time.Sleep(50 * time.Millisecond)
			}
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "How long to wait")
	return cmd
}
