// Package cli defines the kamal command line: it parses flags, calls one
// orchestration and prints its result. It holds no deploy logic of its own.
package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/remote"
)

// Globals are the options every kamal command accepts, as in Kamal.
type Globals struct {
	Verbose          bool
	Quiet            bool
	Version          string
	Primary          bool
	Hosts            []string
	Roles            []string
	ConfigFile       string
	Destination      string
	SkipHooks        bool
	LockWait         bool
	LockWaitTimeout  int
	LockWaitInterval int
	Progress         progressFlag // --progress
	JSON             bool         // --json
}

// App is the state shared by the commands of one kamal invocation.
type App struct {
	Globals Globals
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer

	config   configState   // the configuration, loaded on first use (config.go)
	kamal    kamalState    // the run state, built on first use (kamal.go)
	closers  []func()      // run by close, last first
	progress progressState // the renderer of the run's events (progress.go)
}

// commands are kamal's top-level commands, in the order help lists them.
// Each constructor lives in the file named after its command.
func (a *App) commands() []*cobra.Command {
	return []*cobra.Command{
		newAccessoryCommand(a),
		newAppCommand(a),
		newAuditCommand(a),
		newBuildCommand(a),
		newConfigCommand(a),
		newDeployCommand(a),
		newDetailsCommand(a),
		newDocsCommand(a),
		newInitCommand(a),
		newLockCommand(a),
		newProxyCommand(a),
		newPruneCommand(a),
		newRedeployCommand(a),
		newRegistryCommand(a),
		newRemoveCommand(a),
		newRollbackCommand(a),
		newSecretsCommand(a),
		newServerCommand(a),
		newSetupCommand(a),
		newSSHKeeperCommand(a),
		newUpgradeCommand(a),
		newVersionCommand(a),
	}
}

// KindError lets an error name its kind in the `ERROR (<Kind>)` line.
type KindError interface {
	error
	Kind() string
}

// Main runs kamal with args and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &App{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	app.startProgress(os.Getenv)
	return app.run(app.newRootCommand(), args)
}

// run executes root with args and returns the exit status.
func (a *App) run(root *cobra.Command, args []string) int {
	root.SetArgs(a.expandAlias(root, args))
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	cmd, err := root.ExecuteC()
	// Redact with the run's secrets before close forgets them: an error
	// may quote a command or output that holds one.
	redact := a.redactor()
	a.close()
	a.finishProgress(cmd, err, redact)
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Message != "" {
			fmt.Fprintln(a.Stderr, redact(exit.Message))
		}
		return exit.Code
	}
	fmt.Fprintf(a.Stderr, "  ERROR (%s): %s\n", ErrorKind(err), redact(err.Error()))
	return 1
}

// ErrorKind is the Ruby exception class Kamal would print for err in its
// `ERROR (<Class>)` line. The outermost error that names a class wins, as
// with errors.As. Host failures are shown with the class of their cause,
// since bin/kamal prints e.cause.class for SSHKit::Runner::ExecuteError;
// with several hosts that is the first host's. Anything else is a
// RuntimeError, the class of Ruby's plain `raise "message"`.
func ErrorKind(err error) string {
	if kind, ok := errorKind(err); ok {
		return kind
	}
	return "RuntimeError"
}

// errnoKinds are the socket errors Ruby raises as Errno::* classes.
var errnoKinds = map[syscall.Errno]string{
	syscall.ECONNREFUSED: "Errno::ECONNREFUSED",
	syscall.ECONNRESET:   "Errno::ECONNRESET",
	syscall.EHOSTUNREACH: "Errno::EHOSTUNREACH",
	syscall.ENETUNREACH:  "Errno::ENETUNREACH",
	syscall.ETIMEDOUT:    "Errno::ETIMEDOUT",
	syscall.EPIPE:        "Errno::EPIPE",
}

// errorKind walks err's chain depth first and reports the first class found.
func errorKind(err error) (string, bool) {
	switch e := err.(type) {
	case nil:
		return "", false
	case KindError:
		return e.Kind(), true
	case remote.HostErrors:
		if len(e) > 0 {
			return ErrorKind(e[0]), true
		}
	case *remote.HostError:
		return ErrorKind(e.Err), true
	case *remote.CommandError:
		return "SSHKit::Command::Failed", true
	case *net.DNSError:
		return "SocketError", true
	case syscall.Errno:
		kind, ok := errnoKinds[e]
		return kind, ok
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return errorKind(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if kind, ok := errorKind(e); ok {
				return kind, true
			}
		}
	}
	return "", false
}

