package commands

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

func TestAppRunFullConfig(t *testing.T) {
	cfg := load(t, "full/deploy.yml", "")
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999")
	jobs := NewApp(cfg, role(t, cfg, "jobs"), "1.1.1.2", "999")
	check(t, []cmdCase{
		// Escape() for env values; volumes as given; the asset volume under
		// $PWD; root labels before role labels; role options optionized.
		{"web", web.Run("h-1"), `docker run --detach --restart unless-stopped --name app-web-999 --network kamal --hostname h-1 --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env DB_HOST="1.1.1.4" --env WEIRD="a \$HOME ${HOME} \` + "`x\\`" + ` \"q\" "中文 --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --volume /data:/data --volume $PWD/.kamal/apps/app/assets/volumes/web-999:/rails/public/assets:ro --label service="app" --label role="web" --label destination --label team="ops" --label my-label="a b" --memory "1g" --cap-add registry.example.com:5000/dhh/app:999`},
		// role logging replaces the default; cmd stays shell text
		// No asset volume: jobs does not run behind the proxy (Kamal's Role#assets?).
		{"jobs", jobs.Run(""), `docker run --detach --restart unless-stopped --name app-jobs-999 --network kamal --env KAMAL_CONTAINER_NAME="app-jobs-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.2" --env DB_HOST="1.1.1.4" --env WEIRD="a \$HOME ${HOME} \` + "`x\\`" + ` \"q\" "中文 --env-file .kamal/apps/app/env/roles/jobs.env --log-driver "json-file" --log-opt max-file="3" --volume /data:/data --label service="app" --label role="jobs" --label destination --label team="ops" registry.example.com:5000/dhh/app:999 bin/jobs --queue "default"`},
		// stop_timeout wins over drain_timeout
		{"jobs stop", jobs.Stop("998"), `docker container ls --all --filter 'name=^app-jobs-998$' --quiet | xargs docker stop -t 12`},
		{"images", web.ListImages(), `docker image ls registry.example.com:5000/dhh/app`},
		{"containers", web.ListContainers(), `docker container ls --all --filter label=service=app --filter label=destination= --filter label=role=web`},
		{"container names", web.ListContainerNames(), `docker container ls --all --filter label=service=app --filter label=destination= --filter label=role=web --format '{{ .Names }}'`},
		{"remove container", web.RemoveContainer("998"), `docker container ls --all --filter 'name=^app-web-998$' --quiet | xargs docker container rm`},
		{"info", web.Info(), `docker ps --filter label=service=app --filter label=destination= --filter label=role=web`},
		{"all versions", web.ListVersions("--all"), `docker ps --filter label=service=app --filter label=destination= --filter label=role=web --all --format "{{.Names}}" | while read line; do echo ${line#app-web-}; done`},
		{"exec detach env", web.ExecNew("bin/rails runner 'puts 1'", "abcdef", ExecOptions{Detach: true, Env: []shell.KV{{Key: "X", Value: "$y"}}}), `docker run --detach --name app-web-exec-999-abcdef --network kamal --env DB_HOST="1.1.1.4" --env WEIRD="a \$HOME ${HOME} \` + "`x\\`" + ` \"q\" "中文 --env-file .kamal/apps/app/env/roles/web.env --env X="\$y" --log-opt max-size="10m" --volume /data:/data --memory "1g" --cap-add registry.example.com:5000/dhh/app:999 bin/rails runner 'puts 1'`},
		{"exec reuse interactive no tty", web.ExecReuse("bash", ExecOptions{Interactive: true, Env: []shell.KV{{Key: "A", Value: "b"}}}), `docker exec -i --env A="b" app-web-999 bash`},
		{"logs since no timestamps", web.Logs(AppLogOptions{Since: "2h", NoTimestamp: true, Grep: "it's"}), web.CurrentRunningContainerID().String() + ` | xargs docker logs --since 2h 2>&1 | grep 'it'\''s'`},
	})
}

func TestAppTLSAndCustomCerts(t *testing.T) {
	cfg := loadYAML(t, `service: app
image: dhh/app
servers:
  web:
    hosts: [1.1.1.1]
    proxy:
      host: app.example.com
      ssl: { certificate_pem: CERT_PEM, private_key_pem: KEY_PEM }
registry: { username: dhh, password: secret }
builder: { arch: amd64 }
`)
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999")
	if web.CertificatePath() != ".kamal/proxy/apps-config/app/tls/web/cert.pem" || web.PrivateKeyPath() != ".kamal/proxy/apps-config/app/tls/web/key.pem" {
		t.Errorf("cert paths %s %s", web.CertificatePath(), web.PrivateKeyPath())
	}
	check(t, []cmdCase{{"deploy with custom certs", web.ProxyDeploy("abc"), `docker exec kamal-proxy kamal-proxy deploy app-web --target="abc:80" --host="app.example.com" --tls --tls-certificate-path="/home/kamal-proxy/.apps-config/app/tls/web/cert.pem" --tls-private-key-path="/home/kamal-proxy/.apps-config/app/tls/web/key.pem" --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"`}})
}

func TestHostname(t *testing.T) {
	long := strings.Repeat("a", 50) + ".b.example.com"
	if got := Hostname(long, "0123456789ab"); got != strings.Repeat("a", 50)+"-0123456789ab" {
		t.Errorf("hostname %q", got)
	}
	if got := Hostname("web1.example.com", "0123456789ab"); got != "web1.example.com-0123456789ab" {
		t.Errorf("hostname %q", got)
	}
}

// Values Kamal would leave unquoted are POSIX-quoted when they are not
// plain words, so a hostile version or path cannot inject commands.
func TestUnsafeValuesAreQuoted(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "1; rm -rf /")
	for name, c := range map[string]Cmd{
		"run": web.Run(""), "start": web.Start(), "tag": web.TagLatestImage(), "exists": web.ContainerID(),
		"exec": web.ExecReuse("", ExecOptions{}), "rename": web.RenameContainer("1; rm -rf /", "x"),
		"pull": NewPull(cfg, "1; rm -rf /").Pull(), "build": NewBuilder(cfg, "1; rm -rf /", "amd64").Push(false),
	} {
		s := c.String()
		if strings.Contains(s, "1; rm") && !strings.Contains(s, "'") {
			t.Errorf("%s: unquoted value: %s", name, s)
		}
		if strings.Contains(s, " 1; rm") || strings.Contains(s, "-1; rm -rf / ") {
			t.Errorf("%s: value split into words: %s", name, s)
		}
	}
	check(t, []cmdCase{{"start", web.Start(), `docker start 'app-web-1; rm -rf /'`}})
}

func TestAccessoryFullConfig(t *testing.T) {
	cfg := load(t, "full/deploy.yml", "")
	redis := NewAccessory(cfg, acc(t, cfg, "redis"))
	if got := acc(t, cfg, "redis").Hosts; len(got) != 1 || got[0] != "1.1.1.2" {
		t.Fatalf("redis hosts %v", got)
	}
	check(t, []cmdCase{
		// restart from options replaces the default policy; bare port p:p;
		// volumes, then files, then directories (absolute path kept)
		{"run", redis.Run("1.1.1.2"), `docker run --name app-redis --detach --restart always --network kamal --log-opt max-size="10m" --publish 6379:6379 --env KAMAL_HOST="1.1.1.2" --env-file .kamal/apps/app/env/accessories/redis.env --volume /var/redis:/data --volume $PWD/app-redis/usr/local/etc/redis/redis.conf:/usr/local/etc/redis/redis.conf --volume /srv/redis:/srv --label service="app-redis" --label tier="cache" --memory "256m" redis:7 redis-server --appendonly yes`},
		{"follow", redis.FollowLogs(LogOptions{Grep: "x", GrepOptions: "-i"}), `docker logs app-redis --timestamps --tail 10 --follow 2>&1 | grep "x" -i`},
		{"exec interactive", redis.ExecNew("redis-cli", true, true), `docker run -it --rm --network kamal --env-file .kamal/apps/app/env/accessories/redis.env --volume /var/redis:/data --volume $PWD/app-redis/usr/local/etc/redis/redis.conf:/usr/local/etc/redis/redis.conf --volume /srv/redis:/srv redis:7 redis-cli`},
	})
	dirs := redis.DirectoryCommands(acc(t, cfg, "redis").Directories[0])
	fc := redis.FileCommands(acc(t, cfg, "redis").Files[0])
	check(t, []cmdCase{
		{"dir mkdir", dirs[0], `mkdir -p /srv/redis`},
		{"dir chmod", dirs[1], `chmod 0750 /srv/redis`},
		{"dir chown", dirs[2], `chown 999:999 /srv/redis`},
		{"file mkdir", fc.Mkdir, `mkdir -p app-redis/usr/local/etc/redis`},
		{"file chmod", fc.After[0], `chmod 0644 app-redis/usr/local/etc/redis/redis.conf`},
		{"file chown", fc.After[1], `chown redis app-redis/usr/local/etc/redis/redis.conf`},
	})

	site := NewAccessory(cfg, acc(t, cfg, "site"))
	login, ok := site.Registry().Login("bob", "pw")
	if !ok {
		t.Fatal("accessory registry login skipped")
	}
	if redis.Registry() != nil {
		t.Error("redis has no registry of its own")
	}
	check(t, []cmdCase{
		{"site run", site.Run("1.1.1.1"), `docker run --name app-site --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/accessories/site.env --label service="app-site" other.example.com/nginx:1`},
		{"site id", site.ContainerID(), `docker container ls --filter 'name=^app-site$' --quiet`},
		{"site proxy deploy", site.ProxyDeploy("abc"), `docker exec kamal-proxy kamal-proxy deploy app-site --target="abc:8080" --host="www.example.com" --deploy-timeout="60s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"`},
		{"site proxy remove", site.ProxyRemove(), `docker exec kamal-proxy kamal-proxy remove app-site`},
		{"site login", login.Cmd, `docker login other.example.com -u "bob" --password-stdin`},
	})
}

func TestSSHInteractive(t *testing.T) {
	cfg := load(t, "full/deploy.yml", "")
	remote := New("docker", "exec", "-it", "app-web-999", "sh")
	no := false
	check(t, []cmdCase{
		{"jump and keys", NewSSH(cfg.SSH).Interactive("1.1.1.1", remote), `ssh -J root@bastion.example.com -i ~/.ssh/id_deploy -o IdentitiesOnly=yes -t deploy@1.1.1.1 -p 2222 'docker exec -it app-web-999 sh'`},
		{"proxy command", NewSSH(config.SSH{ProxyCommand: "ssh -W %h:%p user@jump", LoadConfig: &no}).Interactive("h", remote), `ssh -F /dev/null -o ProxyCommand='ssh -W %h:%p user@jump' -t root@h -p 22 'docker exec -it app-web-999 sh'`},
		{"config file", NewSSH(config.SSH{ConfigFiles: []string{"my ssh/config"}, Proxy: "me@jump", User: "u", Port: 2200}).Interactive("h", remote), `ssh -F 'my ssh/config' -J me@jump -t u@h -p 2200 'docker exec -it app-web-999 sh'`},
	})
}

// A user starting with "-" must not become an ssh option: ssh -G (which
// prints the settings it would use) must show no ProxyCommand.
func TestSSHInteractiveUserIsNeverAnOption(t *testing.T) {
	no := false
	c := NewSSH(config.SSH{User: "-oProxyCommand=pwned", LoadConfig: &no}).Interactive("h", New("uptime"))
	if got, want := c.String(), `ssh -F /dev/null -t -p 22 -- -oProxyCommand=pwned@h 'uptime'`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	sshPath := testShell(t, "ssh")
	out, _ := exec.Command(testShell(t, "sh"), "-c", sshPath+" -G "+strings.TrimPrefix(c.String(), "ssh ")).CombinedOutput()
	if strings.Contains(strings.ToLower(string(out)), "proxycommand pwned") {
		t.Errorf("ssh took the user for an option:\n%s", out)
	}
}

func TestProxyBootConfig(t *testing.T) {
	def := BootConfig{Publish: true, HTTPPort: 80, HTTPSPort: 443, LogMaxSize: "10m"}.Files()
	for _, f := range def {
		if !f.Remove {
			t.Errorf("default %s should be removed, has %q", f.Path, f.Content)
		}
	}
	custom := BootConfig{Publish: true, HTTPPort: 8080, HTTPSPort: 8443, BindIPs: []string{"127.0.0.1", "::1"}, LogMaxSize: "30m",
		DockerOptions: []string{"sysctl net.ipv4.ip_unprivileged_port_start=0"}, Registry: "registry:4443", ImageVersion: "v0.9.3", MetricsPort: 9090, Debug: true}.Files()
	want := []BootConfigFile{
		{Path: ".kamal/proxy/options", Content: `--publish 127.0.0.1:8080:80 --publish 127.0.0.1:8443:443 --publish '[::1]:8080:80' --publish '[::1]:8443:443' --log-opt max-size=30m --expose=9090 '--sysctl net.ipv4.ip_unprivileged_port_start=0'`},
		{Path: ".kamal/proxy/image", Content: "registry:4443/basecamp/kamal-proxy"},
		{Path: ".kamal/proxy/image_version", Content: "v0.9.3"},
		{Path: ".kamal/proxy/run_command", Content: `kamal-proxy run --debug --metrics-port "9090"`},
	}
	for i, f := range custom {
		if f != want[i] {
			t.Errorf("file %d:\n got %+v\nwant %+v", i, f, want[i])
		}
	}
	noPublish := BootConfig{Publish: false, LogMaxSize: "10m"}.Files()
	if noPublish[0].Content != "--log-opt max-size=10m" || noPublish[0].Remove {
		t.Errorf("publish false: %+v", noPublish[0])
	}
	check(t, []cmdCase{
		{"echo", (&Proxy{}).BootConfigEcho(), `echo $(cat .kamal/proxy/options 2> /dev/null || echo "--publish 80:80 --publish 443:443 --log-opt max-size=10m") $(cat .kamal/proxy/image 2> /dev/null || echo "basecamp/kamal-proxy"):$(cat .kamal/proxy/image_version 2> /dev/null || echo "v0.9.2") $(cat .kamal/proxy/run_command 2> /dev/null || echo "")`},
		{"rm", RemoveFile(ProxyOptionsFile), `rm .kamal/proxy/options`},
		{"proxy logs grep", (&Proxy{}).Logs(LogOptions{Since: "1h", Lines: 5, Grep: "err", GrepOptions: "-i -v"}), `docker logs kamal-proxy --since 1h --tail 5 --timestamps 2>&1 | grep 'err' -i -v`},
		{"proxy follow", (&Proxy{}).FollowLogs(LogOptions{}), `docker logs kamal-proxy --timestamps --tail 10 --follow 2>&1`},
	})
}

func TestProxyRunNoPublish(t *testing.T) {
	cfg := loadYAML(t, bldYAML+"builder: { arch: amd64 }\nproxy: { run: { publish: false } }\n")
	check(t, []cmdCase{{"no publish", NewProxy(cfg, "1.1.1.1").Run(), `docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run`}})
}

func TestSecretRedaction(t *testing.T) {
	s := Secret("hunter2")
	for _, got := range []string{s.String(), s.GoString()} {
		if got != "[REDACTED]" {
			t.Errorf("secret printed as %q", got)
		}
	}
}

func TestCheckProxyVersion(t *testing.T) {
	for tag, tooOld := range map[string]bool{
		"": false, "v0.0.1\n": true, "v0.9.1": true, "v0.9.2": false, "v0.9.10": false, "v1.0": false, "0.8": true, "latest": false,
	} {
		err := CheckProxyVersion(tag)
		if (err != nil) != tooOld {
			t.Errorf("%q: err = %v, want too old = %v", tag, err, tooOld)
		}
	}
	want := "kamal-proxy version v0.0.1 is too old, run `kamal proxy reboot` in order to update to at least v0.9.2"
	if err := CheckProxyVersion("v0.0.1"); err == nil || err.Error() != want {
		t.Errorf("message %v", err)
	}
}
