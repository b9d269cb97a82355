package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/testhosts"
)

// The zero-downtime reboot scenarios: `kamal proxy reboot` under a request
// loop replaces kamal-proxy on every host with not one failed request.

// loadDuring runs fn while clients request the app of p on hosts, lets them
// go on for a moment afterwards, and fails the test on any failed request.
func loadDuring(t *testing.T, ctx context.Context, o testhosts.LoadOptions, fn func()) *testhosts.Load {
	t.Helper()
	if o.Clients == 0 {
		o.Clients = 4
	}
	o.MaxPerClient = 50000
	load := testhosts.StartLoad(ctx, o)
	waitSeen(t, ctx, load, 20)
	fn()
	waitSeen(t, ctx, load, load.OK()+40)
	load.Stop()
	t.Logf("requests: %d ok, %d failed, %v", load.OK(), load.Failed(), load.Counts())
	if n := load.Failed(); n > 0 {
		t.Errorf("%d requests failed, e.g. %v", n, load.Errors())
		dumpProxyLogs(t, ctx, o.Hosts)
	}
	return load
}

// dumpProxyLogs logs what the proxies of hosts said, but requests.
func dumpProxyLogs(t *testing.T, ctx context.Context, hosts []*testhosts.Host) {
	t.Helper()
	for _, h := range hosts {
		for _, name := range []string{commands.ProxyHolderContainer, commands.ProxyContainer, commands.ProxySuccessorContainer} {
			out, _ := h.Docker(ctx, "logs", "--timestamps", name)
			var lines []string
			for _, l := range strings.Split(out, "\n") {
				if !strings.Contains(l, `"msg":"Request"`) {
					lines = append(lines, l)
				}
			}
			t.Logf("%s %s:\n%s", h.Name, name, strings.Join(lines, "\n"))
		}
	}
}