// ExitError ends kamal with a given status and an optional plain message.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d: %s", e.Code, e.Message) }

func (a *App) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kamal",
		Short:         "Deploy web apps anywhere, over SSH, with zero downtime",
		SilenceUsage:  true,
		SilenceErrors: true,
		// A word that is neither a command nor an alias (see expandAlias)
		// fails as in Thor, instead of with cobra's "unknown command".
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(args[0])
			}
			return nil
		},
		// Kamal prints its command list when called without a command.
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.CompletionOptions.DisableDefaultCmd = true
	f := root.PersistentFlags()
	g := &a.Globals
	f.BoolVarP(&g.Verbose, "verbose", "v", false, "Detailed logging")
	f.BoolVarP(&g.Quiet, "quiet", "q", false, "Minimal logging")
	f.StringVar(&g.Version, "version", "", "Run commands against a specific app version")
	f.BoolVarP(&g.Primary, "primary", "p", false, "Run commands only on primary host instead of all")
	f.StringSliceVarP(&g.Hosts, "hosts", "h", nil, "Run commands on these hosts instead of all (separate by comma, supports wildcards with *)")
	f.StringSliceVarP(&g.Roles, "roles", "r", nil, "Run commands on these roles instead of all (separate by comma, supports wildcards with *)")
	f.StringVarP(&g.ConfigFile, "config-file", "c", "config/deploy.yml", "Path to config file")
	f.StringVarP(&g.Destination, "destination", "d", "", "Specify destination to be used for config file (staging -> deploy.staging.yml)")
	f.BoolVarP(&g.SkipHooks, "skip-hooks", "H", false, "Don't run hooks")
	f.BoolVar(&g.LockWait, "lock-wait", false, "Wait for the deploy lock instead of failing when it is held")
	f.IntVar(&g.LockWaitTimeout, "lock-wait-timeout", 900, "Seconds to wait for the deploy lock")
	f.IntVar(&g.LockWaitInterval, "lock-wait-interval", 15, "Seconds between attempts to take the deploy lock")
	a.addProgressFlags(root)
	// --help only: -h belongs to --hosts, as in Kamal.
	root.PersistentFlags().Bool("help", false, "Show help for a command")

	cmds := a.commands()
	root.AddCommand(cmds...)
	root.SetHelpCommand(newHelpCommand(root))
	root.AddCommand(a.newCompletionCommand(root))
	a.registerCompletions(root)
	for _, c := range cmds {
		rejectUnknownSubcommands(c)
	}
	return root
}

// rejectUnknownSubcommands makes every command group (`kamal app nosuch`)
// fail on an unknown word as Thor does; leaf commands keep their own checks.
func rejectUnknownSubcommands(c *cobra.Command) {
	if !c.HasSubCommands() {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return unknownCommand(args[0])
		}
		return nil
	}
	for _, sub := range c.Commands() {
		rejectUnknownSubcommands(sub)
	}
}

// newHelpCommand is `kamal help [command...]`. Unlike cobra's default it
// fails (exit 1) on a command that does not exist, as Thor does.
func newHelpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Describe available commands or one specific command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return unknownCommand(strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// unknownCommand is Thor's error for a command that does not exist: a plain
// line on stderr (Thor's own errors get no "ERROR (...)" prefix), exit 1.
func unknownCommand(name string) error {
	return &ExitError{Code: 1, Message: fmt.Sprintf("Could not find command %q.", name)}
}

// expandAlias rewrites args when their first word is not a kamal command but
// an alias from the configuration (`aliases:`), as Kamal does.
func (a *App) expandAlias(root *cobra.Command, args []string) []string {
	if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' {
		return args
	}
	if c, _, err := root.Find(args[:1]); err == nil && c != root {
		return args
	}
	if args[0] == "help" || strings.HasPrefix(args[0], "__complete") {
		return args
	}
	expanded, ok := a.expandConfigAlias(args)
	if !ok {
		return args
	}
	return expanded
}

func (a *App) onClose(f func()) { a.closers = append(a.closers, f) }

func (a *App) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}
