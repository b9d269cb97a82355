package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// Our kamal-proxy image, as the deploy configs select it.
const (
	proxyRepository = testhosts.ProxyRepository
	proxyVersion    = testhosts.ProxyVersion
)

var proxyImageOnce struct {
	sync.Once
	err error
}

// pushProxyImage builds our kamal-proxy image with build/kamal-proxy/build.sh
// on the deployer and pushes it to the registry, once per test binary.
func pushProxyImage(t *testing.T, _ context.Context) {
	t.Helper()
	proxyImageOnce.Do(func() {
		// Not the test's context: the first scenario pays for the build,
		// which must not eat into its own time budget.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "build", "kamal-proxy", "build.sh")
		_, proxyImageOnce.err = env.PushProxyImage(ctx, script)
	})
	if proxyImageOnce.err != nil {
		t.Fatal(proxyImageOnce.err)
	}
}

// project is a kamal project directory of one app.
type appProject struct {
	dir     string
	service string
	host    string // proxy host name the app answers to
}

// appSpec are the parts of deploy.yml a scenario varies.
type appSpec struct {
	Service string
	Web     []string // hosts of the web role
	Workers []string // hosts of a workers role with a cmd ("" none)
	Extra   string   // extra top-level YAML
	// DeployTimeout is deploy_timeout (default 20 s).
	DeployTimeout int
	// Host is the proxy host name (default <service>.example.test).
	Host string
	// ProxyExtra is YAML added inside the proxy section (4-space indent
	// for its keys is "  ").
	ProxyExtra string
	// Secrets are extra lines of .kamal/secrets.
	Secrets string
}

func hostIPs(idx ...int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, env.Hosts[i].IP)
	}
	return out
}

// newAppProject writes config/deploy.yml and .kamal/secrets for c.
func newAppProject(t *testing.T, c appSpec) *appProject {
	t.Helper()
	dir := t.TempDir()
	p := &appProject{dir: dir, service: c.Service, host: c.Service + ".example.test"}
	if c.Host != "" {
		p.host = c.Host
	}
	if c.DeployTimeout == 0 {
		c.DeployTimeout = 20
	}
	var b strings.Builder
	fmt.Fprintf(&b, "service: %s\nimage: e2e/%s\nservers:\n  web:\n    hosts:\n", c.Service, c.Service)
	for _, h := range c.Web {
		fmt.Fprintf(&b, "      - %s\n", h)
	}
	if len(c.Workers) > 0 {
		b.WriteString("  workers:\n    cmd: /app --worker\n    hosts:\n")
		for _, h := range c.Workers {
			fmt.Fprintf(&b, "      - %s\n", h)
		}
	}
	fmt.Fprintf(&b, "proxy:\n%s", c.ProxyExtra)
	fmt.Fprintf(&b, "  host: %s\n  healthcheck:\n    path: /up\n    interval: 1\n", p.host)
	b.WriteString(env.ProxyRunYAML() + env.RegistryYAML())
	fmt.Fprintf(&b, `env:
  clear:
    GREETING: hello
  secret:
    - APP_SECRET
readiness_delay: 1
deploy_timeout: %d
drain_timeout: 2
`, c.DeployTimeout)
	b.WriteString(c.Extra)
	// Kamal projects are git repositories: commands that take the lock
	// without --version record the commit.
	git := exec.Command("sh", "-c", "git init -q && git -c user.name=e2e -c user.email=e2e@example.test commit -q --allow-empty -m init")
	git.Dir = dir
	if out, err := git.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	p.write(t, "config/deploy.yml", b.String(), 0o644)
	p.write(t, ".kamal/secrets", env.SecretsFile()+"APP_SECRET=s3cr3t \"quoted\"\n"+c.Secrets, 0o600)
	return p
}

// write creates a file of the project.
func (p *appProject) write(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// recordingHook installs a hook that appends "<name> $KAMAL_HOSTS
// $KAMAL_RUNTIME" to hooks.log in the project.
func (p *appProject) recordingHook(t *testing.T, name string) {
	t.Helper()
	log := filepath.Join(p.dir, "hooks.log")
	p.write(t, ".kamal/hooks/"+name, "#!/bin/sh\necho \""+name+" $KAMAL_HOSTS $KAMAL_RUNTIME\" >> '"+log+"'\n", 0o755)
}

// hookLog returns the lines the recording hooks wrote.
func (p *appProject) hookLog(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "hooks.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines
}

// image pushes version of the app (program: app, app-unhealthy...).
func (p *appProject) image(t *testing.T, ctx context.Context, program, version string) {
	t.Helper()
	if _, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: program, Repository: "e2e/" + p.service, Tag: version, Service: p.service}); err != nil {
		t.Fatal(err)
	}
}

