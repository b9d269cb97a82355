package cmd

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the services currently deployed",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res server.ListResponse
			if err := call("List", true, &res); err != nil {
				return err
			}
			printTable(cmd.OutOrStdout(), res.Targets)
			return nil
		},
	}
}

// printTable draws the list with a bold header, like the reference.
func printTable(w io.Writer, services map[string]server.ServiceDescription) {
	rows := [][]string{{"Service", "Host", "Path", "Target", "State", "TLS"}}
	names := make([]string, 0, len(services))
	withError := false
	for n, s := range services {
		names = append(names, n)
		withError = withError || s.Error != ""
	}
	sort.Strings(names)
	// The Error column appears only when a service could not be restored.
	if withError {
		rows[0] = append(rows[0], "Error")
	}
	for _, n := range names {
		s := services[n]
		tls := "no"
		if s.TLS {
			tls = "yes"
		}
		row := []string{n, s.Host, s.Path, s.Target, s.State, tls}
		if withError {
			row = append(row, s.Error)
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for ri, r := range rows {
		var b strings.Builder
		for i, c := range r {
			cell := c + strings.Repeat(" ", widths[i]-len(c))
			if ri == 0 {
				cell = "\x1b[1m" + cell + "\x1b[0m"
			}
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString("  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
