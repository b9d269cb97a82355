package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// parseGlobals runs args against a root whose commands record the globals
// they see, without doing anything else.
func parseGlobals(t *testing.T, args ...string) Globals {
	t.Helper()
	a := &App{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	root := a.newRootCommand()
	var seen *Globals
	root.AddCommand(&cobra.Command{Use: "probe", RunE: func(*cobra.Command, []string) error {
		g := a.Globals
		seen = &g
		return nil
	}})
	root.SetArgs(args)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	if err := root.Execute(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if seen == nil {
		t.Fatalf("%v: command did not run", args)
	}
	return *seen
}

func TestGlobalOptions(t *testing.T) {
	defaults := Globals{ConfigFile: "config/deploy.yml", LockWaitTimeout: 900, LockWaitInterval: 15}
	tests := []struct {
		args []string
		want func(g *Globals)
	}{
		{nil, func(g *Globals) {}},
		{[]string{"-h", "1.1.1.1,web-*"}, func(g *Globals) { g.Hosts = []string{"1.1.1.1", "web-*"} }},
		{[]string{"--hosts=a", "--hosts", "b"}, func(g *Globals) { g.Hosts = []string{"a", "b"} }},
		{[]string{"-r", "web,job*"}, func(g *Globals) { g.Roles = []string{"web", "job*"} }},
		{[]string{"--version=abc"}, func(g *Globals) { g.Version = "abc" }},
		{[]string{"--version", "abc"}, func(g *Globals) { g.Version = "abc" }},
		{[]string{"-v", "-p", "-H"}, func(g *Globals) { g.Verbose, g.Primary, g.SkipHooks = true, true, true }},
		{[]string{"--verbose", "--primary", "--skip-hooks", "--quiet"}, func(g *Globals) {
			g.Verbose, g.Primary, g.SkipHooks, g.Quiet = true, true, true, true
		}},
		{[]string{"-q"}, func(g *Globals) { g.Quiet = true }},
		{[]string{"-c", "other.yml", "-d", "staging"}, func(g *Globals) { g.ConfigFile, g.Destination = "other.yml", "staging" }},
		{[]string{"--config-file=x.yml", "--destination=prod"}, func(g *Globals) { g.ConfigFile, g.Destination = "x.yml", "prod" }},
		{[]string{"--lock-wait", "--lock-wait-timeout", "60", "--lock-wait-interval=2"}, func(g *Globals) {
			g.LockWait, g.LockWaitTimeout, g.LockWaitInterval = true, 60, 2
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			want := defaults
			tt.want(&want)
			// Global options work before and after the command.
			for _, args := range [][]string{append([]string{"probe"}, tt.args...), append(append([]string{}, tt.args...), "probe")} {
				if got := parseGlobals(t, args...); !reflect.DeepEqual(got, want) {
					t.Errorf("%v:\n got %+v\nwant %+v", args, got, want)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	// --help and `help` print the command list; -h is --hosts, not help.
	for _, args := range [][]string{{"--help"}, {"help"}, nil} {
		code, out, errs := inProject(t, nil, args...)
		if code != 0 || !strings.Contains(out, "\n  deploy ") || !strings.Contains(out, "-h, --hosts strings") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errs, out)
		}
	}
	code, _, errs := inProject(t, nil, "-h")
	if code != 1 || errs != "  ERROR (RuntimeError): flag needs an argument: 'h' in -h\n" {
		t.Errorf("-h alone: exit %d, stderr %q", code, errs)
	}
	// help CMD and CMD --help describe the command.
	for _, tt := range []struct {
		args  []string
		usage string
	}{
		{[]string{"help", "deploy"}, "kamal deploy [flags]"},
		{[]string{"deploy", "--help"}, "kamal deploy [flags]"},
		{[]string{"help", "app", "boot"}, "kamal app boot [flags]"},
		{[]string{"app", "boot", "--help"}, "kamal app boot [flags]"},
	} {
		code, out, errs := inProject(t, nil, tt.args...)
		if code != 0 || !strings.Contains(out, "Usage:\n  "+tt.usage+"\n") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", tt.args, code, errs, out)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "nosuch"}, "Could not find command \"nosuch\".\n"},
		{[]string{"help", "app", "nosuch"}, "Could not find command \"app nosuch\".\n"},
	} {
		code, _, errs := inProject(t, nil, tt.args...)
		if code != 1 || errs != tt.want {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errs, tt.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, _ := inProject(t, nil, "version")
	if code != 0 || out != KamalVersion+"\n" {
		t.Errorf("exit %d: %q", code, out)
	}
	// --version is the app version, not this binary's: `version` ignores it.
	code, out, _ = inProject(t, nil, "version", "--version", "abc")
	if code != 0 || out != KamalVersion+"\n" {
		t.Errorf("--version: exit %d: %q", code, out)
	}
	code, out, _ = inProject(t, nil, "version", "-v")
	if code != 0 || !strings.HasPrefix(out, KamalVersion+"\ngo: go1.") {
		t.Errorf("-v: exit %d: %q", code, out)
	}
}