// kamal runs kamal in the project and fails the test on an error.
func (p *appProject) kamal(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := kamal(t, ctx, p.dir, args...)
	if err != nil {
		t.Fatalf("kamal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// get fetches path through the proxy of h with the app's Host header.
func (p *appProject) get(ctx context.Context, h *testhosts.Host, path string) (int, string, error) {
	return testhosts.Get(ctx, "http://"+h.IP+path, p.host)
}

// expectVersion checks that every host in hosts serves version through its
// proxy, right now (kamal returns only after the proxy switched).
func (p *appProject) expectVersion(t *testing.T, ctx context.Context, version string, hosts ...*testhosts.Host) {
	t.Helper()
	for _, h := range hosts {
		status, body, err := p.get(ctx, h, "/")
		if err != nil {
			t.Errorf("%s: GET /: %v", h.Name, err)
			continue
		}
		if status != 200 || !strings.HasPrefix(body, "version="+version+" ") {
			t.Errorf("%s: GET / = %d %q, want 200 version=%s", h.Name, status, body, version)
		}
		// kamal sets --hostname <host>-<12 hex>, as Kamal does.
		if want := regexp.MustCompile(`host=` + regexp.QuoteMeta(h.IP) + `-[0-9a-f]{12}\n$`); status == 200 && !want.MatchString(body) {
			t.Errorf("%s: GET / = %q, want the container hostname %s-<12 hex>", h.Name, body, h.IP)
		}
	}
}

// containers lists the names of h's containers with label service=svc
// (all states), sorted by docker (newest first).
func containerNames(t *testing.T, ctx context.Context, h *testhosts.Host, filter ...string) []string {
	t.Helper()
	args := []string{"ps", "-a", "--format", "{{.Names}} {{.State}}"}
	for _, f := range filter {
		args = append(args, "--filter", f)
	}
	out, err := h.Docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(out), "\n", " | "))
}

func runningNames(t *testing.T, ctx context.Context, h *testhosts.Host, service string) string {
	t.Helper()
	out, err := h.Docker(ctx, "ps", "--filter", "label=service="+service, "--format", "{{.Names}}")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(out), " ")
}

// cleanupApp removes everything an app left on the hosts, whatever the
// test did, so scenarios do not see each other's containers.
func cleanupApp(t *testing.T, p *appProject) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range env.Hosts {
			out, _ := h.Docker(ctx, "ps", "-aq", "--filter", "label=service="+p.service)
			if ids := strings.Fields(out); len(ids) > 0 {
				_, _ = h.Docker(ctx, append([]string{"rm", "-f"}, ids...)...)
			}
			_ = os.RemoveAll(filepath.Join(h.Home, ".kamal", "apps", p.service))
			_ = os.RemoveAll(filepath.Join(h.Home, ".kamal", "lock-"+p.service))
		}
	})
}

// removeProxies removes kamal-proxy (and ~/.kamal) from every host now,
// so a proxy left by another scenario is not reused, and when the test ends.
func removeProxies(t *testing.T) {
	clean := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range env.Hosts {
			// With the containers a hand-over leaves (see proxy_reboot_test.go).
			_, _ = h.Docker(ctx, "rm", "-f", "kamal-proxy-next", "kamal-proxy", "kamal-proxy-ports")
			_, _ = h.Docker(ctx, "volume", "rm", "-f", "kamal-proxy-config")
			_ = os.RemoveAll(filepath.Join(h.Home, ".kamal"))
		}
	}
	clean()
	t.Cleanup(clean)
}

