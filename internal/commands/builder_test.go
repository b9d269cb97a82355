package commands

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/shell"
)

const bldYAML = "service: app\nimage: dhh/app\nservers: [1.1.1.1]\nregistry: { username: dhh, password: secret }\n"

func TestBuilderKinds(t *testing.T) {
	tests := []struct {
		name, builder, localArch string
		kind                     BuilderKind
		builderName              string
	}{
		{"local", "{ arch: amd64 }", "amd64", BuilderLocal, "kamal-local-docker-container"},
		{"local multi", "{ arch: [amd64, arm64] }", "amd64", BuilderLocal, "kamal-local-docker-container"},
		{"remote only", "{ arch: arm64, remote: ssh://app@host }", "amd64", BuilderRemote, "kamal-remote-ssh---app-host"},
		{"remote with local disabled", "{ arch: amd64, remote: ssh://app@host, local: false }", "amd64", BuilderRemote, "kamal-remote-ssh---app-host"},
		{"remote arch is local", "{ arch: amd64, remote: ssh://app@host }", "amd64", BuilderLocal, "kamal-local-docker-container"},
		{"hybrid", "{ arch: [amd64, arm64], remote: ssh://app@host }", "amd64", BuilderHybrid, "kamal-hybrid-docker-container-ssh---app-host"},
		{"pack", "{ arch: amd64, pack: { builder: heroku/builder:24, buildpacks: [heroku/ruby] } }", "amd64", BuilderPack, "heroku/builder:24"},
		{"cloud", "{ arch: amd64, driver: cloud docker/builder }", "amd64", BuilderCloud, "cloud-docker-builder"},
		{"docker driver", "{ arch: amd64, driver: docker }", "amd64", BuilderLocal, "kamal-local-docker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(loadYAML(t, bldYAML+"builder: "+tt.builder+"\n"), "999", tt.localArch)
			if b.Kind() != tt.kind || b.Name() != tt.builderName {
				t.Errorf("kind %s name %s, want %s %s", b.Kind(), b.Name(), tt.kind, tt.builderName)
			}
		})
	}
}

func TestBuilderRemoteAndHybrid(t *testing.T) {
	hybrid := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: [amd64, arm64], remote: ssh://app@host }\n"), "999", "amd64")
	n := "kamal-hybrid-docker-container-ssh---app-host"
	check(t, []cmdCase{
		{"hybrid create", hybrid.Create(), `docker buildx create --platform linux/amd64 --name ` + n + ` --driver=docker-container && docker context create ` + n + `-context --description '` + n + ` host' --docker 'host=ssh://app@host' && docker buildx create --platform linux/arm64 --append --name ` + n + ` ` + n + `-context`},
		{"hybrid inspect", hybrid.Inspect(), `docker buildx inspect ` + n + ` | grep -q Endpoint:.*` + n + `-context && docker context inspect ` + n + `-context --format '{{.Endpoints.docker.Host}}' | grep -xq ssh://app@host || (echo no compatible builder && exit 1)`},
		{"hybrid remove", hybrid.Remove(), `docker context rm ` + n + `-context ; docker buildx rm ` + n},
		{"hybrid push", hybrid.Push(false), `docker buildx build --output=type=registry --platform linux/amd64,linux/arm64 --builder ` + n + ` -t dhh/app:999 -t dhh/app:latest --label service="app" --file Dockerfile . 2>&1`},
	})
	if env := hybrid.Env(); len(env) != 1 || env[0].Key != "BUILDKIT_NO_CLIENT_TOKEN" || env[0].Value != "1" {
		t.Errorf("env %v", env)
	}

	remote := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: arm64, remote: ssh://app@host }\n"), "999", "amd64")
	r := "kamal-remote-ssh---app-host"
	check(t, []cmdCase{
		{"remote create", remote.Create(), `docker context create ` + r + `-context --description '` + r + ` host' --docker 'host=ssh://app@host' ; docker buildx create --name ` + r + ` ` + r + `-context`},
		{"remote info", remote.Info(), `docker context ls ; docker buildx ls`},
	})

	local := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: amd64 }\n"), "999", "amd64")
	if local.Env() != nil {
		t.Errorf("local builds need no env")
	}
}

func TestBuilderOptionsOrder(t *testing.T) {
	cfg := load(t, "full/deploy.yml", "")
	b := NewBuilder(cfg, "999", "amd64")
	n := "kamal-hybrid-docker-container-ssh---root-192-168-0-1"
	check(t, []cmdCase{
		{"push all options", b.Push(true), `docker buildx build --output=type=registry --platform linux/amd64,linux/arm64 --builder ` + n + ` -t registry.example.com:5000/dhh/app:999 -t registry.example.com:5000/dhh/app:latest --cache-to type=registry,ref=registry.example.com:5000/dhh/app-build-cache,mode=max --cache-from type=registry,ref=registry.example.com:5000/dhh/app-build-cache --label service="app" --build-arg RUBY_VERSION="3.3.0" --build-arg NOTE="it's \$HOME" --secret id="GITHUB_TOKEN" --file Dockerfile.prod --target production --ssh default --provenance false --sbom true --no-cache build 2>&1`},
	})
}

