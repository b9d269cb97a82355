package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// TestProxyImage drives our proxy image by hand, the way Kamal does: the
// image is built with build/kamal-proxy/build.sh on the deployer, pushed to
// the registry and run on a host as "kamal-proxy" on the "kamal" network;
// `docker exec kamal-proxy kamal-proxy deploy` switches between two app
// containers, and the routing survives a restart of the proxy container and
// a new container on the same state volume.
func TestProxyImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := &proxyImageScenario{t: t, ctx: ctx, h: env.Hosts[len(env.Hosts)-1]}
	url := "http://" + s.h.IP + "/"

	// BuildImage also logs the deployer in to the registry, which the push
	// of the proxy image relies on.
	for _, v := range []string{"v1", "v2"} {
		ref, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: "e2e/proxy-image-app", Tag: v})
		if err != nil {
			t.Fatal(err)
		}
		s.images = append(s.images, ref)
	}
	s.buildProxy()

	// Whatever an earlier run left under these names goes first.
	s.cleanup()
	t.Cleanup(s.cleanup)
	s.ensureNetwork()
	s.pull()
	for i, v := range []string{"v1", "v2"} {
		s.docker("run", "--detach", "--name", "proxy-image-app-"+v, "--network", proxyImageNetwork, s.images[i])
	}

	s.startProxy()
	// Unrouted requests get the proxy's own 404 once it listens.
	waitHTTP(t, ctx, url, http.StatusNotFound)

	// The image's identity: our binary, run as the unprivileged user.
	if out := s.docker("exec", "kamal-proxy", "kamal-proxy", "version"); !strings.Contains(out, proxyImageTag) {
		t.Errorf("kamal-proxy version = %q, want it to contain %s", out, proxyImageTag)
	}
	if out := s.docker("inspect", "--format", "{{.Config.User}} {{json .Config.Cmd}}", "kamal-proxy"); strings.TrimSpace(out) != `kamal-proxy:kamal-proxy ["kamal-proxy","run"]` {
		t.Errorf("user and command = %q", out)
	}

	s.deploy("v1")
	s.deploy("v2")
	s.deploy("v1")
	if out := s.docker("exec", "kamal-proxy", "kamal-proxy", "list"); !strings.Contains(out, "web") || !strings.Contains(out, "proxy-image-app-v1:80") {
		t.Errorf("kamal-proxy list does not show the service on v1:\n%s", out)
	}
	s.deploy("v2")

	// The state file lives in the volume and is read back on start.
	s.docker("restart", "kamal-proxy")
	if body := waitHTTP(t, ctx, url, http.StatusOK); !strings.HasPrefix(body, "version=v2 ") {
		t.Errorf("after a restart the proxy serves %q, want v2", body)
	}
	s.docker("rm", "--force", "kamal-proxy")
	if status, _, err := s.get(url); err == nil {
		t.Fatalf("port 80 still answers (%d) with the proxy removed", status)
	}
	s.startProxy()
	if body := waitHTTP(t, ctx, url, http.StatusOK); !strings.HasPrefix(body, "version=v2 ") {
		t.Errorf("a new proxy container on the same volume serves %q, want v2", body)
	}
	// Deploys keep working on restored state.
	s.deploy("v1")

	s.docker("exec", "kamal-proxy", "kamal-proxy", "remove", "web")
	if status, body, err := s.get(url); err != nil || status != http.StatusNotFound {
		t.Errorf("after remove: %d %q (%v), want 404", status, body, err)
	}
}

// The proxy image of this scenario has a repository of its own, so that it
// never stands in for the one the kamal scenarios push.
const (
	proxyImageRepository = "e2e/kamal-proxy-image"
	proxyImageTag        = "v0.10.0-e2e"
	proxyImageVolume     = "kamal-proxy-e2e-config"
	proxyImageNetwork    = "kamal"
)

type proxyImageScenario struct {
	t      *testing.T
	ctx    context.Context
	h      *testhosts.Host
	proxy  string   // pushed proxy image
	images []string // pushed app images v1, v2
}

// buildProxy builds the image with build/kamal-proxy/build.sh against the
// deployer's daemon and pushes it to the registry.
func (s *proxyImageScenario) buildProxy() {
	s.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "build", "kamal-proxy", "build.sh")
	image := env.Registry + "/" + proxyImageRepository
	s.proxy = image + ":" + proxyImageTag
	deployer := append(os.Environ(), env.DeployerEnv()...)

	build := exec.CommandContext(s.ctx, "sh", script)
	// The classic builder needs no buildx plugin.
	build.Env = append(deployer, "IMAGE="+image, "TAGS="+proxyImageTag, "VERSION="+proxyImageTag, "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		s.t.Fatalf("build.sh: %v\n%s", err, out)
	}
	s.t.Cleanup(func() {
		rm := exec.Command("docker", "image", "rm", "--force", s.proxy)
		rm.Env = deployer
		if out, err := rm.CombinedOutput(); err != nil {
			s.t.Logf("removing %s on the deployer: %v\n%s", s.proxy, err, out)
		}
	})
	push := exec.CommandContext(s.ctx, "docker", "push", s.proxy)
	push.Env = deployer
	if out, err := push.CombinedOutput(); err != nil {
		s.t.Fatalf("pushing %s: %v\n%s", s.proxy, err, out)
	}
}