// TestDeployLifecycle: setup, deploy, redeploy, rollback, details, audit
// and prune with web on two hosts and workers (with a cmd) on a third,
// checked over HTTP through every web host's proxy.
func TestDeployLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "life", Web: hostIPs(0, 1), Workers: hostIPs(2), Extra: "error_pages_path: errors\n"})
	cleanupApp(t, p)
	p.write(t, "errors/503.html", "<h1>down for maintenance</h1>\n", 0o644)
	p.write(t, "errors/notes.txt", "not an error page\n", 0o644)
	web := env.Hosts[:2]
	pagesDir := func(h *testhosts.Host, version string) string {
		return filepath.Join(h.Home, ".kamal/proxy/apps-config/life/error_pages", version)
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		p.image(t, ctx, "app", v)
	}

	out := p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	for _, want := range []string{"Ensure Docker is installed...", "Ensure kamal-proxy is running...", "Finished all in"} {
		if !strings.Contains(out, want) {
			t.Errorf("setup output lacks %q:\n%s", want, out)
		}
	}
	p.expectVersion(t, ctx, "v1", web...)
	if got := runningNames(t, ctx, env.Hosts[2], "life"); got != "life-workers-v1" {
		t.Errorf("workers on vm3 = %q, want life-workers-v1", got)
	}
	// The worker runs the role's cmd, with the env and the secret file.
	inspect, err := env.Hosts[2].Docker(ctx, "inspect", "-f", "{{json .Args}} {{json .Config.Env}}", "life-workers-v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`["/app","--worker"]`, `GREETING=hello`, `KAMAL_VERSION=v1`, `KAMAL_HOST=` + env.Hosts[2].IP} {
		if !strings.Contains(inspect, want) {
			t.Errorf("worker container lacks %s: %s", want, inspect)
		}
	}
	envFile := filepath.Join(env.Hosts[0].Home, ".kamal/apps/life/env/roles/web.env")
	if st, err := os.Stat(envFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("env file %s: %v mode %v, want 0600", envFile, err, st)
	} else if b, _ := os.ReadFile(envFile); string(b) != "APP_SECRET=s3cr3t \"quoted\"\n" {
		t.Errorf("env file = %q", b)
	}

	if b, err := os.ReadFile(filepath.Join(pagesDir(web[0], "v1"), "503.html")); err != nil || !strings.Contains(string(b), "maintenance") {
		t.Errorf("error page of v1 not uploaded: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(pagesDir(web[0], "v1"), "notes.txt")); !os.IsNotExist(err) {
		t.Errorf("a file that is no error page was uploaded (%v)", err)
	}

	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	p.expectVersion(t, ctx, "v2", web...)
	// The old version's error pages are cleaned up with its container.
	if _, err := os.Stat(pagesDir(web[1], "v1")); !os.IsNotExist(err) {
		t.Errorf("error pages of v1 left after deploying v2 (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(pagesDir(web[1], "v2"), "503.html")); err != nil {
		t.Errorf("error page of v2: %v", err)
	}
	for _, h := range web {
		if got := runningNames(t, ctx, h, "life"); got != "life-web-v2" {
			t.Errorf("%s runs %q after deploy, want only life-web-v2", h.Name, got)
		}
	}

	p.kamal(t, ctx, "redeploy", "-P", "--version", "v3")
	p.expectVersion(t, ctx, "v3", web...)

	p.kamal(t, ctx, "rollback", "v1")
	p.expectVersion(t, ctx, "v1", web...)
	if got := runningNames(t, ctx, env.Hosts[2], "life"); got != "life-workers-v1" {
		t.Errorf("workers on vm3 after rollback = %q", got)
	}
	// The stopped v1 container was renamed aside, not reused.
	if all := strings.Join(containerNames(t, ctx, env.Hosts[0], "label=service=life"), " "); !strings.Contains(all, "life-web-v1_replaced_") {
		t.Errorf("no renamed v1 container after rollback: %s", all)
	}

	// A missing version is an error naming where it is missing.
	out, err = kamal(t, ctx, p.dir, "rollback", "v9")
	if err == nil || !strings.Contains(out, "The app version 'v9' is not available as a container for web on "+web[0].IP) {
		t.Errorf("rollback to a missing version: %v\n%s", err, out)
	}

	out = p.kamal(t, ctx, "details")
	for _, want := range []string{"Proxy Host: " + web[0].IP, proxyRepository + ":" + proxyVersion, "life-web-v1", "life-workers-v1"} {
		if !strings.Contains(out, want) {
			t.Errorf("details lack %q:\n%s", want, out)
		}
	}
	out = p.kamal(t, ctx, "audit")
	for _, want := range []string{"Booted app version v1", "Booted app version v2", "Booted app version v3", "Tagging " + env.Registry + "/e2e/life:v1 as the latest image"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %q:\n%s", want, out)
		}
	}
	// The lock is released after every command.
	if out := p.kamal(t, ctx, "lock", "status"); !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("lock status: %s", out)
	}

	p.kamal(t, ctx, "prune", "containers", "--retain", "1")
	if all := containerNames(t, ctx, env.Hosts[0], "label=service=life", "status=exited"); len(all) > 2 {
		t.Errorf("more than one stopped container left after prune --retain 1: %v", all)
	}
	p.expectVersion(t, ctx, "v1", web...)

	// remove leaves nothing of the app or the proxy behind.
	p.kamal(t, ctx, "remove", "-y")
	for _, h := range env.Hosts {
		if all := containerNames(t, ctx, h); len(all) > 0 {
			t.Errorf("%s still has containers after remove: %v", h.Name, all)
		}
		if _, err := os.Stat(filepath.Join(h.Home, ".kamal/apps/life")); !os.IsNotExist(err) {
			t.Errorf("%s still has .kamal/apps/life (%v)", h.Name, err)
		}
		out, err := h.Docker(ctx, "images", "-q", env.Registry+"/e2e/life")
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("%s still has app images: %q %v", h.Name, out, err)
		}
	}
}

