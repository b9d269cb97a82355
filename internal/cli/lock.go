package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

func init() { register(newLockCommand) }

func newLockCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Manage the deploy lock",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}

	var message string
	acquire := &cobra.Command{
		Use:   "acquire",
		Short: "Acquire the deploy lock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if message == "" {
				return errors.New("No value provided for required options '--message'")
			}
			ctx, cancel := a.RunContext(cmd)
			defer cancel()
			k, err := a.Kamal()
			if err != nil {
				return err
			}
			if err := k.AcquireLock(ctx, message); err != nil {
				return err
			}
			k.Say("Acquired the deploy lock")
			return nil
		},
	}
	acquire.Flags().StringVarP(&message, "message", "m", "", "A lock message")

	release := &cobra.Command{
		Use:   "release",
		Short: "Release the deploy lock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := a.RunContext(cmd)
			defer cancel()
			k, err := a.Kamal()
			if err != nil {
				return err
			}
			if err := k.EnsureRunDirectoryOnPrimary(ctx); err != nil {
				return err
			}
			switch err := k.ReleaseLock(ctx); {
			case errors.Is(err, deploy.ErrNoLock):
				k.Say("There is no deploy lock")
			case err != nil:
				return err
			default:
				k.Say("Released the deploy lock")
			}
			return nil
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Report lock status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := a.RunContext(cmd)
			defer cancel()
			k, err := a.Kamal()
			if err != nil {
				return err
			}
			if err := k.EnsureRunDirectoryOnPrimary(ctx); err != nil {
				return err
			}
			details, err := k.LockStatus(ctx)
			switch {
			case errors.Is(err, deploy.ErrNoLock):
				k.Say("There is no deploy lock")
			case err != nil:
				return err
			default:
				k.Puts(details)
			}
			return nil
		},
	}
	cmd.AddCommand(acquire, release, status)
	return cmd
}