func TestBuilderGHACacheAndDockerDriver(t *testing.T) {
	b := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: amd64, driver: docker, cache: { type: gha, options: mode=max } }\n"), "999", "amd64")
	check(t, []cmdCase{
		{"docker driver push", b.Push(false), `docker buildx build --output=type=registry --platform linux/amd64 -t dhh/app:999 -t dhh/app:latest --cache-to type=gha,mode=max --cache-from type=gha --label service="app" --file Dockerfile . 2>&1`},
	})
	if b.Inspect() != nil || b.Create() != nil || b.Remove() != nil {
		t.Error("the docker driver has no builder to inspect, create or remove")
	}
}

func TestBuilderPack(t *testing.T) {
	b := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: amd64, pack: { builder: heroku/builder:24, buildpacks: [heroku/ruby, heroku/procfile] } }\n"), "123", "amd64")
	check(t, []cmdCase{
		{"pack push", b.Push(false), `pack build dhh/app --platform linux/amd64 --creation-time now --builder heroku/builder:24 --buildpack heroku/ruby --buildpack heroku/procfile --buildpack paketo-buildpacks/image-labels -t dhh/app:123 -t dhh/app:latest --env BP_IMAGE_LABELS=service=app --path . && docker push dhh/app:123 && docker push dhh/app:latest`},
		{"pack inspect", b.Inspect(), `pack builder inspect heroku/builder:24`},
	})
}

func TestBuilderCloud(t *testing.T) {
	b := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: amd64, driver: cloud docker/builder }\n"), "999", "amd64")
	check(t, []cmdCase{
		{"cloud create", b.Create(), `docker buildx create --driver 'cloud docker/builder'`},
		{"cloud remove", b.Remove(), `docker buildx rm cloud-docker-builder`},
		{"cloud push", b.Push(false), `docker buildx build --output=type=registry --platform linux/amd64 --builder cloud-docker-builder -t dhh/app:999 -t dhh/app:latest --label service="app" --file Dockerfile . 2>&1`},
	})
}

func TestBuilderLocalRegistry(t *testing.T) {
	b := NewBuilder(loadYAML(t, "service: app\nimage: dhh/app\nservers: [1.1.1.1]\nregistry: { server: localhost:5555 }\nbuilder: { arch: amd64 }\n"), "999", "amd64")
	check(t, []cmdCase{
		{"local registry create", b.Create(), `docker buildx create --name kamal-local-registry-docker-container --driver=docker-container --driver-opt network=host`},
		{"local registry push", b.Push(false), `docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-registry-docker-container -t localhost:5555/dhh/app:999 -t localhost:5555/dhh/app:latest --label service="app" --file Dockerfile . 2>&1`},
	})
}

func TestClassicFallback(t *testing.T) {
	b := NewBuilder(loadYAML(t, bldYAML+"builder: { arch: amd64, args: { A: b } }\n"), "999", "amd64")
	build, push, err := b.ClassicPush(false)
	if err != nil {
		t.Fatal(err)
	}
	check(t, []cmdCase{
		{"classic build", build, `docker build -t dhh/app:999 -t dhh/app:latest --label service="app" --build-arg A="b" --file Dockerfile . 2>&1`},
		{"classic push", push, `docker push dhh/app:999 && docker push dhh/app:latest`},
	})

	needs := []struct{ name, builder, arch, reason string }{
		{"multi-arch", "{ arch: [amd64, arm64] }", "amd64", "a multi-arch build (amd64, arm64)"},
		{"foreign arch", "{ arch: arm64 }", "amd64", "building for arm64 on amd64"},
		{"remote", "{ arch: arm64, remote: ssh://h }", "amd64", "a remote builder"},
		{"cache", "{ arch: amd64, cache: { type: gha } }", "amd64", "the build cache"},
		{"secrets", "{ arch: amd64, secrets: [TOKEN] }", "amd64", "build secrets"},
	}
	for _, tt := range needs {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewBuilder(loadYAML(t, bldYAML+"builder: "+tt.builder+"\n"), "999", tt.arch).ClassicPush(false)
			var nb *ErrNeedsBuildx
			if !errors.As(err, &nb) || nb.Reason != tt.reason {
				t.Fatalf("err = %v, want reason %q", err, tt.reason)
			}
		})
	}
}

func TestDockerfileAndContext(t *testing.T) {
	b := NewBuilder(load(t, "full/deploy.yml", ""), "999", "amd64")
	if b.Dockerfile() != "Dockerfile.prod" || b.MissingDockerfile().Error() != "Missing Dockerfile.prod" || b.Context() != "build" {
		t.Errorf("dockerfile %q context %q", b.Dockerfile(), b.Context())
	}
}

