package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/secrets"
)

func newSecretsCommand(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Helpers for extracting secrets",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSecretsFetchCommand(a), newSecretsExtractCommand(a), newSecretsPrintCommand(a))
	return cmd
}

// puts writes s and a newline unless s already ends with one, like Ruby's puts.
func puts(w io.Writer, s string) {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	io.WriteString(w, s)
}

// runtimeError gives fetch and extract failures the error class Kamal
// prints for them.
type runtimeError struct{ error }

func (runtimeError) Kind() string    { return "RuntimeError" }
func (e runtimeError) Unwrap() error { return e.error }

func commandContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func newSecretsFetchCommand(a *App) *cobra.Command {
	var o secrets.FetchOptions
	var inline bool
	cmd := &cobra.Command{
		Use:   "fetch [SECRETS...]",
		Short: "Fetch secrets from a vault",
		Long: "Fetch secrets from a password manager and print them as a JSON object (shell-escaped with --inline).\n" +
			"Adapters: 1password, lastpass, bitwarden, bitwarden-sm, aws_secrets_manager, gcp, doppler, passbolt, enpass.",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			o.Streams = secrets.Streams{Stdin: a.Stdin, Stderr: a.Stderr}
			vars, err := secrets.Fetch(commandContext(cmd), o)
			if err != nil {
				return runtimeError{err}
			}
			out := secrets.FormatFetch(vars, inline)
			if inline {
				_, err = io.WriteString(a.Stdout, out)
				return err
			}
			puts(a.Stdout, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Adapter, "adapter", "a", "", "Which vault adapter to use")
	f.StringVar(&o.Account, "account", "", "The account identifier or username")
	f.StringVar(&o.From, "from", "", "A vault or folder to fetch the secrets from")
	f.BoolVar(&inline, "inline", false, "Print without a trailing newline")
	_ = f.MarkHidden("inline")
	return cmd
}

func newSecretsExtractCommand(a *App) *cobra.Command {
	var inline bool
	cmd := &cobra.Command{
		Use:   "extract NAME SECRETS_JSON",
		Short: "Extract a single secret from the results of a fetch call",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("`kamal secrets extract` needs NAME and SECRETS_JSON, got %d arguments", len(args))
			}
			value, err := secrets.Extract(args[0], args[1])
			if err != nil {
				return runtimeError{err}
			}
			if inline {
				_, err = io.WriteString(a.Stdout, value)
				return err
			}
			puts(a.Stdout, value)
			return nil
		},
	}
	cmd.Flags().BoolVar(&inline, "inline", false, "Print without a trailing newline")
	_ = cmd.Flags().MarkHidden("inline")
	return cmd
}

func newSecretsPrintCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "print",
		Short: "Print the secrets (for debugging)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			vars, err := cfg.Secrets.All()
			if err != nil {
				return err
			}
			for _, v := range vars {
				puts(a.Stdout, v.Key+"="+v.Value)
			}
			return nil
		},
	}
}
