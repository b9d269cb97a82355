package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/deploy"
)

const cliAccessoryYAML = cliBaseYAML + `accessories:
  mysql:
    image: mysql:8.0
    host: 1.1.1.1
  redis:
    image: redis:7
    role: web
`

func TestAccessoryCommandsListed(t *testing.T) {
	code, out, errs := inProject(t, map[string]string{"config/deploy.yml": cliAccessoryYAML}, "accessory", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"boot", "details", "exec", "logs", "reboot", "remove", "restart", "start", "stop", "upgrade"} {
		if !strings.Contains(out, "\n  "+name+" ") {
			t.Errorf("accessory help lacks %s:\n%s", name, out)
		}
	}
	for _, hidden := range []string{"upload", "directories", "pull_image", "remove_container", "remove_image", "remove_service_directory"} {
		if strings.Contains(out, "\n  "+hidden+" ") {
			t.Errorf("hidden command %s listed:\n%s", hidden, out)
		}
	}
}

// These fail on their arguments, before any connection is made (the
// hosts of the config do not exist).
func TestAccessoryArgumentErrors(t *testing.T) {
	const unknown = "No accessory by the name of 'nope' (options: mysql and redis)"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"accessory", "boot", "nope"}, unknown},
		{[]string{"accessory", "reboot", "nope"}, unknown},
		{[]string{"accessory", "details", "nope"}, unknown},
		{[]string{"accessory", "logs", "nope"}, unknown},
		{[]string{"accessory", "exec", "nope", "ls"}, unknown},
		{[]string{"accessory", "remove", "nope"}, unknown}, // before the question
		{[]string{"accessory", "upgrade", "nope", "-y"}, unknown},
		{[]string{"accessory", "remove_image", "nope"}, unknown},
		{[]string{"accessory", "exec", "mysql"}, "No command provided. You must specify a command to execute."},
		{[]string{"accessory", "boot"}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := inProject(t, map[string]string{"config/deploy.yml": cliAccessoryYAML}, tt.args...)
			if code == 0 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q, want %q (stdout %q)", code, errs, tt.want, out)
			}
		})
	}
}

func TestAccessoryRemoveAndUpgradeAsk(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"accessory", "remove", "all"}, "This will remove all containers, images and data directories for all. Are you sure? [y, N] (N) Aborted"},
		{[]string{"accessory", "upgrade", "mysql", "--rolling"}, "This will restart all accessories [y, N] (N) Aborted"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			// stdin is empty: the answer is N, nothing runs.
			code, out, errs := inProject(t, map[string]string{"config/deploy.yml": cliAccessoryYAML}, tt.args...)
			if code != 0 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
}

func TestLeadingExecFlags(t *testing.T) {
	tests := []struct {
		words       []string
		rest        []string
		interactive bool
		reuse       bool
	}{
		{[]string{"ls", "-la"}, []string{"ls", "-la"}, false, false},
		{[]string{"--reuse", "ls", "-i"}, []string{"ls", "-i"}, false, true},
		{[]string{"-i", "--reuse", "bash"}, []string{"bash"}, true, true},
		{[]string{"--interactive"}, []string{}, true, false},
	}
	for _, tt := range tests {
		var o deploy.AccessoryExecOptions
		rest := leadingExecFlags(tt.words, &o)
		if !slices.Equal(rest, tt.rest) || o.Interactive != tt.interactive || o.Reuse != tt.reuse {
			t.Errorf("%q: rest %q %+v", tt.words, rest, o)
		}
	}
}
