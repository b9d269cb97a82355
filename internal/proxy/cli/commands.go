package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/proxy"
)

func newRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "remove <service>",
		Aliases: []string{"rm"},
		Short:   "Remove the service",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var ok bool
			return call("Remove", proxy.RemoveArgs{Service: args[0]}, &ok)
		},
	}
}

func newPauseCommand() *cobra.Command {
	a := proxy.PauseArgs{}
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
	cmd.Flags().DurationVar(&a.DrainTimeout, "drain-timeout", proxy.DefaultDrainTimeout, "How long to allow in-flight requests to complete")
	cmd.Flags().DurationVar(&a.PauseTimeout, "max-pause", proxy.DefaultPauseTimeout, "How long to hold requests before they fail")
	return cmd
}

func newStopCommand() *cobra.Command {
	a := proxy.StopArgs{}
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
	cmd.Flags().DurationVar(&a.DrainTimeout, "drain-timeout", proxy.DefaultDrainTimeout, "How long to allow in-flight requests to complete")
	cmd.Flags().StringVar(&a.Message, "message", "", "Message to display to visitors while stopped")
	return cmd
}

func newResumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resume <service>",
		Short: "Resume a service",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var ok bool
			return call("Resume", proxy.ResumeArgs{Service: args[0]}, &ok)
		},
	}
}

func newListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the services currently deployed",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res proxy.ListResponse
			if err := call("List", true, &res); err != nil {
				return err
			}
			printTable(cmd.OutOrStdout(), res.Targets)
			return nil
		},
	}
}

// printTable draws the list with a bold header, like the reference.
func printTable(w io.Writer, services map[string]proxy.ServiceDescription) {
	rows := [][]string{{"Service", "Host", "Path", "Target", "State", "TLS"}}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := services[n]
		tls := "no"
		if s.TLS {
			tls = "yes"
		}
		rows = append(rows, []string{n, s.Host, s.Path, s.Target, s.State, tls})
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

func newRolloutCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "rollout", Short: "Gradually roll out a new version"}

	var da proxy.RolloutDeployArgs
	deploy := &cobra.Command{
		Use:   "deploy <service>",
		Short: "Deploy the rollout targets",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			da.Service = args[0]
			for _, t := range append(append([]string(nil), da.TargetURLs...), da.ReaderURLs...) {
				if err := proxy.ValidateTarget(t); err != nil {
					return err
				}
			}
			var ok bool
			return call("RolloutDeploy", da, &ok)
		},
	}
	deploy.Flags().StringSliceVar(&da.TargetURLs, "target", nil, "Target host(s) to deploy")
	deploy.Flags().StringSliceVar(&da.ReaderURLs, "read-target", nil, "Read-only target host(s) to deploy")
	deploy.Flags().DurationVar(&da.DeploymentOptions.DeployTimeout, "deploy-timeout", proxy.DefaultDeployTimeout, "Maximum time to wait for the new target to become healthy")
	deploy.Flags().DurationVar(&da.DeploymentOptions.DrainTimeout, "drain-timeout", proxy.DefaultDrainTimeout, "Maximum time to allow existing connections to drain before removing old target")
	_ = deploy.MarkFlagRequired("target")

	var sa proxy.RolloutSetArgs
	set := &cobra.Command{
		Use:   "set <service>",
		Short: "Set the rollout split",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			sa.Service = args[0]
			var ok bool
			return call("RolloutSet", sa, &ok)
		},
	}
	set.Flags().IntVar(&sa.Percentage, "percent", 0, "Percentage of requests to send to the rollout targets")
	set.Flags().StringSliceVar(&sa.Allowlist, "list", nil, "kamal-rollout cookie values that always use the rollout targets")
	set.MarkFlagsOneRequired("percent", "list")

	stop := &cobra.Command{
		Use:   "stop <service>",
		Short: "Stop the rollout",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var ok bool
			return call("RolloutStop", proxy.RolloutStopArgs{Service: args[0]}, &ok)
		},
	}
	cmd.AddCommand(deploy, set, stop)
	return cmd
}
