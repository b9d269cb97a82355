package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// TestAccessories: two accessories of the test image, one placed by role
// (store, on the workers host) and one by tag (cache, on the web host
// tagged db, behind kamal-proxy with its own registry login). Checked
// inside the containers over HTTP: the uploaded files (an .erb rendered
// with the accessory env, a file with mode 0640), clear and secret env,
// the data directory surviving a reboot; then idempotent boot, exec,
// logs, details, stop/start, the proxy route, and remove cleaning up.
func TestAccessories(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)

	web, workers, tagged := env.Hosts[0], env.Hosts[1], env.Hosts[2]
	storeRef, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "accessory", Repository: "e2e/acc-store", Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "accessory", Repository: "e2e/acc-cache", Tag: "v1"}); err != nil {
		t.Fatal(err)
	}

	extra := fmt.Sprintf(`accessories:
  store:
    image: %s
    role: workers
    port: 9090
    labels:
      purpose: e2e
    env:
      clear:
        PORT: "9090"
        GREETING: hello accessory
      secret:
        - STORE_TOKEN
        - ALIASED:APP_SECRET
    files:
      - config/store.conf.erb:/etc/store/store.conf
      - local: config/plain.txt
        remote: /etc/store/plain.txt
        mode: "0640"
    directories:
      - data:/data
  cache:
    image: e2e/acc-cache:v1
    tag: db
    registry:
      server: %s
      username: %s
      password:
        - KAMAL_REGISTRY_PASSWORD
    proxy:
      host: cache.example.test
      app_port: 80
      healthcheck:
        path: /up
        interval: 1
`, storeRef, env.Registry, env.RegistryUser)
	p := newAppProject(t, appSpec{Service: "acc", Web: []string{web.IP, tagged.IP + ": db"}, Workers: []string{workers.IP}, Extra: extra})
	cleanupAccessories(t, "acc-store", "acc-cache")
	p.write(t, "config/store.conf.erb", "greeting=<%= ENV[\"GREETING\"] %>\n", 0o644)
	p.write(t, "config/plain.txt", "plain content\n", 0o644)
	secrets, err := os.ReadFile(filepath.Join(p.dir, ".kamal/secrets"))
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, ".kamal/secrets", string(secrets)+"STORE_TOKEN=t0ken-s3cret\n", 0o600)

	// The proxy runs on the proxied accessory's host too.
	p.kamal(t, ctx, "proxy", "boot")
	out := p.kamal(t, ctx, "accessory", "boot", "all")
	if strings.Contains(out, "t0ken") {
		t.Errorf("the secret shows in the boot output:\n%s", out)
	}

	store := "http://" + workers.IP + ":9090"
	waitHTTP(t, ctx, store+"/up", 200)
	for path, want := range map[string]string{
		"/file?path=/etc/store/store.conf": "greeting=hello accessory\n",
		"/file?path=/etc/store/plain.txt":  "plain content\n",
		"/mode?path=/etc/store/plain.txt":  "0640\n",
		"/mode?path=/etc/store/store.conf": "0755\n",
		"/env?name=GREETING":               "hello accessory\n",
		"/env?name=STORE_TOKEN":            "t0ken-s3cret\n",
		"/env?name=ALIASED":                "s3cr3t \"quoted\"\n",
		"/env?name=KAMAL_HOST":             workers.IP + "\n",
		"/boots":                           "1\n",
	} {
		if got := waitHTTP(t, ctx, store+path, 200); got != want {
			t.Errorf("GET %s = %q, want %q", path, got, want)
		}
	}
	envFile := filepath.Join(workers.Home, ".kamal/apps/acc/env/accessories/store.env")
	if st, err := os.Stat(envFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("env file %s: %v %v, want mode 0600", envFile, err, st)
	} else if b, _ := os.ReadFile(envFile); string(b) != "STORE_TOKEN=t0ken-s3cret\nALIASED=s3cr3t \"quoted\"\n" {
		t.Errorf("env file = %q", b)
	}
	if labels, err := workers.Docker(ctx, "inspect", "-f", "{{index .Config.Labels \"purpose\"}} {{.HostConfig.RestartPolicy.Name}}", "acc-store"); err != nil || strings.TrimSpace(labels) != "e2e unless-stopped" {
		t.Errorf("acc-store label and restart policy = %q, %v", labels, err)
	}
	// Role and tag placement: store only on the workers host, cache only
	// on the tagged host.
	for _, h := range env.Hosts {
		for svc, home := range map[string]*testhosts.Host{"acc-store": workers, "acc-cache": tagged} {
			got := runningNames(t, ctx, h, svc)
			if want := map[bool]string{true: svc, false: ""}[h == home]; got != want {
				t.Errorf("%s on %s: running %q, want %q", svc, h.Name, got, want)
			}
		}
	}

	// The proxied accessory answers through kamal-proxy by its host name.
	if status, body := getWithHost(t, ctx, "http://"+tagged.IP+"/", "cache.example.test"); status != 200 || !strings.HasPrefix(body, "accessory host=") {
		t.Errorf("cache through the proxy: %d %q", status, body)
	}

	// Boot is idempotent: the existing container is kept.
	out = p.kamal(t, ctx, "accessory", "boot", "store")
	if want := "Skipping booting `store` on " + workers.IP + ", a container already exists"; !strings.Contains(out, want) {
		t.Errorf("second boot lacks %q:\n%s", want, out)
	}
	if got := waitHTTP(t, ctx, store+"/boots", 200); got != "1\n" {
		t.Errorf("boots after the skipped boot = %q, want 1", got)
	}

	// Reboot: a new container; the data directory keeps the first boot.
	p.kamal(t, ctx, "accessory", "reboot", "store")
	waitHTTP(t, ctx, store+"/up", 200)
	if got := waitHTTP(t, ctx, store+"/boots", 200); got != "2\n" {
		t.Errorf("boots after reboot = %q, want 2 (the data directory must persist)", got)
	}
	if _, err := os.Stat(filepath.Join(workers.Home, "acc-store/data/boots.log")); err != nil {
		t.Errorf("data directory on the host: %v", err)
	}

	// exec in the running container, and in a new one of the image.
	out = p.kamal(t, ctx, "accessory", "exec", "store", "--reuse", "/app", "mode", "/etc/store/plain.txt")
	if !strings.Contains(out, "App Host: "+workers.IP+"\n0640\n") {
		t.Errorf("exec --reuse:\n%s", out)
	}
	out = p.kamal(t, ctx, "accessory", "exec", "store", "/app", "getenv", "GREETING")
	if !strings.Contains(out, "Launching command from new container...") || !strings.Contains(out, "App Host: "+workers.IP+"\nhello accessory\n") {
		t.Errorf("exec in a new container:\n%s", out)
	}

	out = p.kamal(t, ctx, "accessory", "logs", "store", "-n", "5", "-T")
	if !strings.Contains(out, "accessory listening on :9090, boot 2") {
		t.Errorf("logs:\n%s", out)
	}
	out = p.kamal(t, ctx, "accessory", "logs", "store", "-g", "boot 2")
	if !strings.Contains(out, "accessory listening on :9090, boot 2") {
		t.Errorf("logs -g:\n%s", out)
	}

	// Interactive exec: over SSH with a TTY on the accessory's host, in a
	// new container and in the running one.
	out = p.kamal(t, ctx, "accessory", "exec", "-i", "store", "/app", "getenv", "GREETING")
	if !strings.Contains(out, "Launching interactive command via SSH from new container...") || !strings.Contains(out, "hello accessory") {
		t.Errorf("exec -i:\n%s", out)
	}
	out = p.kamal(t, ctx, "accessory", "exec", "-i", "--reuse", "store", "/app", "mode", "/etc/store/plain.txt")
	if !strings.Contains(out, "Launching interactive command via SSH from existing container...") || !strings.Contains(out, "0640") {
		t.Errorf("exec -i --reuse:\n%s", out)
	}
	// logs -f streams from the host until Ctrl-C; --since reaches back to
	// the boot line.
	followAccessoryLogs(t, ctx, p.dir, workers.IP, "accessory listening on :9090, boot 2", "logs", "store", "-f", "--since", "1h", "-T")

	out = p.kamal(t, ctx, "accessory", "details", "all")
	for _, want := range []string{"Accessory store Host: " + workers.IP, "Accessory cache Host: " + tagged.IP, storeRef} {
		if !strings.Contains(out, want) {
			t.Errorf("details lack %q:\n%s", want, out)
		}
	}

	p.kamal(t, ctx, "accessory", "stop", "store")
	if got := runningNames(t, ctx, workers, "acc-store"); got != "" {
		t.Errorf("acc-store still running after stop: %q", got)
	}
	p.kamal(t, ctx, "accessory", "start", "store")
	waitHTTP(t, ctx, store+"/up", 200)
	p.kamal(t, ctx, "accessory", "restart", "cache")
	if status, _ := getWithHost(t, ctx, "http://"+tagged.IP+"/", "cache.example.test"); status != 200 {
		t.Errorf("cache through the proxy after restart: %d", status)
	}

	if out, err := kamal(t, ctx, p.dir, "accessory", "boot", "nope"); err == nil || !strings.Contains(out, "No accessory by the name of 'nope' (options: store and cache)") {
		t.Errorf("unknown accessory: %v\n%s", err, out)
	}
	// Without -y, the question; no answer aborts and keeps everything.
	if out, err := kamal(t, ctx, p.dir, "accessory", "remove", "all"); err != nil || !strings.Contains(out, "Aborted") {
		t.Errorf("remove without -y: %v\n%s", err, out)
	}
	if got := runningNames(t, ctx, workers, "acc-store"); got != "acc-store" {
		t.Errorf("an aborted remove touched acc-store: %q", got)
	}

	p.kamal(t, ctx, "accessory", "remove", "all", "-y")
	for h, svc := range map[*testhosts.Host]string{workers: "acc-store", tagged: "acc-cache"} {
		if names := containerNames(t, ctx, h, "label=service="+svc); len(names) != 0 {
			t.Errorf("%s left containers on %s: %q", svc, h.Name, names)
		}
		if _, err := os.Stat(filepath.Join(h.Home, svc)); !os.IsNotExist(err) {
			t.Errorf("%s directory left on %s (%v)", svc, h.Name, err)
		}
	}
	for h, ref := range map[*testhosts.Host]string{workers: storeRef, tagged: env.Registry + "/e2e/acc-cache:v1"} {
		if out, _ := h.Docker(ctx, "images", "-q", ref); strings.TrimSpace(out) != "" {
			t.Errorf("image %s left on %s", ref, h.Name)
		}
	}
	if status, _ := getWithHost(t, ctx, "http://"+tagged.IP+"/", "cache.example.test"); status == 200 {
		t.Errorf("the proxy still routes the removed cache accessory")
	}
}

