package commands

import (
	"github.com/kamalgo/kamal/internal/config"
)

// Pull builds the commands that fetch the app image on app hosts.
type Pull struct {
	cfg     *config.Config
	version string
}

// NewPull returns the pull builder for cfg at version.
func NewPull(cfg *config.Config, version string) *Pull { return &Pull{cfg: cfg, version: version} }

func (p *Pull) image() string { return p.cfg.Repository() + ":" + p.version }

// Image is the image pulled.
func (p *Pull) Image() string { return p.image() }

// MissingLabel is ValidateImage's message for an image without the label.
func (p *Pull) MissingLabel() string { return "Image " + p.image() + " is missing the 'service' label" }

// RemoveImage drops a stale local tag first so the pull really fetches
// (`docker image rm --force <image>`; its failure is ignored).
func (p *Pull) RemoveImage() Cmd { return New("docker", "image", "rm", "--force").Quoted(p.image()) }

// Pull is `docker pull <image>`.
func (p *Pull) Pull() Cmd { return New("docker", "pull").Quoted(p.image()) }

// ValidateImage fails unless the image carries the service label:
// `docker inspect -f '{{ .Config.Labels.service }}' <img> | grep -x <svc> || (echo "…" && exit 1)`.
func (p *Pull) ValidateImage() Cmd {
	img := p.image()
	msg := p.MissingLabel()
	return Pipe(
		New("docker", "inspect", "-f", "'{{ .Config.Labels.service }}'").Quoted(img),
		Any(
			New("grep", "-x").Quoted(p.cfg.Service),
			Cmd{"(echo " + escapeMsg(msg) + " && exit 1)"},
		),
	)
}

// FirstMirror prints the host's first registry mirror, if any.
func (p *Pull) FirstMirror() Cmd {
	return New("docker", "info", "--format", "'{{index .RegistryConfig.Mirrors 0}}'")
}

// escapeMsg double-quotes a message for echo the way Kamal writes it
// ("…"), escaping what a double-quoted string would expand.
func escapeMsg(s string) string {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\\', '$', '`':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
