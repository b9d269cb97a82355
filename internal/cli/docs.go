package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/config"
)

func newDocsCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "docs [SECTION]",
		Short: "Show the configuration documentation",
		Long: "Show the documentation of the configuration file, or of one section of it.\n\nSections: " +
			strings.Join(config.DocSections(), ", "),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			section := ""
			if len(args) == 1 {
				section = args[0]
			}
			text, ok := config.Docs(section)
			if !ok {
				fmt.Fprintf(a.Stdout, "No documentation found for %s\n", section)
				return nil
			}
			fmt.Fprint(a.Stdout, text)
			return nil
		},
	}
}
