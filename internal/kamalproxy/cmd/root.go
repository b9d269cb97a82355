// Package cmd is the kamal-proxy command line: the long-running `run`
// server and the short-lived client commands that talk to it over a Unix
// socket. One file per command.
package cmd

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

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
		return fmt.Sprintf("%s (is kamal-proxy running? socket %s)", err, server.SocketPath())
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
		newVersionCommand(),
		newReadyCommand(),
	)
	return root
}

// call sends one request to the running server over its Unix socket.
func call(method string, args, reply any) error {
	return server.Call(server.SocketPath(), method, args, reply)
}
