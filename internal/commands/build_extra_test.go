package commands

import (
	"errors"
	"testing"
)

func TestClassicPlan(t *testing.T) {
	local := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: amd64, args: { A: b }, target: prod }\n"), "999", "amd64")
	p, err := local.ClassicPlan(true, false)
	if err != nil || p.DockerHost != "" {
		t.Fatalf("plan %+v, err %v", p, err)
	}
	dev, err := local.ClassicPlan(false, true)
	if err != nil {
		t.Fatal(err)
	}
	remote := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: amd64, remote: ssh://root@10.0.0.5, local: false }\n"), "999", "amd64")
	rp, err := remote.ClassicPlan(false, false)
	if err != nil || rp.DockerHost != "ssh://root@10.0.0.5" {
		t.Fatalf("remote plan %+v, err %v", rp, err)
	}
	check(t, []cmdCase{
		{"build", p.Build, `docker build -t dhh/app:999 -t dhh/app:latest --label service="app" --build-arg A="b" --file Dockerfile --target prod --no-cache . 2>&1`},
		{"push", p.Push, `docker push dhh/app:999 && docker push dhh/app:latest`},
		{"dev build", dev.Build, `docker build -t dhh/app:999-dirty -t dhh/app:latest-dirty --label service="app" --build-arg A="b" --file Dockerfile --target prod . 2>&1`},
		{"remote build", rp.Build, `docker build -t dhh/app:999 -t dhh/app:latest --label service="app" --file Dockerfile . 2>&1`},
		{"remote push", rp.Push, `docker push dhh/app:999 && docker push dhh/app:latest`},
		{"push output docker", local.PushOutput("docker", false), `docker buildx build --output=type=docker --platform linux/amd64 --builder kamal-local-docker-container -t dhh/app:999 -t dhh/app:latest --label service="app" --build-arg A="b" --file Dockerfile --target prod . 2>&1`},
		{"dev output registry", local.DevOutput("registry", false), `docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container -t dhh/app:999-dirty -t dhh/app:latest-dirty --label service="app" --build-arg A="b" --file Dockerfile --target prod . 2>&1`},
	})
	if dev.Push != nil {
		t.Errorf("dev builds are not pushed: %v", dev.Push)
	}

	needs := []struct{ name, builder, reason string }{
		{"multi-arch", "{ arch: [amd64, arm64] }", "a multi-arch build (amd64, arm64)"},
		{"hybrid", "{ arch: [amd64, arm64], remote: ssh://h }", "a remote builder"},
		{"remote multi-arch", "{ arch: [amd64, arm64], remote: ssh://h, local: false }", "a remote builder"},
		{"remote over tcp", "{ arch: arm64, remote: tcp://h:2375 }", "a remote builder"},
		{"remote secrets", "{ arch: arm64, remote: ssh://h, secrets: [TOKEN] }", "build secrets"},
		{"remote cache", "{ arch: arm64, remote: ssh://h, cache: { type: gha } }", "the build cache"},
		{"ssh", "{ arch: amd64, ssh: default }", "builder ssh"},
		{"sbom", "{ arch: amd64, sbom: true }", "provenance/sbom attestations"},
		{"cloud", "{ arch: amd64, driver: cloud org/b }", "a cloud builder"},
	}
	for _, tt := range needs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBuilder(loadYAML(t, bldYAML+"builder: "+tt.builder+"\n"), "999", "amd64").ClassicPlan(false, false)
			var nb *ErrNeedsBuildx
			if !errors.As(err, &nb) || nb.Reason != tt.reason {
				t.Fatalf("err = %v, want reason %q", err, tt.reason)
			}
		})
	}
}