// getWithHost fetches url with the Host header set (a proxy route).
func getWithHost(t *testing.T, ctx context.Context, url, host string) (int, string) {
	t.Helper()
	status, body, err := testhosts.Get(ctx, url, host)
	if err != nil {
		t.Errorf("GET %s (Host %s): %v", url, host, err)
		return 0, ""
	}
	return status, body
}

// cleanupAccessories removes the accessories' containers, directories and
// the app's state from every host when the test ends, whatever happened.
func cleanupAccessories(t *testing.T, services ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range env.Hosts {
			for _, svc := range services {
				out, _ := h.Docker(ctx, "ps", "-aq", "--filter", "label=service="+svc)
				if ids := strings.Fields(out); len(ids) > 0 {
					_, _ = h.Docker(ctx, append([]string{"rm", "-f"}, ids...)...)
				}
				_ = os.RemoveAll(filepath.Join(h.Home, svc))
			}
		}
	})
}

// TestAccessoriesSetupAndRemove: `kamal setup` boots the accessories (here
// one on a host given by address, outside the app's servers), `details`
// shows them, `accessory upgrade` reboots them, and `kamal remove` removes
// them with the app.
func TestAccessoriesSetupAndRemove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	web, db := env.Hosts[0], env.Hosts[1]
	ref, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "accessory", Repository: "e2e/acc-store", Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf(`accessories:
  kv:
    image: %s
    host: %s
    port: "9191:80"
    directories:
      - data:/data
`, ref, db.IP)
	p := newAppProject(t, appSpec{Service: "accsetup", Web: []string{web.IP}, Extra: extra})
	cleanupApp(t, p)
	cleanupAccessories(t, "accsetup-kv")
	p.image(t, ctx, "app", "v1")

	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", web)
	kv := "http://" + db.IP + ":9191"
	if got := waitHTTP(t, ctx, kv+"/boots", 200); got != "1\n" {
		t.Errorf("kv boots after setup = %q, want 1", got)
	}
	if out := p.kamal(t, ctx, "details"); !strings.Contains(out, "Accessory kv Host: "+db.IP) {
		t.Errorf("details lack the accessory:\n%s", out)
	}

	out := p.kamal(t, ctx, "accessory", "upgrade", "kv", "-y", "--rolling")
	if !strings.Contains(out, "Upgrading kv accessories on "+db.IP+"...") || !strings.Contains(out, "Upgraded kv accessories on "+db.IP+"...") {
		t.Errorf("upgrade output:\n%s", out)
	}
	if got := waitHTTP(t, ctx, kv+"/boots", 200); got != "2\n" {
		t.Errorf("kv boots after upgrade = %q, want 2", got)
	}

	p.kamal(t, ctx, "remove", "-y")
	if names := containerNames(t, ctx, db, "label=service=accsetup-kv"); len(names) != 0 {
		t.Errorf("kamal remove left the accessory: %q", names)
	}
	if _, err := os.Stat(filepath.Join(db.Home, "accsetup-kv")); !os.IsNotExist(err) {
		t.Errorf("kamal remove left the accessory directory (%v)", err)
	}
	if out, _ := db.Docker(ctx, "images", "-q", ref); strings.TrimSpace(out) != "" {
		t.Errorf("kamal remove left the accessory image")
	}
}

