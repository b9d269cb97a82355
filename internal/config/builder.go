package config

import (
	"runtime"
	"slices"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The builder section: how the image is built (arch, remote builder,
// buildpacks, cache, args, secrets).

// Builder defaults.
const (
	DefaultBuilderDriver = "docker-container"
	DefaultDockerfile    = "Dockerfile"
)

// Builder is the builder section.
type Builder struct {
	Arch       []string // amd64 / arm64
	Remote     string   // ssh://... remote builder
	Local      bool     // default true
	Pack       *BuilderPack
	Cache      *BuilderCache
	Context    string // "" means: build from a git clone
	Dockerfile string // default Dockerfile
	Target     string
	Args       map[string]string
	ArgsOrder  []string
	Secrets    []string // secret names exported to the build
	SSH        string
	Driver     string // default docker-container
	Provenance string // "" unset; "true"/"false" or a spec such as mode=max
	SBOM       string // "" unset; "true"/"false" or a spec
	Raw        map[string]any
	contextSet bool
}

// BuilderPack configures Cloud Native Buildpacks builds.
type BuilderPack struct {
	Builder    string
	Buildpacks []string
}

// BuilderCache configures the build cache.
type BuilderCache struct {
	Type    string // gha or registry
	Options string
	Image   string // registry cache image; default <image>-build-cache
}

var builderSchema = []field{
	f("driver", tString),
	f("arch", tArch),
	f("remote", tString),
	f("local", tBool),
	h("pack", f("builder", tString), f("buildpacks", tStringArray)),
	h("cache", f("type", tString), f("options", tString), f("image", tString)),
	f("context", tString),
	f("dockerfile", tString),
	f("target", tString),
	f("args", tAnyHash),
	f("secrets", tStringArray),
	f("ssh", tString),
	f("provenance", tString),
	f("sbom", tBool),
}

// GitClone reports whether builds run from a fresh git clone (no context set).
func (b Builder) GitClone() bool { return !b.contextSet }

// ContextSet reports whether builder.context was given.
func (b Builder) ContextSet() bool { return b.contextSet }

// LocalArch is this machine's architecture in Docker's naming, which Kamal
// asks the local Docker for: the arch a hybrid builder builds locally.
func LocalArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "amd64"
}

// LocalArches are the arches built on this machine (given its arch): all of
// them without a remote, those matching it with one, none when local
// builds are off.
func (b Builder) LocalArches(localArch string) []string {
	switch {
	case !b.Local:
		return nil
	case b.Remote == "":
		return b.Arch
	}
	var out []string
	for _, a := range b.Arch {
		if a == localArch {
			out = append(out, a)
		}
	}
	return out
}

// RemoteArches are the arches the remote builder builds: the ones not built
// locally, when a remote is set.
func (b Builder) RemoteArches(localArch string) []string {
	if b.Remote == "" {
		return nil
	}
	local := b.LocalArches(localArch)
	var out []string
	for _, a := range b.Arch {
		if !slices.Contains(local, a) {
			out = append(out, a)
		}
	}
	return out
}

// validateBuilder checks the builder section, which is required (for its
// arch): n is never nil.
func (v *validator) validateBuilder(n *rubyyaml.Node) {
	v.withContext("builder", func() {
		v.validateAgainst(n, builderSchema, false)
		if cache := n.Get("cache"); cache != nil && cache.Kind == rubyyaml.Map {
			if t := cache.Get("type"); t.Present() {
				if s := t.Text(); s != "gha" && s != "registry" {
					v.fail(t, "Invalid cache type: "+s)
				}
			}
		}
		if !n.Get("arch").Present() {
			v.fail(n, "Builder arch not set")
		}
		if arch := n.Get("arch"); n.Has("pack") && arch.Kind == rubyyaml.Seq && len(arch.Items) > 1 {
			v.fail(arch, "buildpacks only support building for one arch")
		}
		if l := n.Get("local"); l != nil && l.Kind == rubyyaml.Bool && !l.Bool && !n.Get("remote").Present() {
			v.fail(l, "Cannot disable local builds, no remote is set")
		}
	})
}

func buildBuilder(n *rubyyaml.Node) Builder {
	b := Builder{
		Remote:     n.Get("remote").Text(),
		Local:      true,
		Dockerfile: strOr(n.Get("dockerfile"), DefaultDockerfile),
		Target:     n.Get("target").Text(),
		SSH:        n.Get("ssh").Text(),
		Driver:     strOr(n.Get("driver"), DefaultBuilderDriver),
		Secrets:    stringList(n.Get("secrets")),
		Raw:        rawMap(n),
	}
	if a := n.Get("arch"); a != nil {
		if a.Kind == rubyyaml.Seq {
			b.Arch = stringList(a)
		} else if !a.IsNull() {
			b.Arch = []string{a.Text()}
		}
	}
	if l := n.Get("local"); l != nil && l.Kind == rubyyaml.Bool {
		b.Local = l.Bool
	}
	if ctx := n.Get("context"); !ctx.IsNull() {
		b.Context = ctx.Text()
		b.contextSet = true
	}
	if p := n.Get("pack"); p != nil && p.Kind == rubyyaml.Map {
		b.Pack = &BuilderPack{Builder: p.Get("builder").Text(), Buildpacks: stringList(p.Get("buildpacks"))}
	}
	if cn := n.Get("cache"); cn != nil && cn.Kind == rubyyaml.Map {
		b.Cache = &BuilderCache{Type: cn.Get("type").Text(), Options: cn.Get("options").Text(), Image: cn.Get("image").Text()}
	}
	b.Args, b.ArgsOrder = stringMap(n.Get("args"))
	if pv := n.Get("provenance"); !pv.IsNull() {
		b.Provenance = pv.Text()
	}
	if sb := n.Get("sbom"); !sb.IsNull() {
		b.SBOM = sb.Text()
	}
	return b
}