// waitSeen waits until the load had n answers.
func waitSeen(t *testing.T, ctx context.Context, load *testhosts.Load, n int64) {
	t.Helper()
	for load.OK()+load.Failed() < n {
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-load.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// proxyContainers are h's kamal-proxy containers: name -> "image state
// network-mode".
func proxyContainers(t *testing.T, ctx context.Context, h *testhosts.Host) map[string]string {
	t.Helper()
	out, err := h.Docker(ctx, "ps", "-a", "--filter", "label=org.opencontainers.image.title=kamal-proxy", "--format", "{{.Names}}")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, name := range strings.Fields(out) {
		info, err := h.Docker(ctx, "inspect", "--format", "{{.Config.Image}} {{.State.Status}} {{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}}", name)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = strings.TrimSpace(info)
	}
	return got
}

// expectHandedOver checks h's containers after a hand-over: kamal-proxy
// runs image in the network namespace of kamal-proxy-ports, which still
// publishes the ports, and nothing else is left.
func expectHandedOver(t *testing.T, ctx context.Context, h *testhosts.Host, image string) {
	t.Helper()
	got := proxyContainers(t, ctx, h)
	holderID, _ := h.Docker(ctx, "inspect", "--format", "{{.Id}}", commands.ProxyHolderContainer)
	want := map[string]string{
		commands.ProxyContainer: image + " running container:" + strings.TrimSpace(holderID) + " unless-stopped",
	}
	if len(got) != 2 || got[commands.ProxyContainer] != want[commands.ProxyContainer] ||
		!strings.HasSuffix(got[commands.ProxyHolderContainer], " running kamal on-failure") {
		t.Errorf("%s: proxy containers %q, want kamal-proxy %q and a running kamal-proxy-ports", h.Name, got, want[commands.ProxyContainer])
	}
	if ports, _ := h.Docker(ctx, "port", commands.ProxyHolderContainer); !strings.Contains(ports, "80/tcp -> 0.0.0.0:80") {
		t.Errorf("%s: kamal-proxy-ports publishes %q", h.Name, ports)
	}
	// The volume Kamal gives the proxy, where its routes are saved.
	mounts, _ := h.Docker(ctx, "inspect", "--format", "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}", commands.ProxyContainer)
	if !strings.Contains(mounts, "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy") {
		t.Errorf("%s: kamal-proxy mounts %q", h.Name, mounts)
	}
}

// rubyKamalRollback does on h what Ruby Kamal's rollback to version does
// with the proxy, by its own commands: the version check, then start the
// old container and `docker exec kamal-proxy kamal-proxy deploy` it; the
// container of current is stopped.
func rubyKamalRollback(t *testing.T, ctx context.Context, p *appProject, h *testhosts.Host, version, current string) {
	t.Helper()
	cfg := loadProjectConfig(t, p)
	if got := strings.TrimSpace(ssh(t, ctx, h, "", commands.NewProxy(cfg, h.IP).Version().String())); got != proxyVersion {
		t.Errorf("%s: Kamal's proxy version check reads %q, want %s", h.Name, got, proxyVersion)
	}
	app := commands.NewApp(cfg, cfg.PrimaryRole(), h.IP, version)
	ssh(t, ctx, h, "", app.Start().String())
	id := strings.TrimSpace(ssh(t, ctx, h, "", app.ContainerID().String()))
	ssh(t, ctx, h, "", app.ProxyDeploy(id).String())
	ssh(t, ctx, h, "", app.Stop(current).String())
}

// TestProxyRebootZeroDowntime: `proxy reboot -y` on 2 hosts under a
// request loop: no request fails, the hooks run, both hosts serve the app
// afterwards, a deploy works; a second reboot (from the new proxy, with
// --rolling) too; Ruby Kamal's details and rollback (by its commands) work
// through the new proxy, then its own reboot (stop-and-run), and ours
// hands over from what it ran.
func TestProxyRebootZeroDowntime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "reboot", Web: hostIPs(0, 1)})
	cleanupApp(t, p)
	web := env.Hosts[:2]
	p.image(t, ctx, "app", "v1")
	p.image(t, ctx, "app", "v2")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.recordingHook(t, "pre-proxy-reboot")
	p.recordingHook(t, "post-proxy-reboot")
	image := env.Registry + "/" + proxyRepository + ":" + proxyVersion

	load := testhosts.LoadOptions{Hosts: web, Host: p.host, Key: bodyVersion}
	var out string
	loadDuring(t, ctx, load, func() { out = p.kamal(t, ctx, "proxy", "reboot", "-y") })
	if strings.Contains(out, "cannot hand") {
		t.Errorf("the reboot fell back to stop-and-start:\n%s", out)
	}
	want := "pre-proxy-reboot " + web[0].IP + "," + web[1].IP + "|post-proxy-reboot " + web[0].IP + "," + web[1].IP
	if got := strings.Join(p.hookLog(t), "|"); got != want {
		t.Errorf("hooks = %q, want %q", got, want)
	}
	for _, h := range web {
		expectHandedOver(t, ctx, h, image)
	}
	p.expectVersion(t, ctx, "v1", web...)

	// The proxy's version check and a deploy through the new proxy.
	loadDuring(t, ctx, load, func() { p.kamal(t, ctx, "deploy", "-P", "--version", "v2") })
	p.expectVersion(t, ctx, "v2", web...)

	// The new proxy hands over in turn; the holder stays.
	holder, _ := web[0].Docker(ctx, "inspect", "--format", "{{.Id}}", commands.ProxyHolderContainer)
	loadDuring(t, ctx, load, func() { p.kamal(t, ctx, "proxy", "reboot", "-y", "--rolling") })
	for _, h := range web {
		expectHandedOver(t, ctx, h, image)
	}
	// --rolling: one host at a time, each between its hooks.
	want += "|pre-proxy-reboot " + web[0].IP + "|post-proxy-reboot " + web[0].IP + "|pre-proxy-reboot " + web[1].IP + "|post-proxy-reboot " + web[1].IP
	if got := strings.Join(p.hookLog(t), "|"); got != want {
		t.Errorf("hooks = %q, want %q", got, want)
	}
	if again, _ := web[0].Docker(ctx, "inspect", "--format", "{{.Id}}", commands.ProxyHolderContainer); again != holder {
		t.Errorf("the holder changed: %s, was %s", again, holder)
	}
	p.expectVersion(t, ctx, "v2", web...)
	if out := p.kamal(t, ctx, "details"); !strings.Contains(out, image) {
		t.Errorf("details do not show the proxy:\n%s", out)
	}
	if out := p.kamal(t, ctx, "proxy", "logs", "-n", "5"); !strings.Contains(out, `"msg":"Request"`) {
		t.Errorf("proxy logs show no request:\n%s", out)
	}

	// Ruby Kamal's details and its rollback, by its commands, through
	// the new proxy.
	for _, h := range web {
		if out := ssh(t, ctx, h, "", commands.NewProxy(loadProjectConfig(t, p), h.IP).Info().String()); !strings.Contains(out, image) || !strings.Contains(out, commands.ProxyContainer) {
			t.Errorf("%s: Kamal's details: %s", h.Name, out)
		}
		rubyKamalRollback(t, ctx, p, h, "v1", "v2")
	}
	p.expectVersion(t, ctx, "v1", web...)

	// Ruby Kamal's reboot is stop, prune, run: stopping the proxy
	// releases the ports its holder kept, so its run can publish them.
	h := web[0]
	cfg := commands.NewProxy(loadProjectConfig(t, p), h.IP)
	for _, c := range []commands.Cmd{cfg.Stop(), cfg.RemoveContainer(), cfg.EnsureAppsDirectory(), cfg.Run()} {
		ssh(t, ctx, h, "", c.String())
	}
	if got := proxyContainers(t, ctx, h); len(got) != 1 || !strings.HasSuffix(got[commands.ProxyContainer], " running kamal unless-stopped") {
		t.Errorf("after Kamal's reboot: %q", got)
	}
	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	p.expectVersion(t, ctx, "v2", web...)
	// ... and ours hands over from what Kamal ran.
	loadDuring(t, ctx, load, func() { p.kamal(t, ctx, "proxy", "reboot", "-y") })
	expectHandedOver(t, ctx, h, image)
}