func TestClone(t *testing.T) {
	c := NewClone("app", "/tmp", "/home/dev/src/myapp/web", "/home/dev/src/myapp")
	if c.Dir != "/tmp/kamal-clones/app-"+c.Dir[len("/tmp/kamal-clones/app-"):] || len(c.Dir) != len("/tmp/kamal-clones/app-")+12 {
		t.Fatalf("clone dir %q", c.Dir)
	}
	if c.BuildDir != c.Dir+"/myapp/web" {
		t.Fatalf("build dir %q", c.BuildDir)
	}
	spaced := Clone{Root: "/src/my app", Dir: "/tmp/kamal-clones/app-0123456789ab", BuildDir: "/tmp/kamal-clones/app-0123456789ab/my app"}
	steps := spaced.ResetSteps("abc123")
	check(t, []cmdCase{
		{"clone", spaced.Clone(), `git -C /tmp/kamal-clones/app-0123456789ab clone '/src/my app' --recurse-submodules`},
		{"set-url", steps[0], `git -C '/tmp/kamal-clones/app-0123456789ab/my app' remote set-url origin '/src/my app'`},
		{"fetch", steps[1], `git -C '/tmp/kamal-clones/app-0123456789ab/my app' fetch origin`},
		{"reset", steps[2], `git -C '/tmp/kamal-clones/app-0123456789ab/my app' reset --hard abc123`},
		{"clean", steps[3], `git -C '/tmp/kamal-clones/app-0123456789ab/my app' clean -fdx`},
		{"submodules", steps[4], `git -C '/tmp/kamal-clones/app-0123456789ab/my app' submodule update --init`},
		{"gc", steps[5], `git -C '/tmp/kamal-clones/app-0123456789ab/my app' gc --auto --quiet`},
		{"status", spaced.Status(), `git -C '/tmp/kamal-clones/app-0123456789ab/my app' status --porcelain`},
		{"rev-parse", spaced.Revision(), `git -C '/tmp/kamal-clones/app-0123456789ab/my app' rev-parse HEAD`},
	})
}

func TestBuilderSensitiveWordsCoverEveryBuildArg(t *testing.T) {
	cfg := loadYAML(t, bldYAML+"builder:\n  arch: amd64\n  args:\n    TOKEN: s3cr3t\n    NOTE: \"it's $HOME\"\n    EMPTY: \"\"\n")
	b := NewBuilder(cfg, "999", "amd64")
	got := b.SensitiveWords()
	want := []string{`TOKEN="s3cr3t"`, `TOKEN=s3cr3t`, `NOTE="it's \$HOME"`, `NOTE=it's $HOME`}
	if !slices.Equal(got, want) {
		t.Fatalf("SensitiveWords() = %q\nwant %q", got, want)
	}
	// Every rendered build-arg word of every build command is among them,
	// so registering them hides each value however the build runs.
	plan, err := b.ClassicPlan(false, false)
	if err != nil {
		t.Fatal(err)
	}
	pack := NewBuilder(loadYAML(t, bldYAML+"builder:\n  arch: amd64\n  pack: { builder: heroku/builder:24 }\n  args: { TOKEN: s3cr3t }\n"), "999", "amd64")
	for _, c := range []struct {
		flag string
		cmd  Cmd
		sens []string
	}{
		{"--build-arg", b.Push(false), got},
		{"--build-arg", b.Dev(false), got},
		{"--build-arg", plan.Build, got},
		{"--env", pack.Push(false), pack.SensitiveWords()},
	} {
		n := 0
		for i, w := range c.cmd {
			if w != c.flag || i+1 == len(c.cmd) || strings.HasPrefix(c.cmd[i+1], "BP_IMAGE_LABELS") || c.cmd[i+1] == "EMPTY=" {
				continue
			}
			n++
			if !slices.Contains(c.sens, c.cmd[i+1]) {
				t.Errorf("%s %s is not in SensitiveWords: %s", c.flag, c.cmd[i+1], c.cmd)
			}
		}
		if n == 0 {
			t.Errorf("no %s in %s", c.flag, c.cmd)
		}
	}
}

// A builder driver is a value like any other: with a remote builder it
// is part of the builder name, which must be quoted wherever it appears.
func TestBuilderDriverIsQuoted(t *testing.T) {
	cfg := loadYAML(t, bldYAML+"builder: { arch: [amd64, arm64], remote: \"ssh://app@host\", driver: \"docker-container;pwned;#\" }\n")
	b := NewBuilder(cfg, "999", "amd64")
	if b.Kind() != BuilderHybrid {
		t.Fatalf("kind %s", b.Kind())
	}
	rec := newArgvRecorder(t)
	for name, sh := range testShells(t) {
		for _, c := range []struct {
			step string
			cmd  Cmd
		}{{"create", b.Create()}, {"inspect", b.Inspect()}, {"remove", b.Remove()}} {
			calls, stderr := rec.run(t, sh, shell.Command(c.cmd...))
			checkNothingInjected(t, name+" "+c.step, calls, stderr)
			found := false
			for _, call := range calls {
				found = found || slices.Contains(call[1:], "kamal-hybrid-docker-container;pwned;#-ssh---app-host")
			}
			if !found {
				t.Errorf("%s %s: builder name not passed whole: %q", name, c.step, calls)
			}
		}
	}
}
