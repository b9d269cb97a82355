package commands

import (
	"strconv"

	"github.com/kamalgo/kamal/internal/config"
)

// Prune builds `kamal prune` commands.
type Prune struct{ cfg *config.Config }

// NewPrune returns the prune builder.
func NewPrune(cfg *config.Config) *Prune { return &Prune{cfg: cfg} }

func (p *Prune) serviceFilter() Cmd { return Cmd{"--filter", q("label=service=" + p.cfg.Service)} }

// DanglingImages prunes the service's dangling images.
func (p *Prune) DanglingImages() Cmd {
	return append(New("docker", "image", "prune", "--force"), p.serviceFilter()...)
}

// TaggedImages removes the service's tagged images no container uses,
// keeping the latest tag and in-use untagged images.
func (p *Prune) TaggedImages() Cmd {
	// The grep pattern is a double-quoted word on purpose: $(…) must run on
	// the host. Its fixed parts are quoted for a double-quoted context.
	active := "$(docker container ls -a --format '{{.Image}}\\|' --filter " + q("label=service="+p.cfg.Service) +
		" | tr -d '\\n')" + inDouble(p.cfg.LatestImage()) + "\\|" + inDouble(p.cfg.Repository()) + ":<none>"
	return Pipe(
		append(append(New("docker", "image", "ls"), p.serviceFilter()...), "--format", "'{{.ID}} {{.Repository}}:{{.Tag}}'"),
		New("grep", "-v", "-w", `"`+active+`"`),
		Cmd{"while read image tag; do docker rmi $tag; done"},
	)
}

// AppContainers removes stopped app containers beyond the newest retain.
func (p *Prune) AppContainers(retain int) Cmd {
	ps := append(append(New("docker", "ps", "-q", "-a"), p.serviceFilter()...),
		"--filter", "status=created", "--filter", "status=exited", "--filter", "status=dead")
	return Pipe(ps, New("tail", "-n", "+"+strconv.Itoa(retain+1)), Cmd{"while read container_id; do docker rm $container_id; done"})
}

// inDouble escapes s for use inside a double-quoted shell word.
func inDouble(s string) string {
	e := escapeMsg(s)
	return e[1 : len(e)-1]
}
