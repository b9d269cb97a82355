package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kamalgo/kamal/internal/deploy"
)

func newAccessoryCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accessory",
		Short: "Manage accessories (db/redis/search)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	// named is a subcommand taking NAME (or "all") and no flags of its own.
	named := func(use, short string, hidden bool, fn func(acc *deploy.Accessories, ctx context.Context, name string) error) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Hidden: hidden, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return fn(k.Accessories, ctx, args[0]) })
			},
		}
	}
	cmd.AddCommand(
		named("boot", "Boot new accessory service on host (use NAME=all to boot all accessories)", false, (*deploy.Accessories).Boot),
		named("reboot", "Reboot existing accessory on host (stop container, remove container, start new container; use NAME=all to boot all accessories)", false, (*deploy.Accessories).Reboot),
		named("start", "Start existing accessory container on host", false, (*deploy.Accessories).Start),
		named("stop", "Stop existing accessory container on host", false, (*deploy.Accessories).Stop),
		named("restart", "Restart existing accessory container on host", false, (*deploy.Accessories).Restart),
		named("details", "Show details about accessory on host (use NAME=all to show all accessories)", false, (*deploy.Accessories).Details),
		named("upload", "Upload accessory files to host", true, (*deploy.Accessories).UploadFiles),
		named("directories", "Create accessory directories on host", true, (*deploy.Accessories).Directories),
		named("pull_image", "Pull accessory image on host", true, (*deploy.Accessories).PullImage),
		named("remove_container", "Remove accessory container from host", true, (*deploy.Accessories).RemoveContainer),
		named("remove_image", "Remove accessory image from host", true, (*deploy.Accessories).RemoveImage),
		named("remove_service_directory", "Remove accessory directory used for uploaded files and data directories from host", true, (*deploy.Accessories).RemoveServiceDirectory),
		newAccessoryExecCommand(a),
		newAccessoryLogsCommand(a),
		newAccessoryRemoveCommand(a),
		newAccessoryUpgradeCommand(a),
	)
	return cmd
}

func newAccessoryExecCommand(a *App) *cobra.Command {
	var o deploy.AccessoryExecOptions
	cmd := &cobra.Command{
		Use:   "exec NAME CMD...",
		Short: "Execute a custom command on servers within the accessory container (use --help to show options)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, words := args[0], leadingExecFlags(args[1:], &o)
			a.rawExec(o.Raw)
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				return k.Accessories.ExecCommand(ctx, name, deploy.JoinCommand(words), o)
			})
		},
	}
	// Everything after the command's first word belongs to it (`exec db
	// ls -la`); the flags may come before NAME or right after it.
	cmd.Flags().SetInterspersed(false)
	containerExecFlags(cmd.Flags(), &o.Interactive, &o.Reuse, &o.Raw)
	return cmd
}

// containerExecFlags are the flags `accessory exec` and `app exec` share
// (leadingExecFlags knows them too).
func containerExecFlags(f *pflag.FlagSet, interactive, reuse, raw *bool) {
	f.BoolVarP(interactive, "interactive", "i", false, "Execute command over ssh for an interactive shell (use for console/bash)")
	f.BoolVar(reuse, "reuse", false, "Reuse currently running container instead of starting a new one")
	f.BoolVar(raw, "raw", false, "Print the command's output only, byte for byte, without host headers or logging")
}

// rawExec quiets kamal's own output for `exec --raw`, so only the
// command's own bytes go to stdout.
func (a *App) rawExec(raw bool) {
	if raw {
		a.Globals.Quiet = true
	}
}

// leadingExecFlags takes -i/--interactive, --reuse and --raw from the front of
// words (Kamal accepts `accessory exec db --reuse CMD`) and returns the
// command's words.
func leadingExecFlags(words []string, o *deploy.AccessoryExecOptions) []string {
	for len(words) > 0 {
		switch words[0] {
		case "-i", "--interactive":
			o.Interactive = true
		case "--reuse":
			o.Reuse = true
		case "--raw":
			o.Raw = true
		default:
			return words
		}
		words = words[1:]
	}
	return words
}

func newAccessoryLogsCommand(a *App) *cobra.Command {
	var o deploy.AccessoryLogsOptions
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Show log lines from accessory on host (use --help to show options)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error { return k.Accessories.Logs(ctx, args[0], o) })
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Since, "since", "s", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	f.IntVarP(&o.Lines, "lines", "n", 0, "Number of log lines to pull from each server")
	f.StringVarP(&o.Grep, "grep", "g", "", "Show lines with grep match only (use this to fetch specific requests by id)")
	f.StringVar(&o.GrepOptions, "grep-options", "", "Additional options supplied to grep")
	f.BoolVarP(&o.Follow, "follow", "f", false, "Follow logs on primary server (or specific host set by --hosts)")
	f.BoolVarP(&o.SkipTimestamps, "skip-timestamps", "T", false, "Skip appending timestamps to logging output")
	return cmd
}

func newAccessoryRemoveCommand(a *App) *cobra.Command {
	return confirmedAccessoryCommand(a, "remove", "Remove accessory container, image and data directory from host (use NAME=all to remove all accessories)",
		func(name string) string {
			return "This will remove all containers, images and data directories for " + name + ". Are you sure?"
		},
		(*deploy.Accessories).Remove)
}

func newAccessoryUpgradeCommand(a *App) *cobra.Command {
	var o deploy.AccessoryUpgradeOptions
	cmd := confirmedAccessoryCommand(a, "upgrade", "Upgrade accessories from Kamal 1.x to 2.0 (restart them in 'kamal' network)",
		func(string) string { return "This will restart all accessories" },
		func(acc *deploy.Accessories, ctx context.Context, name string) error {
			return acc.Upgrade(ctx, name, o)
		})
	cmd.Flags().BoolVar(&o.Rolling, "rolling", false, "Upgrade one host at a time")
	return cmd
}

// confirmedAccessoryCommand is a NAME subcommand that asks question(NAME)
// unless -y is given, then runs fn. An unknown name fails before the
// question.
func confirmedAccessoryCommand(a *App, use, short string, question func(name string) string, fn func(acc *deploy.Accessories, ctx context.Context, name string) error) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   use + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if err := k.Accessories.CheckName(args[0]); err != nil {
					return err
				}
				if !a.confirm(question(args[0]), yes) {
					return nil
				}
				return fn(k.Accessories, ctx, args[0])
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "confirmed", "y", false, "Proceed without confirmation question")
	return cmd
}
