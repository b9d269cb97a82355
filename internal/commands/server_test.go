package commands

import (
	"testing"

	"github.com/kamalgo/kamal/internal/shell"
)

func TestServerCommands(t *testing.T) {
	tests := []struct {
		name string
		cmd  Cmd
		want string
	}{
		// Kamal's own test strings for server bootstrap.
		{"installed", DockerInstalled(), "docker -v"},
		{"superuser", DockerSuperuser(), `[ "${EUID:-$(id -u)}" -eq 0 ] || sudo -nl usermod >/dev/null`},
		{"install", DockerInstall(), `/usr/bin/env sh -c 'curl -fsSL https://get.docker.com || wget -O - https://get.docker.com || echo "exit 1"' | sh`},
		{"root", Root(), `[ "${EUID:-$(id -u)}" -eq 0 ]`},
		{"in group", InDockerGroup(), `/usr/bin/env id -nG "${USER:-$(id -un)}" | grep -qw docker`},
		{"add to group", AddToDockerGroup(), `/usr/bin/env sudo -n usermod -aG docker "${USER:-$(id -un)}"`},
		{"refresh", RefreshSession(), `/usr/bin/env kill -HUP $PPID`},
		{"run directory", EnsureRunDirectory(), `/usr/bin/env mkdir -p .kamal`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shell.Command(tt.cmd...); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
