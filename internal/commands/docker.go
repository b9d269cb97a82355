package commands

// Docker builds host-level docker commands used outside any app or
// accessory (install checks, the shared network).
type Docker struct{}

// Installed checks the docker client: `docker -v`.
func (Docker) Installed() Cmd { return New("docker", "-v") }

// Running checks the docker daemon: `docker version`.
func (Docker) Running() Cmd { return New("docker", "version") }

// CreateNetwork is `docker network create kamal`.
func (Docker) CreateNetwork() Cmd { return CreateNetwork() }