// followAccessoryLogs runs `kamal accessory <args>` (a logs -f), waits
// for a line containing want, then interrupts it as Ctrl-C would and
// expects a clean exit.
func followAccessoryLogs(t *testing.T, ctx context.Context, dir, host, want string, args ...string) {
	t.Helper()
	cmd := kamalCommand(t, ctx, dir, append([]string{"accessory"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var seen []string
	for found := false; !found; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("accessory logs -f ended before streaming %q: %v\n%s", want, <-done, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			found = strings.Contains(l, want)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			t.Fatalf("no %q streamed:\n%s", want, strings.Join(seen, "\n"))
		}
	}
	if !strings.Contains(strings.Join(seen, "\n"), "Following logs on "+host) {
		t.Errorf("no 'Following logs on %s' line:\n%s", host, strings.Join(seen, "\n"))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines {
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("accessory logs -f after Ctrl-C: %v", err)
		}
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		t.Error("accessory logs -f did not end after Ctrl-C")
	}
}

// TestAccessoryCustomCertificate: a proxied accessory with `ssl:` naming a
// certificate and key in secrets; they are uploaded under the accessory's
// TLS directory and kamal-proxy serves HTTPS for its host with them.
func TestAccessoryCustomCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	ref, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "accessory", Repository: "e2e/acc-tls", Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	const name = "acc-tls.example.test"
	certPEM, keyPEM, cert := selfSigned(t, name)
	pemDir := t.TempDir()
	for file, data := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(pemDir, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := env.Hosts[0]
	extra := fmt.Sprintf(`accessories:
  secure:
    image: %s
    host: %s
    proxy:
      host: %s
      app_port: 80
      ssl:
        certificate_pem: ACC_CERT
        private_key_pem: ACC_KEY
      healthcheck:
        path: /up
        interval: 1
`, ref, h.IP, name)
	p := newAppProject(t, appSpec{Service: "acctls", Web: []string{h.IP}, Extra: extra,
		Secrets: "ACC_CERT=$(cat " + filepath.Join(pemDir, "cert.pem") + ")\nACC_KEY=$(cat " + filepath.Join(pemDir, "key.pem") + ")\n"})
	cleanupAccessories(t, "acctls-secure")

	p.kamal(t, ctx, "proxy", "boot")
	out := p.kamal(t, ctx, "accessory", "boot", "secure")
	if !strings.Contains(out, "Writing SSL certificates for accessory secure") {
		t.Errorf("boot output:\n%s", out)
	}
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("the key shows in the output:\n%s", out)
	}
	dir := filepath.Join(h.Home, ".kamal/proxy/apps-config/acctls/tls/accessories/secure")
	for file, want := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
			t.Fatalf("uploaded %s: %v\n%s", file, err, got)
		}
	}

	if status, body := httpsGetPinned(t, ctx, h.IP, name, cert); status != 200 || !strings.HasPrefix(body, "accessory host=") {
		t.Errorf("HTTPS GET / = %d %q", status, body)
	}
	p.kamal(t, ctx, "accessory", "remove", "secure", "-y")
}
