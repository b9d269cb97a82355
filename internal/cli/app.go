package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func newAppCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Manage application",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	for _, f := range appSubcommands() {
		cmd.AddCommand(f(a))
	}
	return cmd
}

// appSubcommands are the `kamal app` subcommands, in Kamal's order.
func appSubcommands() []func(a *App) *cobra.Command {
	return []func(a *App) *cobra.Command{
		newAppBootCommand,
		simpleApp("start", "Start existing app container on servers", (*deploy.Apps).Start),
		simpleApp("stop", "Stop app container on servers", (*deploy.Apps).Stop),
		simpleApp("details", "Show details about app containers", (*deploy.Apps).Details),
		simpleApp("containers", "Show app containers on servers", (*deploy.Apps).Containers),
		simpleApp("images", "Show app images on servers", (*deploy.Apps).Images),
		simpleApp("version", "Show app version currently running on servers", (*deploy.Apps).RunningVersion),
		simpleApp("remove", "Remove app containers and images from servers", (*deploy.Apps).Remove),
		simpleApp("live", "Set the app to live mode", (*deploy.Apps).Live),
		newAppStaleContainersCommand,
		newAppMaintenanceCommand,
		newAppExecCommand,
		newAppLogsCommand,
		newAppRemoveContainerCommand,
		hiddenApp(simpleApp("remove_containers", "Remove all app containers from servers", (*deploy.Apps).RemoveContainers)),
		hiddenApp(simpleApp("remove_images", "Remove all app images from servers", (*deploy.Apps).RemoveImages)),
		hiddenApp(simpleApp("remove_app_directories", "Remove the app directories from servers", (*deploy.Apps).RemoveAppDirectories)),
	}
}

func newAppBootCommand(a *App) *cobra.Command {
	var noRollback bool
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Boot app on servers (or reboot app if already running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				// Without --version, Kamal boots the image tagged latest (latest-<destination>).
				latest := a.Globals.Version == ""
				if latest {
					k.Config.SetVersion(k.Config.LatestTag())
				}
				return k.Booter.Boot(ctx, deploy.AppBootOptions{Latest: latest, NoRollback: noRollback})
			})
		},
	}
	noRollbackFlag(cmd, &noRollback)
	return cmd
}

// simpleApp is an app subcommand without arguments or flags of its own.
func simpleApp(use, short string, fn func(apps *deploy.Apps, ctx context.Context) error) func(a *App) *cobra.Command {
	return func(a *App) *cobra.Command {
		return a.simpleCommand(use, short, func(k *deploy.Kamal, ctx context.Context) error { return fn(k.Apps, ctx) })
	}
}

// simpleCommand is a subcommand without arguments or flags of its own that
// runs fn (a method expression such as (*deploy.Apps).Start).
func (a *App) simpleCommand(use, short string, fn func(k *deploy.Kamal, ctx context.Context) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return fn(k, ctx) })
		},
	}
}

// hiddenApp hides a subcommand from help, as Kamal hides its removal steps.
func hiddenApp(f func(a *App) *cobra.Command) func(a *App) *cobra.Command {
	return func(a *App) *cobra.Command {
		c := f(a)
		c.Hidden = true
		return c
	}
}

func newAppRemoveContainerCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use: "remove_container VERSION", Short: "Remove app container with given version from servers",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Apps.RemoveContainer(ctx, args[0]) })
		},
	}
}

func newAppStaleContainersCommand(a *App) *cobra.Command {
	var stop bool
	cmd := &cobra.Command{
		Use:   "stale_containers",
		Short: "Detect app stale containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Apps.StaleContainers(ctx, stop) })
		},
	}
	cmd.Flags().BoolVarP(&stop, "stop", "s", false, "Stop the stale containers found")
	return cmd
}

func newAppMaintenanceCommand(a *App) *cobra.Command {
	var drain int
	var message string
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "Set the app to maintenance mode",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := deploy.MaintenanceOptions{Message: message}
			if cmd.Flags().Changed("drain-timeout") {
				o.DrainTimeout = &drain
			}
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Apps.Maintenance(ctx, o) })
		},
	}
	cmd.Flags().IntVar(&drain, "drain-timeout", 0, "How long to allow in-flight requests to complete (defaults to drain_timeout from config)")
	cmd.Flags().StringVar(&message, "message", "", "Message to display to clients while stopped")
	return cmd
}

func newAppExecCommand(a *App) *cobra.Command {
	var o deploy.AppExecOptions
	var env []string
	cmd := &cobra.Command{
		Use:   "exec CMD...",
		Short: "Execute a custom command on servers within the app container (use --help to show options)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kv, err := deploy.ParseEnvPairs(env)
			if err != nil {
				return err
			}
			o.Env = kv
			o.Version = a.Globals.Version
			a.rawExec(o.Raw)
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				return k.Apps.ExecCommand(ctx, deploy.JoinCommand(args), o)
			})
		},
	}
	// Everything after the command's first word belongs to it (`app exec
	// ls -la`), as for `server exec`.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	containerExecFlags(f, &o.Interactive, &o.Reuse, &o.Raw)
	f.StringArrayVarP(&env, "env", "e", nil, "Set environment variables for the command (KEY=VALUE or KEY:VALUE, repeatable)")
	f.BoolVar(&o.Detach, "detach", false, "Execute command in a detached container")
	return cmd
}

func newAppLogsCommand(a *App) *cobra.Command {
	var o deploy.AppLogsOptions
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show log lines from app on servers (use --help to show options)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Apps.Logs(ctx, o) })
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Since, "since", "s", "", "Show lines since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	f.IntVarP(&o.Lines, "lines", "n", 0, "Number of lines to show from each server")
	f.StringVarP(&o.Grep, "grep", "g", "", "Show lines with grep match only (use this to fetch specific requests by id)")
	f.StringVar(&o.GrepOptions, "grep-options", "", "Additional options supplied to grep")
	f.BoolVarP(&o.Follow, "follow", "f", false, "Follow log on primary server (or specific host set by --hosts)")
	f.BoolVarP(&o.SkipTimestamps, "skip-timestamps", "T", false, "Skip appending timestamps to logging output")
	f.StringVar(&o.ContainerID, "container-id", "", "Docker container ID to fetch logs")
	return cmd
}