// TestBrokenDeploy: a version that never gets healthy fails the deploy
// with a non-zero exit; the old version keeps serving, the new container
// is stopped and the lock is released.
func TestBrokenDeploy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	p := healthyThenBroken(t, ctx, "broken", 5)
	web := env.Hosts[:2]

	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", web...)

	out, err := kamal(t, ctx, p.dir, "deploy", "-P", "--version", "v2")
	if err == nil {
		t.Fatalf("deploy of an unhealthy version succeeded:\n%s", out)
	}
	// The new container's own log is shown, then the lock is released.
	for _, want := range []string{"Failed to boot web on", "version v2 listening on :80", "Releasing the deploy lock..."} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	p.expectVersion(t, ctx, "v1", web...)
	for _, h := range web {
		if got := runningNames(t, ctx, h, "broken"); got != "broken-web-v1" {
			t.Errorf("%s runs %q after the failed deploy, want broken-web-v1", h.Name, got)
		}
	}
	// The workers were never booted at v2: the barrier stopped them.
	if got := runningNames(t, ctx, env.Hosts[2], "broken"); got != "broken-workers-v1" {
		t.Errorf("workers after the failed deploy = %q, want broken-workers-v1", got)
	}
	if out := p.kamal(t, ctx, "lock", "status"); !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("lock left behind: %s", out)
	}
}

// TestTwoAppsShareProxy: two apps on one host share kamal-proxy; removing
// one keeps the other serving, removing the last one removes the proxy.
func TestTwoAppsShareProxy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	h := env.Hosts[0]
	alpha := newAppProject(t, appSpec{Service: "alpha", Web: hostIPs(0)})
	beta := newAppProject(t, appSpec{Service: "beta", Web: hostIPs(0)})
	for _, p := range []*appProject{alpha, beta} {
		cleanupApp(t, p)
		p.image(t, ctx, "app", "v1")
		p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	}
	alpha.expectVersion(t, ctx, "v1", h)
	beta.expectVersion(t, ctx, "v1", h)

	out := alpha.kamal(t, ctx, "remove", "-y")
	if !strings.Contains(out, "Not removing the proxy, as other apps are installed") {
		t.Errorf("remove of alpha did not keep the proxy:\n%s", out)
	}
	beta.expectVersion(t, ctx, "v1", h)
	if status, body, err := alpha.get(ctx, h, "/"); err != nil || status != 404 {
		t.Errorf("alpha after its removal: %d %q %v, want 404", status, body, err)
	}

	beta.kamal(t, ctx, "remove", "-y")
	if all := containerNames(t, ctx, h); len(all) > 0 {
		t.Errorf("containers left after removing both apps: %v", all)
	}
	if _, err := os.Stat(filepath.Join(h.Home, ".kamal/proxy")); !os.IsNotExist(err) {
		t.Errorf(".kamal/proxy left after removing both apps (%v)", err)
	}
}

