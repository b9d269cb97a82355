package cli

import (
	"strings"
	"testing"
)

func TestDeployCommandsListed(t *testing.T) {
	code, out, _ := inProject(t, nil, "help")
	if code != 0 {
		t.Fatalf("help exit %d", code)
	}
	for _, c := range []string{"deploy", "redeploy", "setup", "rollback", "remove", "details", "prune", "proxy", "app"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, out)
		}
	}
}

func TestDeployArgumentErrors(t *testing.T) {
	files := map[string]string{"config/deploy.yml": cliBaseYAML}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"prune", "containers", "--retain", "0"}, "  ERROR (ArgumentError): retain must be at least 1\n"},
		{[]string{"rollback", "v1", "v2"}, "accepts at most 1 arg(s), received 2"},
		{[]string{"deploy", "extra"}, `unknown command "extra"`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := inProject(t, files, tt.args...)
			if code == 0 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q, want %q (stdout %q)", code, errs, tt.want, out)
			}
		})
	}
}

// Without -y and with no answer on stdin, remove and proxy reboot abort
// before connecting anywhere (the hosts do not exist).
func TestConfirmationAborts(t *testing.T) {
	files := map[string]string{"config/deploy.yml": cliBaseYAML}
	for _, tt := range []struct {
		args     []string
		question string
	}{
		{[]string{"remove"}, "This will remove all containers and images. Are you sure? [y, N] (N) Aborted\n"},
		{[]string{"proxy", "reboot"}, "This will cause a brief outage on each host. Are you sure? [y, N] (N) Aborted\n"},
	} {
		code, out, errs := inProject(t, files, tt.args...)
		if code != 0 || out != tt.question {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tt.args, code, out, errs)
		}
	}
}
