// Package cli implements the kamal-proxy command line: the long-running
// `run` server and the short-lived client commands that talk to it over a
// Unix socket.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/proxy"
)

// Version is the proxy version; Kamal requires v0.9.2 or later.
var Version = "v0.10.0"

// Main runs the CLI and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewRootCommand(stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "Error: %s\n", clientError(err))
		return 1
	}
	return 0
}

// clientError makes a missing socket understandable.
func clientError(err error) string {
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("%s (is kamal-proxy running? socket %s)", err, proxy.SocketPath())
	}
	return err.Error()
}

// NewRootCommand builds the command tree.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "kamal-proxy",
		Short:         "HTTP proxy for zero downtime deployments",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newRunCommand(),
		newDeployCommand(),
		newRemoveCommand(),
		newPauseCommand(),
		newStopCommand(),
		newResumeCommand(),
		newListCommand(),
		newRolloutCommand(),
		&cobra.Command{
			Use:   "version",
			Short: "Show the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintln(cmd.OutOrStdout(), Version)
			},
		},
	)
	return root
}

// envInt reads KAMAL_PROXY_<name>, then <name>; unparsable values are ignored.
func envInt(name string, def int) int {
	for _, k := range []string{"KAMAL_PROXY_" + name, name} {
		if v, ok := os.LookupEnv(k); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return def
}

func envString(name, def string) string {
	for _, k := range []string{"KAMAL_PROXY_" + name, name} {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v
		}
	}
	return def
}

func envBool(name string, def bool) bool {
	for _, k := range []string{"KAMAL_PROXY_" + name, name} {
		if v, ok := os.LookupEnv(k); ok {
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
				return b
			}
		}
	}
	return def
}

func call(method string, args, reply any) error {
	return proxy.Call(proxy.SocketPath(), method, args, reply)
}
