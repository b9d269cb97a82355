// Package cli defines the kamal command line: it parses flags, calls one
// orchestration and prints its result. It holds no deploy logic of its own.
package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
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
}

// App is the state shared by the commands of one kamal invocation.
type App struct {
	Globals Globals
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer

	// state owned by other files of this package (lazy config, runner...)
	lazy lazyState
}

// commandFactories holds the constructors of the top-level commands. Each
// file of this package registers its own commands from init, so command
// groups live in separate files that never edit a shared list.
var commandFactories []func(*App) *cobra.Command

func register(f func(*App) *cobra.Command) { commandFactories = append(commandFactories, f) }

// KindError lets an error name its kind in the `ERROR (<Kind>)` line.
type KindError interface {
	error
	Kind() string
}

// Main runs kamal with args and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &App{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	root := app.newRootCommand()
	root.SetArgs(app.expandAlias(root, args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	// Redact with the run's secrets before close forgets them: an error
	// may quote a command or output that holds one.
	redact := app.redactor()
	app.close()
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Message != "" {
			fmt.Fprintln(stderr, redact(exit.Message))
		}
		return exit.Code
	}
	fmt.Fprintf(stderr, "  ERROR (%s): %s\n", ErrorKind(err), redact(err.Error()))
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
	case *remote.HostKeyChangedError:
		return "Net::SSH::HostKeyMismatch", true
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
	// --help only: -h belongs to --hosts, as in Kamal.
	root.PersistentFlags().Bool("help", false, "Show help for a command")

	cmds := make([]*cobra.Command, 0, len(commandFactories))
	for _, f := range commandFactories {
		cmds = append(cmds, f(a))
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	root.SetHelpCommand(newHelpCommand(root))
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
	if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' || resolveAlias == nil {
		return args
	}
	if c, _, err := root.Find(args[:1]); err == nil && c != root {
		return args
	}
	if args[0] == "help" {
		return args
	}
	expanded, ok := resolveAlias(a, args)
	if !ok {
		return args
	}
	return expanded
}

// resolveAlias is set by the configuration file of this package; it returns
// the expanded arguments for an alias, or false when args[0] is no alias.
var resolveAlias func(a *App, args []string) ([]string, bool)

// lazyState holds resources that are created on first use and released by close.
type lazyState struct {
	closers []func()
}

func (a *App) onClose(f func()) { a.lazy.closers = append(a.lazy.closers, f) }

func (a *App) close() {
	for i := len(a.lazy.closers) - 1; i >= 0; i-- {
		a.lazy.closers[i]()
	}
	a.lazy.closers = nil
}

// stderrIsTerminal reports whether stderr is an interactive terminal.
func stderrIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