// TestBootLimitAndHooks: boot.limit 1 boots one host at a time, each
// group between its own pre/post-app-boot hooks; deploy hooks get
// KAMAL_RUNTIME.
func TestBootLimitAndHooks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "limited", Web: hostIPs(0, 1), Extra: "boot:\n  limit: 1\n  wait: 1\n"})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.image(t, ctx, "app", "v2")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	for _, hook := range []string{"pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy"} {
		p.recordingHook(t, hook)
	}
	out := p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	p.expectVersion(t, ctx, "v2", env.Hosts[:2]...)
	// boot.wait follows every group, the last one too, as in Kamal.
	for _, want := range []string{"Waiting 1s after booting group 1 of 2", "Waiting 1s after booting group 2 of 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}

	all := strings.Join(hostIPs(0, 1), ",")
	log := p.hookLog(t)
	want := []string{
		"pre-deploy " + all,
		"pre-app-boot " + env.Hosts[0].IP,
		"post-app-boot " + env.Hosts[0].IP,
		"pre-app-boot " + env.Hosts[1].IP,
		"post-app-boot " + env.Hosts[1].IP,
	}
	if len(log) != len(want)+1 {
		t.Fatalf("hooks ran %q, want %q then post-deploy", log, want)
	}
	for i, w := range want {
		if strings.TrimSpace(log[i]) != w {
			t.Errorf("hook %d = %q, want %q", i, log[i], w)
		}
	}
	if last := strings.Fields(log[len(log)-1]); len(last) != 3 || last[0] != "post-deploy" {
		t.Errorf("last hook = %q, want post-deploy with hosts and KAMAL_RUNTIME", log[len(log)-1])
	}
}

// TestDestination: a destination file adds the hosts; names, env paths and
// the latest tag carry the destination.
func TestDestination(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "dest", Web: nil})
	cleanupApp(t, p)
	// deploy.yml has no hosts: the destination file brings them.
	yml, err := os.ReadFile(filepath.Join(p.dir, "config/deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, "config/deploy.yml", strings.Replace(string(yml), "servers:\n  web:\n    hosts:\n", "", 1), 0o644)
	// With a destination, secrets come from .kamal/secrets.staging.
	secrets, err := os.ReadFile(filepath.Join(p.dir, ".kamal/secrets"))
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, ".kamal/secrets.staging", string(secrets), 0o600)
	p.write(t, "config/deploy.staging.yml", "servers:\n  web:\n    hosts:\n      - "+env.Hosts[1].IP+"\nenv:\n  clear:\n    STAGE: staging\n", 0o644)
	p.image(t, ctx, "app", "v1")

	p.kamal(t, ctx, "setup", "-d", "staging", "-P", "--version", "v1")
	h := env.Hosts[1]
	p.expectVersion(t, ctx, "v1", h)
	if got := runningNames(t, ctx, h, "dest"); got != "dest-web-staging-v1" {
		t.Errorf("containers = %q, want dest-web-staging-v1", got)
	}
	if _, err := os.Stat(filepath.Join(h.Home, ".kamal/apps/dest-staging/env/roles/web.env")); err != nil {
		t.Errorf("staging env file: %v", err)
	}
	if out, err := h.Docker(ctx, "images", "-q", env.Registry+"/e2e/dest:latest-staging"); err != nil || strings.TrimSpace(out) == "" {
		t.Errorf("no latest-staging tag: %q %v", out, err)
	}
	if out := p.kamal(t, ctx, "app", "boot", "-d", "staging", "--version", "v1"); !strings.Contains(out, "Renaming container v1 to v1_replaced_") {
		t.Errorf("app boot of the running version did not rename it:\n%s", out)
	}
	p.expectVersion(t, ctx, "v1", h)
}

// selfSigned returns a certificate and key (PEM) for name.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), cert
}

// TestCustomCertificate: a certificate and key from secrets are uploaded
// next to the proxy config and kamal-proxy serves HTTPS with them.
func TestCustomCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	const name = "tls.example.test"
	p, certPEM, cert := newCustomCertProject(t, "tlsapp", name, hostIPs(0))
	p.image(t, ctx, "app", "v1")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")

	h := env.Hosts[0]
	uploaded, err := os.ReadFile(filepath.Join(h.Home, ".kamal/proxy/apps-config/tlsapp/tls/web/cert.pem"))
	if err != nil || strings.TrimSpace(string(uploaded)) != strings.TrimSpace(string(certPEM)) {
		t.Fatalf("uploaded certificate: %v\n%s", err, uploaded)
	}
	if status, body := httpsGetPinned(t, ctx, h.IP, name, cert); status != 200 || !strings.HasPrefix(body, "version=v1 ") {
		t.Errorf("HTTPS GET / = %d %q", status, body)
	}
}

