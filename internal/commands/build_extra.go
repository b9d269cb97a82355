package commands

import "strings"

// PushOutput is Push with another --output type (`kamal build push
// --output=<type>`).
func (b *Builder) PushOutput(output string, noCache bool) Cmd {
	if b.kind == BuilderPack {
		return b.packBuild(output == "registry")
	}
	return b.buildx(output, false, noCache)
}

// DevOutput is Dev with another --output type.
func (b *Builder) DevOutput(output string, noCache bool) Cmd {
	if b.kind == BuilderPack {
		return b.packBuild(false)
	}
	return b.buildx(output, true, noCache)
}

// ClassicPlan is how a build runs without the buildx plugin.
type ClassicPlan struct {
	Build Cmd // docker build …
	Push  Cmd // docker push … && docker push … (nil for dev builds)
	// DockerHost is the remote builder's daemon (ssh://…) the build and
	// push run against, "" for the local daemon.
	DockerHost string
}

// ClassicPlan is the buildx-free build: `docker build` tagged as buildx
// would tag it, then `docker push` of both tags (dev builds: `-dirty`
// tags, no push). A remote builder of a single arch, with no local arch,
// builds on the remote daemon through DOCKER_HOST=ssh://… (the classic
// builder's way to use a remote Docker). Anything else that needs BuildKit
// fails with *ErrNeedsBuildx.
func (b *Builder) ClassicPlan(noCache, dev bool) (ClassicPlan, error) {
	var p ClassicPlan
	if b.kind == BuilderPack {
		return p, &ErrNeedsBuildx{Reason: "a pack build"} // never asked: pack needs no buildx
	}
	if b.kind == BuilderRemote && len(b.b.Arch) == 1 && strings.HasPrefix(b.b.Remote, "ssh://") {
		p.DockerHost = b.b.Remote
	} else if err := b.classicSupported(); err != nil {
		return p, err
	}
	if err := b.classicOptionsSupported(); err != nil {
		return p, err
	}
	p.Build = b.withBuildArgs(New("docker", "build"), dev, false, noCache)
	if !dev {
		t := b.tags(false)
		p.Push = Combine(New("docker", "push").Quoted(t[0]), New("docker", "push").Quoted(t[1]))
	}
	return p, nil
}

// classicOptionsSupported rejects build options the classic builder lacks.
// classicSupported ends with it; ClassicPlan also calls it on its own for
// the ssh:// remote builder that classicSupported would reject.
func (b *Builder) classicOptionsSupported() error {
	need := func(r string) error { return &ErrNeedsBuildx{Reason: r} }
	switch {
	case b.b.Cache != nil:
		return need("the build cache")
	case len(b.b.Secrets) > 0:
		return need("build secrets")
	case b.b.SSH != "":
		return need("builder ssh")
	case b.b.Provenance != "" || b.b.SBOM != "":
		return need("provenance/sbom attestations")
	}
	return nil
}
