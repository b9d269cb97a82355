package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// TestProxyCommands: boot, details, rolling reboot with its hooks (the app
// keeps being served afterwards), stop/start/restart, logs, boot_config
// files, and remove refusing while an app is installed.
func TestProxyCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "prox", Web: hostIPs(0, 1)})
	cleanupApp(t, p)
	web := env.Hosts[:2]
	p.image(t, ctx, "app", "v1")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", web...)

	out := p.kamal(t, ctx, "proxy", "details")
	for _, h := range web {
		if !strings.Contains(out, "Proxy Host: "+h.IP) {
			t.Errorf("proxy details lack %s:\n%s", h.IP, out)
		}
	}
	if !strings.Contains(out, proxyRepository+":"+proxyVersion) {
		t.Errorf("proxy details do not show our image:\n%s", out)
	}

	p.recordingHook(t, "pre-proxy-reboot")
	p.recordingHook(t, "post-proxy-reboot")
	out = p.kamal(t, ctx, "proxy", "reboot", "--rolling", "-y")
	for _, h := range web {
		if !strings.Contains(out, "Rebooting kamal-proxy on "+h.IP+"...") {
			t.Errorf("reboot output lacks host %s:\n%s", h.IP, out)
		}
	}
	want := []string{"pre-proxy-reboot " + web[0].IP, "post-proxy-reboot " + web[0].IP, "pre-proxy-reboot " + web[1].IP, "post-proxy-reboot " + web[1].IP}
	if got := p.hookLog(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("reboot hooks = %q, want %q", got, want)
	}
	p.expectVersion(t, ctx, "v1", web...)

	// A reboot without -y asks; no answer (stdin is empty) aborts.
	out, err := kamal(t, ctx, p.dir, "proxy", "reboot")
	if err != nil || !strings.Contains(out, "Are you sure? [y, N] (N)") || !strings.Contains(out, "Aborted") {
		t.Errorf("reboot without -y: %v\n%s", err, out)
	}

	p.kamal(t, ctx, "proxy", "stop")
	for _, h := range web {
		if _, _, err := p.get(ctx, h, "/"); err == nil {
			t.Errorf("%s still answers with the proxy stopped", h.Name)
		}
	}
	p.kamal(t, ctx, "proxy", "start")
	for _, h := range web {
		waitHTTP(t, ctx, "http://"+h.IP+"/_never_routed", 404) // the proxy is up again
	}
	p.expectVersion(t, ctx, "v1", web...)
	p.kamal(t, ctx, "proxy", "restart")
	for _, h := range web {
		waitHTTP(t, ctx, "http://"+h.IP+"/_never_routed", 404)
	}
	p.expectVersion(t, ctx, "v1", web...)

	if out := p.kamal(t, ctx, "proxy", "logs", "-n", "5"); !strings.Contains(out, "Proxy Host: "+web[0].IP) {
		t.Errorf("proxy logs:\n%s", out)
	}

	// boot_config: files written, shown, and removed again.
	p.kamal(t, ctx, "proxy", "boot_config", "set", "--http-port", "8080", "--log-max-size", "20m")
	opts, err := os.ReadFile(filepath.Join(web[0].Home, ".kamal/proxy/options"))
	if err != nil || string(opts) != "--publish 8080:80 --publish 443:443 --log-opt max-size=20m" {
		t.Errorf(".kamal/proxy/options = %q, %v", opts, err)
	}
	if out := p.kamal(t, ctx, "proxy", "boot_config", "get"); !strings.Contains(out, "Host "+web[0].IP+": --publish 8080:80") {
		t.Errorf("boot_config get:\n%s", out)
	}
	p.kamal(t, ctx, "proxy", "boot_config", "reset")
	if _, err := os.Stat(filepath.Join(web[0].Home, ".kamal/proxy/options")); !os.IsNotExist(err) {
		t.Errorf("boot_config reset left the options file (%v)", err)
	}

	if out := p.kamal(t, ctx, "proxy", "remove"); !strings.Contains(out, "Not removing the proxy, as other apps are installed") {
		t.Errorf("proxy remove with an app installed:\n%s", out)
	}
	p.expectVersion(t, ctx, "v1", web...)
	p.kamal(t, ctx, "proxy", "remove", "--force")
	for _, h := range web {
		if out, _ := h.Docker(ctx, "ps", "-a", "-q", "--filter", "name=^kamal-proxy$"); strings.TrimSpace(out) != "" {
			t.Errorf("%s still has kamal-proxy after remove --force", h.Name)
		}
	}
}

