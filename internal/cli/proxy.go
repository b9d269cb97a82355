package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/deploy"
)

func newProxyCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Manage kamal-proxy",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	simple := func(use, short string, fn func(ctx context.Context, k *deploy.Kamal) error) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error { return a.runKamal(cmd, fn) },
		}
	}
	boot := simple("boot", "Boot proxy on servers", func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.Boot(ctx) })
	start := simple("start", "Start existing proxy container on servers", func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.Start(ctx) })
	stop := simple("stop", "Stop existing proxy container on servers", func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.Stop(ctx) })
	restart := simple("restart", "Restart existing proxy container on servers", func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.Restart(ctx) })
	details := simple("details", "Show details about proxy container from servers", func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.Details(ctx) })

	var rolling, yes bool
	reboot := &cobra.Command{
		Use:   "reboot",
		Short: "Reboot proxy on servers (stop container, remove container, start new container)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if !a.confirm("This will cause a brief outage on each host. Are you sure?", yes) {
					return nil
				}
				return k.Proxy.Reboot(ctx, deploy.ProxyRebootOptions{Rolling: rolling})
			})
		},
	}
	reboot.Flags().BoolVar(&rolling, "rolling", false, "Reboot proxy on hosts in sequence, rather than in parallel")
	reboot.Flags().BoolVarP(&yes, "confirmed", "y", false, "Proceed without confirmation question")

	var lo deploy.ProxyLogsOptions
	logs := &cobra.Command{
		Use:   "logs",
		Short: "Show log lines from proxy on servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.Logs(ctx, lo) })
		},
	}
	logs.Flags().StringVarP(&lo.Since, "since", "s", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	logs.Flags().IntVarP(&lo.Lines, "lines", "n", 0, "Number of log lines to pull from each server")
	logs.Flags().StringVarP(&lo.Grep, "grep", "g", "", "Show lines with grep match only (use this to fetch specific requests by id)")
	logs.Flags().StringVar(&lo.GrepOptions, "grep-options", "", "Additional options supplied to grep")
	logs.Flags().BoolVarP(&lo.Follow, "follow", "f", false, "Follow logs on primary server (or specific host set by --hosts)")
	logs.Flags().BoolVarP(&lo.NoTimestamp, "skip-timestamps", "T", false, "Skip appending timestamps to logging output")

	var force bool
	remove := &cobra.Command{
		Use:   "remove",
		Short: "Remove proxy container and image from servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				return k.Proxy.Remove(ctx, deploy.ProxyRemoveOptions{Force: force})
			})
		},
	}
	remove.Flags().BoolVar(&force, "force", false, "Force removing proxy when apps are still installed")

	var uyes bool
	var uo deploy.UpgradeOptions
	upgrade := &cobra.Command{
		Use:    "upgrade",
		Short:  "Upgrade to kamal-proxy on servers (stop container, remove container, start new container, reboot app)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if !a.confirm("This will cause a brief outage on each host. Are you sure?", uyes) {
					return nil
				}
				return k.ProxyUpgrade(ctx, uo)
			})
		},
	}
	upgrade.Flags().BoolVar(&uo.Rolling, "rolling", false, "Upgrade proxy on hosts in sequence, rather than in parallel")
	upgrade.Flags().BoolVarP(&uyes, "confirmed", "y", false, "Proceed without confirmation question")

	cmd.AddCommand(boot, reboot, start, stop, restart, details, logs, remove, upgrade, newProxyBootConfigCommand(a))
	// The single steps of `proxy remove`, hidden as in Kamal.
	for _, step := range []struct {
		use, short string
		run        func(*deploy.Proxy, context.Context) error
	}{
		{"remove_container", "Remove proxy container from servers", (*deploy.Proxy).RemoveContainer},
		{"remove_image", "Remove proxy image from servers", (*deploy.Proxy).RemoveImage},
		{"remove_proxy_directory", "Remove the proxy directory from servers", (*deploy.Proxy).RemoveDirectory},
	} {
		cmd.AddCommand(&cobra.Command{
			Use: step.use, Short: step.short, Args: cobra.NoArgs, Hidden: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return step.run(k.Proxy, ctx) })
			},
		})
	}
	return cmd
}

func newProxyBootConfigCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "boot_config <set|get|reset>",
		Short: "Manage kamal-proxy boot configuration (deprecated: use proxy run settings in the config)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var b commands.BootConfig
	var bindIPs, dockerOptions []string
	set := &cobra.Command{
		Use:   "set",
		Short: "Set the options kamal-proxy boots with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b.BindIPs, b.DockerOptions = bindIPs, dockerOptions
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.BootConfigSet(ctx, b) })
		},
	}
	f := set.Flags()
	f.BoolVar(&b.Publish, "publish", true, "Publish the proxy ports on the host")
	f.StringArrayVar(&bindIPs, "publish-host-ip", nil, "Host IP address to bind HTTP/HTTPS traffic to (repeatable)")
	f.IntVar(&b.HTTPPort, "http-port", 80, "HTTP port to publish on the host")
	f.IntVar(&b.HTTPSPort, "https-port", 443, "HTTPS port to publish on the host")
	f.StringVar(&b.LogMaxSize, "log-max-size", config.DefaultLogMaxSize, "Max size of proxy logs")
	f.StringVar(&b.Registry, "registry", "", "Registry to use for the proxy image")
	f.StringVar(&b.Repository, "repository", "", "Repository for the proxy image")
	f.StringVar(&b.ImageVersion, "image-version", "", "Version of the proxy to run")
	f.IntVar(&b.MetricsPort, "metrics-port", 0, "Port to report prometheus metrics on")
	f.BoolVar(&b.Debug, "debug", false, "Whether to run the proxy in debug mode")
	f.StringArrayVar(&dockerOptions, "docker-options", nil, "Docker options to pass to the proxy container (key=value, repeatable)")

	get := &cobra.Command{
		Use:   "get",
		Short: "Show the options kamal-proxy boots with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.BootConfigGet(ctx) })
		},
	}
	reset := &cobra.Command{
		Use:   "reset",
		Short: "Reset the kamal-proxy boot options to the defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Proxy.BootConfigReset(ctx) })
		},
	}
	cmd.AddCommand(set, get, reset)
	return cmd
}