// pull fetches every image on the host with a login of its own (a
// temporary DOCKER_CONFIG), leaving the host's /root/.docker alone. The
// password goes through stdin, never argv.
func (s *proxyImageScenario) pull() {
	s.t.Helper()
	dockerEnv := append(os.Environ(), "DOCKER_HOST="+s.h.DockerHost, "DOCKER_CONFIG="+s.t.TempDir())
	if env.RegistryUser != "" {
		login := exec.CommandContext(s.ctx, "docker", "login", "--username", env.RegistryUser, "--password-stdin", env.Registry)
		login.Env = dockerEnv
		login.Stdin = strings.NewReader(env.RegistryPassword)
		if out, err := login.CombinedOutput(); err != nil {
			s.t.Fatalf("docker login on %s: %v\n%s", s.h.Name, err, out)
		}
	}
	for _, ref := range append([]string{s.proxy}, s.images...) {
		pull := exec.CommandContext(s.ctx, "docker", "pull", "--quiet", ref)
		pull.Env = dockerEnv
		if out, err := pull.CombinedOutput(); err != nil {
			s.t.Fatalf("docker pull %s on %s: %v\n%s", ref, s.h.Name, err, out)
		}
	}
}

// ensureNetwork creates the kamal network unless it exists; a network
// created here is removed at the end.
func (s *proxyImageScenario) ensureNetwork() {
	s.t.Helper()
	if _, err := s.h.Docker(s.ctx, "network", "inspect", proxyImageNetwork); err == nil {
		return
	}
	s.docker("network", "create", proxyImageNetwork)
	s.t.Cleanup(func() {
		// Runs before s.cleanup (cleanups run last first): the
		// containers must leave the network before it can go.
		s.cleanup()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.h.Docker(ctx, "network", "rm", proxyImageNetwork); err != nil {
			s.t.Logf("removing network: %v", err)
		}
	})
}

// startProxy runs the image as Kamal does, with the state volume.
func (s *proxyImageScenario) startProxy() {
	s.t.Helper()
	s.docker("run", "--detach", "--name", "kamal-proxy", "--network", proxyImageNetwork,
		"--publish", "80:80", "--volume", proxyImageVolume+":/home/kamal-proxy/.config/kamal-proxy", s.proxy)
}

// deploy switches the service to version's container. deploy returns once
// the new target is healthy and swapped in, so no polling: every request
// from then on must reach it.
func (s *proxyImageScenario) deploy(version string) {
	s.t.Helper()
	s.docker("exec", "kamal-proxy", "kamal-proxy", "deploy", "web", "--target=proxy-image-app-"+version+":80", "--deploy-timeout=60s")
	url := "http://" + s.h.IP + "/"
	for i := 0; i < 5; i++ {
		status, body, err := s.get(url)
		if err != nil || status != http.StatusOK || !strings.HasPrefix(body, "version="+version+" ") {
			s.t.Fatalf("after deploying %s, GET %s #%d = %d %q (%v)", version, url, i, status, body, err)
		}
	}
}

func (s *proxyImageScenario) docker(args ...string) string {
	s.t.Helper()
	out, err := s.h.Docker(s.ctx, args...)
	if err != nil {
		s.t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (s *proxyImageScenario) get(url string) (int, string, error) {
	return testhosts.Get(s.ctx, url, "")
}

// cleanup removes the containers, the volume and the images from the host.
func (s *proxyImageScenario) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.h.Docker(ctx, "rm", "--force", "--volumes", "kamal-proxy", "proxy-image-app-v1", "proxy-image-app-v2"); err != nil && !strings.Contains(err.Error(), "No such container") {
		s.t.Logf("removing containers: %v", err)
	}
	if _, err := s.h.Docker(ctx, "volume", "rm", "--force", proxyImageVolume); err != nil {
		s.t.Logf("removing volume: %v", err)
	}
	if s.proxy != "" {
		if _, err := s.h.Docker(ctx, append([]string{"image", "rm", "--force", s.proxy}, s.images...)...); err != nil && !strings.Contains(err.Error(), "No such image") {
			s.t.Logf("removing images: %v", err)
		}
	}
}