// loadProjectConfig loads p's configuration the way kamal does.
func loadProjectConfig(t *testing.T, p *appProject) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{ConfigFile: filepath.Join(p.dir, "config", "deploy.yml"), Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestProxyRebootTwoApps: two apps share the proxy of two hosts; a reboot
// from one of them loses no request of either, and both deploy afterwards;
// then a `proxy upgrade` from the other hands over as well, and `proxy
// stop` and `start` work on the two containers a hand-over leaves.
func TestProxyRebootTwoApps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	web := env.Hosts[:2]
	alpha := newAppProject(t, appSpec{Service: "alpha2", Web: hostIPs(0, 1)})
	beta := newAppProject(t, appSpec{Service: "beta2", Web: hostIPs(0, 1)})
	for _, p := range []*appProject{alpha, beta} {
		cleanupApp(t, p)
		p.image(t, ctx, "app", "v1")
		p.image(t, ctx, "app", "v2")
		p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	}
	// fn under a request loop on both apps.
	bothLoaded := func(fn func()) {
		t.Helper()
		betaLoad := testhosts.StartLoad(ctx, testhosts.LoadOptions{Hosts: web, Host: beta.host, Clients: 2, MaxPerClient: 50000, Key: bodyVersion})
		loadDuring(t, ctx, testhosts.LoadOptions{Hosts: web, Host: alpha.host, Key: bodyVersion}, fn)
		betaLoad.Stop()
		t.Logf("the other app: %d ok, %d failed", betaLoad.OK(), betaLoad.Failed())
		if n := betaLoad.Failed(); n > 0 || betaLoad.OK() == 0 {
			t.Errorf("the other app: %d ok, %d failed, e.g. %v", betaLoad.OK(), n, betaLoad.Errors())
			dumpProxyLogs(t, ctx, web)
		}
	}
	bothLoaded(func() { alpha.kamal(t, ctx, "proxy", "reboot", "-y") })
	for _, p := range []*appProject{alpha, beta} {
		p.expectVersion(t, ctx, "v1", web...)
		p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
		p.expectVersion(t, ctx, "v2", web...)
	}

	// `proxy upgrade` (from the other app) hands over too, and boots
	// that app again at its latest version.
	bothLoaded(func() { beta.kamal(t, ctx, "proxy", "upgrade", "-y") })
	image := env.Registry + "/" + proxyRepository + ":" + proxyVersion
	for _, h := range web {
		expectHandedOver(t, ctx, h, image)
	}
	// After a hand-over, `proxy start` starts the container that holds
	// the ports first.
	alpha.kamal(t, ctx, "proxy", "stop")
	alpha.kamal(t, ctx, "proxy", "start")
	for _, p := range []*appProject{alpha, beta} {
		p.expectVersion(t, ctx, "v2", web...)
	}
}

