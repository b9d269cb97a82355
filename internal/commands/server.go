package commands

import "github.com/kamalgo/kamal/internal/config"

// EnsureRunDirectory creates .kamal in the login directory.
func EnsureRunDirectory() Cmd { return New("mkdir", "-p", config.DefaultRunDirectory) }

// The commands of `server bootstrap`, word for word as Kamal runs them.

// DockerInstalled succeeds when the docker CLI is present.
func DockerInstalled() Cmd { return New("docker", "-v") }

// DockerSuperuser succeeds when the user is root or may run usermod via sudo.
func DockerSuperuser() Cmd {
	return Any(New(`[ "${EUID:-$(id -u)}" -eq 0 ]`), New("sudo", "-nl", "usermod", ">/dev/null"))
}

// DockerInstall installs Docker with the official convenience script.
func DockerInstall() Cmd {
	return Pipe(
		New("sh", "-c", `'curl -fsSL https://get.docker.com || wget -O - https://get.docker.com || echo "exit 1"'`),
		New("sh"),
	)
}

// Root succeeds when the user is root.
func Root() Cmd { return New(`[ "${EUID:-$(id -u)}" -eq 0 ]`) }

// InDockerGroup succeeds when the user is in the docker group.
func InDockerGroup() Cmd {
	return Pipe(New("id", "-nG", `"${USER:-$(id -un)}"`), New("grep", "-qw", "docker"))
}

// AddToDockerGroup adds the user to the docker group through sudo.
func AddToDockerGroup() Cmd {
	return New("sudo", "-n", "usermod", "-aG", "docker", `"${USER:-$(id -un)}"`)
}

// RefreshSession ends the SSH session so the next one gets the new group.
func RefreshSession() Cmd { return New("kill", "-HUP", "$PPID") }
