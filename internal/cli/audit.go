package cli

import "github.com/spf13/cobra"

func init() { register(newAuditCommand) }

func newAuditCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "audit",
		Short: "Show audit log from servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := a.RunContext(cmd)
			defer cancel()
			k, err := a.Kamal()
			if err != nil {
				return err
			}
			return k.Audit(ctx)
		},
	}
}
