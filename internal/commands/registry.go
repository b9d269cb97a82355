package commands

import (
	"strconv"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// LocalRegistryContainer is the container name of the local registry Kamal
// runs for `registry: { server: localhost:<port> }`.
const LocalRegistryContainer = "kamal-docker-registry"

// LocalRegistryImage is the image of the local registry.
const LocalRegistryImage = "registry:3"

// Registry builds the registry commands for one registry section (the root
// one or an accessory's).
type Registry struct {
	reg config.Registry
}

// NewRegistry returns the builder for reg.
func NewRegistry(reg config.Registry) *Registry { return &Registry{reg: reg} }

// Login is a docker login command and the password to feed on its stdin.
// Kamal passes the password with -p (visible in the process list); we use
// --password-stdin instead (see docs/compatibility.md).
type Login struct {
	Cmd   Cmd
	Stdin Secret
}

// Login returns the login command for the resolved username and password.
// It returns ok=false for a local registry, which needs no login.
func (r *Registry) Login(username, password string) (l Login, ok bool) {
	if r.reg.Local {
		return Login{}, false
	}
	c := New("docker", "login")
	if r.reg.Server != "" {
		c = c.Quoted(r.reg.Server)
	}
	c = append(c, "-u", shell.Escape(username), "--password-stdin")
	return Login{Cmd: c, Stdin: Secret(password)}, true
}

// Logout is `docker logout [server]`.
func (r *Registry) Logout() Cmd {
	c := New("docker", "logout")
	if r.reg.Server != "" {
		c = c.Quoted(r.reg.Server)
	}
	return c
}

// LocalRun starts the local registry, creating it when missing:
// `docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:<port>:5000 …`.
func (r *Registry) LocalRun() Cmd {
	port := strconv.Itoa(r.reg.LocalPort)
	return Any(
		New("docker", "start", LocalRegistryContainer),
		New("docker", "run", "--detach", "-p", "127.0.0.1:"+port+":5000", "--name", LocalRegistryContainer, LocalRegistryImage),
	)
}

// LocalRemove stops and removes the local registry.
func (r *Registry) LocalRemove() Cmd {
	return Combine(
		New("docker", "stop", LocalRegistryContainer),
		New("docker", "rm", LocalRegistryContainer),
	)
}