// TestProxyRebootCustomCertificate: an app with its own TLS certificate on
// two hosts keeps being served over HTTPS, with that certificate, through
// a reboot, and deploys afterwards.
func TestProxyRebootCustomCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	const name = "tlsreboot.example.test"
	web := env.Hosts[:2]
	p, _, cert := newCustomCertProject(t, "tlsreboot", name, hostIPs(0, 1))
	p.image(t, ctx, "app", "v1")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: name}}}
	loadDuring(t, ctx, testhosts.LoadOptions{Hosts: web, Host: name, HTTPS: true, Client: client, Key: bodyVersion}, func() {
		p.kamal(t, ctx, "proxy", "reboot", "-y")
	})
	for _, h := range web {
		if status, body := httpsGetPinned(t, ctx, h.IP, name, cert); status != 200 || !strings.HasPrefix(body, "version=v1 ") {
			t.Errorf("%s: HTTPS GET / = %d %q", h.Name, status, body)
		}
	}
	p.image(t, ctx, "app", "v2")
	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	for _, h := range web {
		if status, body := httpsGetPinned(t, ctx, h.IP, name, cert); status != 200 || !strings.HasPrefix(body, "version=v2 ") {
			t.Errorf("%s: after a deploy, HTTPS GET / = %d %q", h.Name, status, body)
		}
	}
}

// pushProxyTag tags our pushed proxy image as tag too (with extra
// Dockerfile lines on top, if any) and pushes it.
func pushProxyTag(t *testing.T, ctx context.Context, tag, extra string) string {
	t.Helper()
	base := env.Registry + "/" + proxyRepository + ":" + proxyVersion
	ref := env.Registry + "/" + proxyRepository + ":" + tag
	script := "docker tag " + base + " " + ref
	if extra != "" {
		script = "printf '%s\\n' 'FROM " + base + "' '" + extra + "' | DOCKER_BUILDKIT=0 docker build -q -t " + ref + " -"
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", script+" && docker push -q "+ref)
	cmd.Env = append(os.Environ(), env.DeployerEnv()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pushing %s: %v\n%s", ref, err, out)
	}
	return ref
}

// editConfig rewrites p's config/deploy.yml with edit.
func (p *appProject) editConfig(t *testing.T, edit func(yml string) string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "config", "deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, "config/deploy.yml", edit(string(b)), 0o644)
}

// setProxyVersion makes p's proxy.run use another tag of our image.
func (p *appProject) setProxyVersion(t *testing.T, from, to string) {
	t.Helper()
	p.editConfig(t, func(yml string) string {
		old := "    version: " + from + "\n"
		if !strings.Contains(yml, old) {
			t.Fatalf("no %q in deploy.yml", old)
		}
		return strings.Replace(yml, old, "    version: "+to+"\n", 1)
	})
}

// TestProxyRebootNewVersion: a reboot to another tag of our image (the
// same image tagged twice) hands over and `details` shows the new tag; a
// reboot to an image that cannot hand over falls back to stop-and-start
// and says so in one line.
func TestProxyRebootNewVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	next := pushProxyTag(t, ctx, "v0.10.1", "")
	old := pushProxyTag(t, ctx, "v0.9.3", `LABEL `+commands.ProxyHandoverLabel+`=""`)
	web := env.Hosts[:2]
	p := newAppProject(t, appSpec{Service: "proxyver", Web: hostIPs(0, 1)})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")

	p.setProxyVersion(t, proxyVersion, "v0.10.1")
	load := testhosts.LoadOptions{Hosts: web, Host: p.host, Key: bodyVersion}
	loadDuring(t, ctx, load, func() { p.kamal(t, ctx, "proxy", "reboot", "-y") })
	out := p.kamal(t, ctx, "details")
	if !strings.Contains(out, next) || strings.Contains(out, proxyRepository+":"+proxyVersion) {
		t.Errorf("details after the reboot to v0.10.1:\n%s", out)
	}
	for _, h := range web {
		expectHandedOver(t, ctx, h, next)
	}
	p.expectVersion(t, ctx, "v1", web...)

	// An image without the label (as the original kamal-proxy) cannot take
	// over: stop-and-start, said once per host.
	p.setProxyVersion(t, "v0.10.1", "v0.9.3")
	out = p.kamal(t, ctx, "proxy", "reboot", "-y")
	for _, h := range web {
		line := "kamal-proxy on " + h.IP + " cannot hand its traffic over (the image " + old + " cannot take over): stopping it and starting the new one, requests fail meanwhile"
		if strings.Count(out, line) != 1 {
			t.Errorf("reboot output lacks %q once:\n%s", line, out)
		}
		if got := proxyContainers(t, ctx, h); len(got) != 1 || got[commands.ProxyContainer] != old+" running kamal unless-stopped" {
			t.Errorf("%s: after the stop-and-start: %q", h.Name, got)
		}
	}
	p.expectVersion(t, ctx, "v1", web...)
	// ... nor hand over: back to our image, by stop-and-start again.
	p.setProxyVersion(t, "v0.9.3", proxyVersion)
	if out = p.kamal(t, ctx, "proxy", "reboot", "-y"); !strings.Contains(out, "(its image cannot hand over)") {
		t.Errorf("reboot from the unlabelled image:\n%s", out)
	}
	p.expectVersion(t, ctx, "v1", web...)
}

