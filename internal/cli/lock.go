package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/deploy"
)

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
				//lint:ignore ST1005 Kamal's message, word for word
				return errors.New("No value provided for required options '--message'")
			}
			return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if err := k.Lock.Acquire(ctx, message); err != nil {
					return err
				}
				k.Say("Acquired the deploy lock")
				return nil
			})
		},
	}
	acquire.Flags().StringVarP(&message, "message", "m", "", "A lock message")

	release := &cobra.Command{
		Use:   "release",
		Short: "Release the deploy lock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runOnLock(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				if err := k.Lock.Release(ctx); err != nil {
					return err
				}
				k.Say("Released the deploy lock")
				return nil
			})
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Report lock status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runOnLock(cmd, func(ctx context.Context, k *deploy.Kamal) error {
				details, err := k.Lock.Status(ctx)
				if err != nil {
					return err
				}
				k.Puts(details)
				return nil
			})
		},
	}
	cmd.AddCommand(acquire, release, status)
	return cmd
}

// runOnLock runs fn for a command on an existing lock: a missing lock is
// reported, not an error (and, as in Kamal, nothing is created).
func (a *App) runOnLock(cmd *cobra.Command, fn func(ctx context.Context, k *deploy.Kamal) error) error {
	return a.runKamal(cmd, func(ctx context.Context, k *deploy.Kamal) error {
		err := fn(ctx, k)
		if errors.Is(err, deploy.ErrNoLock) {
			k.Say("There is no deploy lock")
			return nil
		}
		return err
	})
}
