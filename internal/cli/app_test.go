package cli

import (
	"strings"
	"testing"
)

func TestAppOpsCommandsListed(t *testing.T) {
	code, out, errs := inProject(t, map[string]string{"config/deploy.yml": cliBaseYAML}, "app", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"boot", "containers", "details", "exec", "images", "live", "logs", "maintenance", "remove", "stale_containers", "start", "stop", "version"} {
		if !strings.Contains(out, "\n  "+name+" ") {
			t.Errorf("app help lacks %s:\n%s", name, out)
		}
	}
	for _, hidden := range []string{"remove_container", "remove_images", "remove_app_directories"} {
		if strings.Contains(out, hidden) {
			t.Errorf("hidden command %s listed:\n%s", hidden, out)
		}
	}
}

// These fail on their arguments, before any connection is made.
func TestAppOpsArgumentErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"app", "exec", "--detach", "--reuse", "env"}, "ERROR (ArgumentError): Detach is not compatible with reuse"},
		{[]string{"app", "exec", "--detach", "-i", "--reuse", "env"}, "ERROR (ArgumentError): Detach is not compatible with interactive or reuse"},
		{[]string{"app", "exec"}, "ERROR (ArgumentError): No command provided. You must specify a command to execute."},
		{[]string{"app", "exec", "-e", "NOVALUE", "env"}, `invalid --env "NOVALUE"`},
		{[]string{"app", "maintenance", "--drain-timeout", "-3"}, "drain timeout must not be negative"},
		{[]string{"app", "remove_container"}, "accepts 1 arg(s), received 0"},
		{[]string{"app", "logs", "extra"}, `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := inProject(t, map[string]string{"config/deploy.yml": cliBaseYAML}, tt.args...)
			if code == 0 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q, want %q (stdout %q)", code, errs, tt.want, out)
			}
		})
	}
}