// TestProxyRebootSuccessorKilled: the new proxy killed during the
// hand-over (held after the old one stopped accepting) leaves the old one
// serving every request; the reboot fails and says so, and the next one
// works.
func TestProxyRebootSuccessorKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	web := env.Hosts[:1]
	p := newAppProject(t, appSpec{Service: "killed", Web: hostIPs(0)})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	h := web[0]
	before := proxyContainers(t, ctx, h)

	// Only a successor reads the pause.
	p.setProxyOptions(t, "      env: KAMAL_PROXY_HANDOVER_PAUSE=30s\n")
	var out string
	var err error
	loadDuring(t, ctx, testhosts.LoadOptions{Hosts: web, Host: p.host, Key: bodyVersion}, func() {
		reboot := make(chan struct{})
		go func() {
			defer close(reboot)
			out, err = kamal(t, ctx, p.dir, "proxy", "reboot", "-y")
		}()
		for {
			logs, _ := h.Docker(ctx, "logs", commands.ProxySuccessorContainer)
			if strings.Contains(logs, "Pausing the hand-over") {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-reboot:
				t.Fatalf("the reboot ended before the hand-over paused: %v\n%s", err, out)
			case <-time.After(20 * time.Millisecond):
			}
		}
		if _, err := h.Docker(ctx, "kill", commands.ProxySuccessorContainer); err != nil {
			t.Fatal(err)
		}
		<-reboot
	})
	if err == nil || !strings.Contains(out, "the running one keeps serving") {
		t.Errorf("reboot with the new proxy killed: %v\n%s", err, out)
	}
	// The old proxy serves and takes commands; nothing is left behind.
	p.expectVersion(t, ctx, "v1", web...)
	if got := proxyContainers(t, ctx, h); len(got) != 1 || got[commands.ProxyContainer] != before[commands.ProxyContainer] {
		t.Errorf("after the failed hand-over: %q, before %q", got, before)
	}
	p.image(t, ctx, "app", "v2")
	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	p.expectVersion(t, ctx, "v2", web...)

	p.setProxyOptions(t, "")
	loadDuring(t, ctx, testhosts.LoadOptions{Hosts: web, Host: p.host, Key: bodyVersion}, func() {
		p.kamal(t, ctx, "proxy", "reboot", "-y")
	})
	expectHandedOver(t, ctx, h, env.Registry+"/"+proxyRepository+":"+proxyVersion)
}

// setProxyOptions sets the options of p's proxy.run (YAML lines indented
// for inside `options:`); "" removes them.
func (p *appProject) setProxyOptions(t *testing.T, lines string) {
	t.Helper()
	p.editConfig(t, func(yml string) string {
		if i := strings.Index(yml, "    options:\n"); i >= 0 {
			end := i + len("    options:\n")
			for strings.HasPrefix(yml[end:], "      ") {
				end += strings.Index(yml[end:], "\n") + 1
			}
			yml = yml[:i] + yml[end:]
		}
		if lines != "" {
			anchor := "    version: " + proxyVersion + "\n"
			yml = strings.Replace(yml, anchor, anchor+"    options:\n"+lines, 1)
		}
		return yml
	})
}