// newCustomCertProject is an app answering to name over HTTPS with a
// self-signed certificate of its own (proxy ssl certificate_pem and
// private_key_pem from secrets).
func newCustomCertProject(t *testing.T, service, name string, web []string) (*appProject, []byte, *x509.Certificate) {
	t.Helper()
	certPEM, keyPEM, cert := selfSigned(t, name)
	pemDir := t.TempDir()
	for file, data := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(pemDir, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := newAppProject(t, appSpec{
		Service:    service,
		Web:        web,
		Host:       name,
		ProxyExtra: "  ssl:\n    certificate_pem: CERT_PEM\n    private_key_pem: KEY_PEM\n",
		Secrets: "CERT_PEM=$(cat " + filepath.Join(pemDir, "cert.pem") + ")\n" +
			"KEY_PEM=$(cat " + filepath.Join(pemDir, "key.pem") + ")\n",
	})
	cleanupApp(t, p)
	return p, certPEM, cert
}

// httpsGetPinned GETs https://<ip>/ for host name, trusting only cert, and
// fails the test unless the proxy served exactly that certificate.
func httpsGetPinned(t *testing.T, ctx context.Context, ip, name string, cert *x509.Certificate) (int, string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: name},
	}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+ip+"/", nil)
	req.Host = name
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS to %s through the proxy: %v", name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("served certificate serial %v, want ours %v", got, cert.SerialNumber)
	}
	return resp.StatusCode, string(body)
}

// TestParallelRoles: with boot.parallel_roles, web and workers on one host
// boot side by side (each role on its own connection) and both run.
func TestParallelRoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "par", Web: hostIPs(2), Workers: hostIPs(2), Extra: "boot:\n  parallel_roles: true\n"})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.image(t, ctx, "app", "v2")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	h := env.Hosts[2]
	p.expectVersion(t, ctx, "v2", h)
	if got := runningNames(t, ctx, h, "par"); got != "par-workers-v2 par-web-v2" && got != "par-web-v2 par-workers-v2" {
		t.Errorf("containers = %q, want web and workers at v2 only", got)
	}
}

