package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/deploy"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/secrets"
)

// failWith runs `kamal fail` through Main, with a command that returns err.
func failWith(t *testing.T, err error) (code int, stderr string) {
	t.Helper()
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	root := app.newRootCommand()
	root.AddCommand(&cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error { return err }})
	code = app.run(root, []string{"fail"})
	return code, errb.String()
}

func TestErrorKinds(t *testing.T) {
	failed := func(host string) *remote.CommandError {
		return &remote.CommandError{Host: host, Command: "false", ExitStatus: 1}
	}
	const failedMsg = "false exit status: 1\nfalse stdout: Nothing written\nfalse stderr: Nothing written"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain error", errors.New("boom"), "  ERROR (RuntimeError): boom\n"},
		{"config", &config.Error{File: "config/deploy.yml", Line: 3, Message: "unknown key: x"},
			"  ERROR (Kamal::ConfigurationError): config/deploy.yml:3: unknown key: x\n"},
		{"yaml", &config.YAMLError{File: "config/deploy.yml", Line: 2, Column: 1, Message: "bad"},
			"  ERROR (Psych::SyntaxError): config/deploy.yml:2: (<unknown>): bad at line 2 column 1\n"},
		{"missing secret", &secrets.NotFoundError{Name: "X", Files: []string{".kamal/secrets"}},
			"  ERROR (Kamal::ConfigurationError): Secret 'X' not found in .kamal/secrets\n"},
		{"lock", &deploy.LockError{Msg: "Deploy lock found."}, "  ERROR (Kamal::Cli::LockError): Deploy lock found.\n"},
		{"hook", &deploy.HookError{Hook: "pre-deploy", Err: failed("localhost")},
			"  ERROR (Kamal::Cli::HookError): Hook `pre-deploy` failed:\n" + failedMsg + "\n"},
		{"argument", &deploy.ArgumentError{Msg: "No --roles match for x"}, "  ERROR (ArgumentError): No --roles match for x\n"},
		{"boot", &deploy.BootError{Msg: "unhealthy"}, "  ERROR (Kamal::Cli::BootError): unhealthy\n"},
		{"healthcheck", &deploy.HealthcheckError{Msg: "unhealthy"}, "  ERROR (Kamal::Cli::Healthcheck::Error): unhealthy\n"},
		{"dependency", &deploy.DependencyError{Msg: "Docker is not installed locally"},
			"  ERROR (Kamal::Cli::DependencyError): Docker is not installed locally\n"},
		{"builder", &deploy.BuilderError{Msg: "no builder"}, "  ERROR (Kamal::Commands::Builder::Base::BuilderError): no builder\n"},
		{"command failed", failed("1.1.1.1"), "  ERROR (SSHKit::Command::Failed): " + failedMsg + "\n"},
		// bin/kamal prints the class of the cause of SSHKit::Runner::ExecuteError.
		{"one host", &remote.HostError{Host: "1.1.1.1", Err: failed("1.1.1.1")},
			"  ERROR (SSHKit::Command::Failed): Exception while executing on host 1.1.1.1: " + failedMsg + "\n"},
		{"host, cause with a class", &remote.HostError{Host: "1.1.1.1", Err: &deploy.LockError{Msg: "x"}},
			"  ERROR (Kamal::Cli::LockError): Exception while executing on host 1.1.1.1: x\n"},
		{"several hosts: the first host's cause", remote.HostErrors{
			{Host: "1.1.1.1", Err: errors.New("boom")},
			{Host: "1.1.1.2", Err: failed("1.1.1.2")},
		}, "  ERROR (RuntimeError): Exceptions on 2 hosts:\nException while executing on host 1.1.1.1: boom\n" +
			"Exception while executing on host 1.1.1.2: " + failedMsg + "\n"},
		{"host unwrapped through context", fmt.Errorf("app boot: %w", &remote.HostError{Host: "h", Err: failed("h")}),
			"  ERROR (SSHKit::Command::Failed): app boot: Exception while executing on host h: " + failedMsg + "\n"},
		{"host, cause without a class", &remote.HostError{Host: "h", Err: errors.New("authentication failed")},
			"  ERROR (RuntimeError): Exception while executing on host h: authentication failed\n"},
		{"errno", fmt.Errorf("connecting to h:22: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}),
			"  ERROR (Errno::ECONNREFUSED): connecting to h:22: dial tcp: connection refused\n"},
		{"dns", fmt.Errorf("connecting: %w", &net.DNSError{Err: "no such host", Name: "web1"}),
			"  ERROR (SocketError): connecting: lookup web1: no such host\n"},
		{"ssh authentication", &remote.HostError{Host: "h", Err: &remote.AuthenticationError{User: "root", Host: "h"}},
			"  ERROR (Net::SSH::AuthenticationFailed): Exception while executing on host h: Authentication failed for user root@h\n"},
		{"host key", &remote.HostKeyChangedError{Host: "h", File: "kh", Line: 1, Fingerprint: "SHA256:x"},
			"  ERROR (Net::SSH::HostKeyMismatch): " + (&remote.HostKeyChangedError{Host: "h", File: "kh", Line: 1, Fingerprint: "SHA256:x"}).Error() + "\n"},
		{"outermost class wins", &deploy.HookError{Hook: "pre-build", Err: &deploy.LockError{Msg: "x"}},
			"  ERROR (Kamal::Cli::HookError): Hook `pre-build` failed:\nx\n"},
		{"joined errors: first with a class", errors.Join(errors.New("a"), &deploy.BootError{Msg: "b"}),
			"  ERROR (Kamal::Cli::BootError): a\nb\n"},
		// Not a class of its own; commands turn it into their exit status.
		{"exit status", &deploy.ExitStatusError{Status: 7}, "  ERROR (RuntimeError): exit status 7\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := failWith(t, tt.err)
			if code != 1 || stderr != tt.want {
				t.Errorf("exit %d, stderr\n got %q\nwant %q", code, stderr, tt.want)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	const want = "Could not find command \"nosuch\".\n"
	tests := []struct {
		name  string
		files map[string]string
		args  []string
	}{
		// The config is read to look for an alias; failing to read it must
		// not hide that the word is unknown.
		{"no config file", nil, []string{"nosuch"}},
		{"no config file, with args", nil, []string{"nosuch", "-c", "missing.yml", "x"}},
		{"invalid config", map[string]string{"config/deploy.yml": "service: app\n\tbad: indent\n"}, []string{"nosuch"}},
		{"invalid config values", map[string]string{"config/deploy.yml": cliBaseYAML + "colour: blue\n"}, []string{"nosuch"}},
		{"not an alias", map[string]string{"config/deploy.yml": cliBaseYAML + "aliases:\n  cfg: config\n"}, []string{"nosuch"}},
		{"flags first", nil, []string{"-c", "other.yml", "nosuch"}},
		{"unknown subcommand", nil, []string{"app", "nosuch"}},
		{"unknown subcommand with args", map[string]string{"config/deploy.yml": cliBaseYAML}, []string{"lock", "nosuch", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := inProject(t, tt.files, tt.args...)
			if code != 1 || errs != want || out != "" {
				t.Errorf("exit %d, stdout %q, stderr\n got %q\nwant %q", code, out, errs, want)
			}
		})
	}
	// An alias is still found, and a command group alone still prints its help.
	code, out, errs := inProject(t, map[string]string{"config/deploy.yml": cliBaseYAML + "aliases:\n  cfg: config --version 1\n"}, "cfg")
	if code != 0 || !strings.Contains(out, ":version: '1'\n") {
		t.Errorf("alias: exit %d, stderr %q", code, errs)
	}
	code, out, errs = inProject(t, nil, "app")
	if code != 0 || !strings.Contains(out, "kamal app [command]") {
		t.Errorf("app: exit %d, stderr %q, stdout %q", code, errs, out)
	}
}
