package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/config"
)

// KamalVersion is the version of Kamal whose behaviour this binary
// implements. The config package holds it, as it checks `minimum_version`.
var KamalVersion = config.KamalVersion

func newVersionCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show Kamal version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.Stdout, KamalVersion)
			if a.Globals.Verbose {
				fmt.Fprintf(a.Stdout, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
				if info, ok := debug.ReadBuildInfo(); ok {
					for _, s := range info.Settings {
						if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
							fmt.Fprintf(a.Stdout, "%s: %s\n", s.Key, s.Value)
						}
					}
				}
			}
			return nil
		},
	}
}