// TestAssetPath: asset_path extracts each version's assets from its image
// into a volume mounted at that path; during a deploy the new and the old
// version share both sets (the new one wins on equal names), and the old
// version's directories go with its container.
func TestAssetPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "assets", Web: hostIPs(0), Extra: "asset_path: /public/assets\n"})
	cleanupApp(t, p)
	p.image(t, ctx, "app-assets", "v1")
	p.image(t, ctx, "app-assets", "v2")
	h := env.Hosts[0]
	expectAsset := func(name, want string) {
		t.Helper()
		status, body, err := p.get(ctx, h, "/assets/"+name)
		if err != nil || status != 200 || body != want {
			t.Errorf("GET /assets/%s = %d %q (%v), want 200 %q", name, status, body, err, want)
		}
	}
	dirs := func(kind string) []string {
		t.Helper()
		entries, err := os.ReadDir(filepath.Join(h.Home, ".kamal/apps/assets/assets", kind))
		if err != nil {
			t.Fatalf("assets %s: %v", kind, err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", h)
	expectAsset("v1.txt", "asset of v1\n")
	expectAsset("shared.txt", "shared from v1\n")
	if status, _, _ := p.get(ctx, h, "/assets/v2.txt"); status != 404 {
		t.Errorf("GET /assets/v2.txt before v2 = %d, want 404", status)
	}

	p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	p.expectVersion(t, ctx, "v2", h)
	expectAsset("v2.txt", "asset of v2\n")
	expectAsset("v1.txt", "asset of v1\n") // bridged from the previous version
	expectAsset("shared.txt", "shared from v2\n")

	for _, kind := range []string{"extracted", "volumes"} {
		if got := strings.Join(dirs(kind), " "); got != "web-v2" {
			t.Errorf("assets/%s = %q, want only web-v2 once v1 is stopped", kind, got)
		}
	}
	if left := containerNames(t, ctx, h, "name=assets-web-assets"); len(left) > 0 {
		t.Errorf("asset extraction container left: %v", left)
	}
}

// TestTagsEnv: env.tags adds clear and secret variables to the containers
// of the hosts carrying the tag only; the secret goes in that host's env
// file (0600), never on the command line.
func TestTagsEnv(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	tagged, plain := env.Hosts[0], env.Hosts[1]
	p := newAppProject(t, appSpec{Service: "tagged", Web: []string{tagged.IP + ": monitoring", plain.IP}, Secrets: "TAG_SECRET=t4g s3cret\n"})
	cleanupApp(t, p)
	yml, err := os.ReadFile(filepath.Join(p.dir, "config/deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const secrets = "  secret:\n    - APP_SECRET\n"
	if !strings.Contains(string(yml), secrets) {
		t.Fatalf("deploy.yml has no env.secret to extend:\n%s", yml)
	}
	tags := secrets + "  tags:\n    monitoring:\n      clear:\n        MONITOR: \"on\"\n      secret:\n        - TAG_SECRET\n"
	p.write(t, "config/deploy.yml", strings.Replace(string(yml), secrets, tags, 1), 0o644)
	p.image(t, ctx, "app", "v1")
	out := p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	if strings.Contains(out, "t4g s3cret") {
		t.Errorf("the tag secret shows in the output:\n%s", out)
	}
	p.expectVersion(t, ctx, "v1", tagged, plain)

	out = p.kamal(t, ctx, "app", "exec", "--reuse", "/app", "env")
	for _, want := range []string{"MONITOR=on", "TAG_SECRET=t4g s3cret", "GREETING=hello"} {
		if !strings.Contains(hostBlock(out, tagged.IP), want+"\n") {
			t.Errorf("%s (tagged) lacks %s:\n%s", tagged.Name, want, out)
		}
	}
	if block := hostBlock(out, plain.IP); !strings.Contains(block, "GREETING=hello\n") || strings.Contains(block, "MONITOR") || strings.Contains(block, "TAG_SECRET") {
		t.Errorf("%s (untagged) env:\n%s", plain.Name, block)
	}
	for _, h := range []*testhosts.Host{tagged, plain} {
		path := filepath.Join(h.Home, ".kamal/apps/tagged/env/roles/web.env")
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: env file %v mode %v, want 0600", h.Name, err, fi)
		}
		data, _ := os.ReadFile(path)
		if has := strings.Contains(string(data), "TAG_SECRET="); has != (h == tagged) {
			t.Errorf("%s: env file %q: TAG_SECRET present = %v", h.Name, data, has)
		}
	}
}

// TestWorkerNeverReady: a role without the proxy whose new container Docker
// reports unhealthy fails the deploy after deploy_timeout; the worker's old
// version keeps running, the new container is stopped, the lock released.
func TestWorkerNeverReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "sickjobs", Web: hostIPs(0), Workers: hostIPs(2), DeployTimeout: 5})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.image(t, ctx, "app", "v2")
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	worker := env.Hosts[2]
	if got := runningNames(t, ctx, worker, "sickjobs"); got != "sickjobs-workers-v1" {
		t.Fatalf("workers after setup = %q", got)
	}

	// From now on the workers' Docker health check always fails.
	yml, err := os.ReadFile(filepath.Join(p.dir, "config/deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "    cmd: /app --worker\n"
	health := cmd + "    options:\n      health-cmd: exit 1\n      health-interval: 1s\n      health-retries: 1\n"
	p.write(t, "config/deploy.yml", strings.Replace(string(yml), cmd, health, 1), 0o644)

	out, err := kamal(t, ctx, p.dir, "deploy", "-P", "--version", "v2")
	if err == nil {
		t.Fatalf("deploy with an unhealthy worker succeeded:\n%s", out)
	}
	for _, want := range []string{"Failed to boot workers on " + worker.IP, "container not ready after 5 seconds", "Releasing the deploy lock..."} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	if got := runningNames(t, ctx, worker, "sickjobs"); got != "sickjobs-workers-v1" {
		t.Errorf("workers after the failed deploy = %q, want sickjobs-workers-v1 only", got)
	}
	if out := p.kamal(t, ctx, "lock", "status"); !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("lock left behind: %s", out)
	}
}