// TestUpgradeFromKamal1: a host with a Kamal 1 Traefik (publishing port
// 80) and the app's latest image gets kamal-proxy and the app behind it;
// Traefik's container and image are gone.
func TestUpgradeFromKamal1(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	h := env.Hosts[0]
	traefik, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: "e2e/traefik", Tag: "v1",
		Labels: map[string]string{"org.opencontainers.image.title": "Traefik"}})
	if err != nil {
		t.Fatal(err)
	}
	p := newAppProject(t, appSpec{Service: "upg", Web: hostIPs(0)})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	app := env.Registry + "/e2e/upg"
	ssh(t, ctx, h, env.RegistryPassword, "docker login -u "+env.RegistryUser+" --password-stdin "+env.Registry)
	removeContainer(t, h, "traefik")
	ssh(t, ctx, h, "", "docker run -d --name traefik -p 80:80 "+traefik+" && docker pull -q "+app+":v1 && docker tag "+app+":v1 "+app+":latest")
	waitHTTP(t, ctx, "http://"+h.IP+"/up", 200) // "Traefik" answers on port 80

	out := p.kamal(t, ctx, "upgrade", "-y")
	for _, want := range []string{"Upgrading all hosts...", "Upgrading proxy on " + h.IP + "...", "Upgraded all hosts"} {
		if !strings.Contains(out, want) {
			t.Errorf("upgrade output lacks %q:\n%s", want, out)
		}
	}
	p.expectVersion(t, ctx, "v1", h)
	if got := runningNames(t, ctx, h, "upg"); got != "upg-web-latest" {
		t.Errorf("app containers = %q, want upg-web-latest", got)
	}
	if out, _ := h.Docker(ctx, "ps", "-a", "-q", "--filter", "name=^traefik$"); strings.TrimSpace(out) != "" {
		t.Error("the traefik container is still there")
	}
	if out, _ := h.Docker(ctx, "images", "-q", traefik); strings.TrimSpace(out) != "" {
		t.Error("the traefik image is still there")
	}
}

// TestProxyBootConfigSelectsImage: without `proxy.run` in deploy.yml the
// proxy is booted from the legacy boot_config files, and `proxy
// boot_config set --registry --repository --image-version --http-port`
// selects our kamal-proxy image and publishes it on another port.
func TestProxyBootConfigSelectsImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "legacy", Web: hostIPs(0)})
	cleanupApp(t, p)
	// Drop proxy.run: the boot_config files decide.
	yml, err := os.ReadFile(filepath.Join(p.dir, "config/deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	run := env.ProxyRunYAML()
	if !strings.Contains(string(yml), run) {
		t.Fatalf("deploy.yml has no proxy.run block to drop:\n%s", yml)
	}
	p.write(t, "config/deploy.yml", strings.Replace(string(yml), run, "", 1), 0o644)
	p.image(t, ctx, "app", "v1")
	h := env.Hosts[0]

	p.kamal(t, ctx, "proxy", "boot_config", "set", "--registry", env.Registry, "--repository", proxyRepository,
		"--image-version", proxyVersion, "--http-port", "8080")
	if out := p.kamal(t, ctx, "proxy", "boot_config", "get"); !strings.Contains(out, "Host "+h.IP+": --publish 8080:80 --publish 443:443 --log-opt max-size=10m "+env.Registry+"/"+proxyRepository+":"+proxyVersion) {
		t.Errorf("boot_config get:\n%s", out)
	}
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")

	out, err := h.Docker(ctx, "inspect", "kamal-proxy", "--format", "{{.Config.Image}} {{range $p, $b := .HostConfig.PortBindings}}{{$p}}={{(index $b 0).HostPort}} {{end}}")
	if err != nil {
		t.Fatal(err)
	}
	if want := env.Registry + "/" + proxyRepository + ":" + proxyVersion + " 443/tcp=443 80/tcp=8080"; strings.TrimSpace(out) != want {
		t.Errorf("kamal-proxy image and ports = %q, want %q", strings.TrimSpace(out), want)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.IP+":8080/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = p.host
	resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatalf("GET :8080/: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "version=v1 ") {
		t.Errorf("GET :8080/ = %d %q, want version=v1", resp.StatusCode, body)
	}

	p.kamal(t, ctx, "proxy", "boot_config", "reset")
	for _, f := range []string{"options", "image", "image_version", "run_command"} {
		if _, err := os.Stat(filepath.Join(h.Home, ".kamal/proxy", f)); !os.IsNotExist(err) {
			t.Errorf("boot_config reset left .kamal/proxy/%s (%v)", f, err)
		}
	}
}
