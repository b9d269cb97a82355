package commands

import (
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// The expected strings below are the commands Kamal generates for the same
// configurations (its generated commands and its own test strings), byte for byte, except
// where docs/compatibility.md lists a deliberate difference (marked).

func role(t *testing.T, cfg *config.Config, name string) *config.Role {
	t.Helper()
	r := cfg.Role(name)
	if r == nil {
		t.Fatalf("no role %s", name)
	}
	return r
}

func acc(t *testing.T, cfg *config.Config, name string) *config.Accessory {
	t.Helper()
	a, err := cfg.Accessory(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type cmdCase struct {
	name string
	got  Cmd
	want string
}

func check(t *testing.T, cases []cmdCase) {
	t.Helper()
	for _, c := range cases {
		if got := c.got.String(); got != c.want {
			t.Errorf("%s:\n got: %s\nwant: %s", c.name, got, c.want)
		}
	}
}

const currentRunningPrefix = `sh -c 'docker ps --latest --format '\''{{.Names}}'\'' --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter reference=dhh/app:latest --format '\''{{.ID}}'\'') ; docker ps --latest --format '\''{{.Names}}'\'' --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting' | head -1`

const currentRunningID = `sh -c 'docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter reference=dhh/app:latest --format '\''{{.ID}}'\'') ; docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting' | head -1`

func TestReferenceRegistry(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	r := NewRegistry(cfg.Registry)
	login, ok := r.Login("dhh", "hunter2")
	if !ok {
		t.Fatal("login skipped for a remote registry")
	}
	// Difference: Kamal passes -p "hunter2"; we feed the password on stdin.
	check(t, []cmdCase{
		{"login", login.Cmd, `docker login -u "dhh" --password-stdin`},
		{"logout", r.Logout(), `docker logout`},
	})
	if login.Stdin.Reveal() != "hunter2" || login.Cmd.Contains("hunter2") {
		t.Errorf("password must be on stdin only: %q", login.Cmd)
	}
	if s := login.Stdin.String(); s != "[REDACTED]" {
		t.Errorf("stdin payload prints as %q", s)
	}

	withServer := NewRegistry(config.Registry{Server: "hub.docker.com"})
	l, _ := withServer.Login("dhh", `more-secret'"`)
	check(t, []cmdCase{
		{"login server", l.Cmd, `docker login hub.docker.com -u "dhh" --password-stdin`},
		{"logout server", withServer.Logout(), `docker logout hub.docker.com`},
	})

	local := NewRegistry(config.Registry{Server: "localhost:5555", Local: true, LocalPort: 5555})
	if _, ok := local.Login("u", "p"); ok {
		t.Error("a local registry needs no login")
	}
	check(t, []cmdCase{
		{"local run", local.LocalRun(), `docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:5555:5000 --name kamal-docker-registry registry:3`},
		{"local remove", local.LocalRemove(), `docker stop kamal-docker-registry && docker rm kamal-docker-registry`},
	})
}

func TestReferenceBuild(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	b := NewBuilder(cfg, "999", "amd64")
	if b.Kind() != BuilderLocal {
		t.Fatalf("kind %s", b.Kind())
	}
	check(t, []cmdCase{
		{"ensure", b.EnsureLocalDocker(), `docker --version && docker buildx version`},
		{"inspect", b.Inspect(), `docker buildx inspect kamal-local-docker-container`},
		{"create", b.Create(), `docker buildx create --name kamal-local-docker-container --driver=docker-container`},
		{"remove", b.Remove(), `docker buildx rm kamal-local-docker-container`},
		{"push", b.Push(false), `docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container -t dhh/app:999 -t dhh/app:latest --label service="app" --file Dockerfile . 2>&1`},
		{"dev", b.Dev(false), `docker buildx build --output=type=docker --platform linux/amd64 --builder kamal-local-docker-container -t dhh/app:999-dirty -t dhh/app:latest-dirty --label service="app" --file Dockerfile . 2>&1`},
		{"info", b.Info(), `docker context ls && docker buildx ls`},
	})
	if !MissingBuilder("ERROR: no builder \"x\" found") || MissingBuilder("permission denied") {
		t.Error("MissingBuilder classification")
	}
}

func TestReferencePull(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	p := NewPull(cfg, "999")
	check(t, []cmdCase{
		{"mirror", p.FirstMirror(), `docker info --format '{{index .RegistryConfig.Mirrors 0}}'`},
		{"rm", p.RemoveImage(), `docker image rm --force dhh/app:999`},
		{"pull", p.Pull(), `docker pull dhh/app:999`},
		{"validate", p.ValidateImage(), `docker inspect -f '{{ .Config.Labels.service }}' dhh/app:999 | grep -x app || (echo "Image dhh/app:999 is missing the 'service' label" && exit 1)`},
	})
}

func TestReferenceProxy(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	p := NewProxy(cfg, "1.1.1.1")
	check(t, []cmdCase{
		{"network", CreateNetwork(), `docker network create kamal`},
		{"version", p.Version(), `docker inspect kamal-proxy --format '{{.Config.Image}}' | awk -F: '{print $NF}'`},
		{"mkdir", p.EnsureAppsDirectory(), `mkdir -p .kamal/proxy/apps-config`},
		{"start_or_run legacy", p.StartOrRun(), `docker container start kamal-proxy || echo $(cat .kamal/proxy/options 2> /dev/null || echo "--publish 80:80 --publish 443:443 --log-opt max-size=10m") $(cat .kamal/proxy/image 2> /dev/null || echo "basecamp/kamal-proxy"):$(cat .kamal/proxy/image_version 2> /dev/null || echo "v0.9.2") $(cat .kamal/proxy/run_command 2> /dev/null || echo "") | xargs docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config`},
		{"stop", p.Stop(), `docker container stop kamal-proxy`},
		{"start", p.Start(), `docker container start kamal-proxy`},
		{"remove container", p.RemoveContainer(), `docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy`},
		{"remove image", p.RemoveImage(), `docker image prune --all --force --filter label=org.opencontainers.image.title=kamal-proxy`},
		{"info", p.Info(), `docker ps --filter 'name=^kamal-proxy$'`},
		{"logs", p.Logs(LogOptions{Lines: 100}), `docker logs kamal-proxy --tail 100 --timestamps 2>&1`},
		{"rm dir", p.RemoveProxyDirectory(), `rm -r .kamal/proxy`},
		{"count apps", CountApps(), `ls .kamal/apps | wc -l`},
		{"traefik", CleanupTraefik(), `docker container stop traefik ; docker container prune --force --filter label=org.opencontainers.image.title=Traefik && docker image prune --all --force --filter label=org.opencontainers.image.title=Traefik`},
	})

	run := NewProxy(load(t, "proxyrun/deploy.yml", ""), "1.1.1.1")
	check(t, []cmdCase{{"start_or_run run config", run.StartOrRun(), `docker container start kamal-proxy || docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config --publish 0.0.0.0:8080:80 --publish 0.0.0.0:8443:443 --log-opt max-size=30m --expose=9090 --memory "512m" registry:4443/basecamp/kamal-proxy:v0.9.3 kamal-proxy run --debug --metrics-port "9090"`}})

	reg := NewProxy(load(t, "proxyregistry/deploy.yml", ""), "1.1.1.1")
	check(t, []cmdCase{{"registry run config", reg.Run(), `docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config --publish 80:80 --publish 443:443 --log-opt max-size=10m registry:4443/basecamp/kamal-proxy:v0.9.2 kamal-proxy run`}})
}

func TestReferenceApp(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999")
	workers := NewApp(cfg, role(t, cfg, "workers"), "1.1.1.3", "999")
	check(t, []cmdCase{
		{"run web", web.Run(Hostname("1.1.1.1", "0123456789ab")), `docker run --detach --restart unless-stopped --name app-web-999 --network kamal --hostname 1.1.1.1-0123456789ab --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env DB_HOST="1.1.1.4" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh/app:999`},
		{"run workers", workers.Run(Hostname("1.1.1.3", "0123456789ab")), `docker run --detach --restart unless-stopped --name app-workers-999 --network kamal --hostname 1.1.1.3-0123456789ab --env KAMAL_CONTAINER_NAME="app-workers-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.3" --env DB_HOST="1.1.1.4" --env-file .kamal/apps/app/env/roles/workers.env --log-opt max-size="10m" --label service="app" --label role="workers" --label destination dhh/app:999 bin/jobs`},
		{"clash check", web.ContainerID(), `docker container ls --all --filter 'name=^app-web-999$' --quiet`},
		{"rename", web.RenameContainer("999", ReplacedVersion("999", "0123456789abcdef")), `docker rename app-web-999 app-web-999_replaced_0123456789abcdef`},
		{"status", workers.Status("999"), `docker container ls --all --filter 'name=^app-workers-999$' --quiet | xargs docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'`},
		{"health log", web.HealthLog("999"), `docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker inspect --format '{{json .State.Health}}'`},
		{"stop new", web.Stop("999"), `docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker stop`},
		{"stop old proxy role", web.Stop("998"), `docker container ls --all --filter 'name=^app-web-998$' --quiet | xargs docker stop`},
		{"stop old worker", workers.Stop("998"), `docker container ls --all --filter 'name=^app-workers-998$' --quiet | xargs docker stop -t 30`},
		{"stop current", web.Stop(""), currentRunningID + ` | xargs docker stop`},
		{"tag latest", web.TagLatestImage(), `docker tag dhh/app:999 dhh/app:latest`},
		{"current version", web.CurrentRunningVersion(), currentRunningPrefix + ` | while read line; do echo ${line#app-web-}; done`},
		{"current id", web.CurrentRunningContainerID(), currentRunningID},
		{"start", web.Start(), `docker start app-web-999`},
		{"env dir", web.EnsureEnvDirectory(), `mkdir -p .kamal/apps/app/env/roles`},
		{"stale", web.ListVersions(), `docker ps --filter label=service=app --filter label=destination= --filter label=role=web --format "{{.Names}}" | while read line; do echo ${line#app-web-}; done`},
		{"error pages mkdir", CreateErrorPagesDirectory(cfg), `mkdir -p .kamal/proxy/apps-config/app/error_pages`},
		{"error pages cleanup", CleanUpErrorPages(cfg, "999"), `find .kamal/proxy/apps-config/app/error_pages -mindepth 1 -maxdepth 1 ! -name 999 -exec rm -rf {} +`},
		{"tls dir", web.CreateTLSDirectory(), `mkdir -p .kamal/proxy/apps-config/app/tls/web`},
		{"remove containers", web.RemoveContainers(), `docker container prune --force --filter label=service=app --filter label=destination= --filter label=role=web`},
		{"remove images", web.RemoveImages(), `docker image prune --all --force --filter label=service=app`},
		{"remove app dir", web.RemoveAppDirectory(), `rm -r .kamal/apps/app`},
		{"remove proxy app dir", RemoveProxyAppDirectory(cfg), `rm -r .kamal/proxy/apps-config/app`},
		{"exec new", web.ExecNew("bin/rails db:migrate", "9da021", ExecOptions{Env: []shell.KV{{Key: "FOO", Value: "bar"}}}), `docker run --rm --name app-web-exec-999-9da021 --network kamal --env DB_HOST="1.1.1.4" --env-file .kamal/apps/app/env/roles/web.env --env FOO="bar" --log-opt max-size="10m" dhh/app:999 bin/rails db:migrate`},
		{"exec reuse", web.ExecReuse("bin/rails db:migrate", ExecOptions{}), `docker exec app-web-999 bin/rails db:migrate`},
		{"exec interactive over ssh", NewSSH(cfg.SSH).Interactive("1.1.1.1", web.ExecNew("bash", "9da021", ExecOptions{Interactive: true, TTY: true})), `ssh -t root@1.1.1.1 -p 22 'docker run -it --rm --name app-web-exec-999-9da021 --network kamal --env DB_HOST="1.1.1.4" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" dhh/app:999 bash'`},
		{"logs", web.Logs(AppLogOptions{Lines: 100, Grep: "abc", GrepOptions: "-i"}), currentRunningID + ` | xargs docker logs --timestamps --tail 100 2>&1 | grep 'abc' -i`},
		{"logs container id", web.Logs(AppLogOptions{Lines: 100, ContainerID: "abc123"}), `sh -c 'echo abc123' | xargs docker logs --timestamps --tail 100 2>&1`},
		{"follow logs over ssh", NewSSH(cfg.SSH).Interactive("1.1.1.1", web.FollowLogs(AppLogOptions{Lines: 10, Grep: "x"})), "ssh -t root@1.1.1.1 -p 22 '" + strings.ReplaceAll(currentRunningID+` | xargs docker logs --timestamps --tail 10 --follow 2>&1 | grep "x"`, "'", `'\''`) + "'"},
	})
}

func TestReferenceAppDestination(t *testing.T) {
	cfg := load(t, "dest/deploy.yml", "staging")
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999")
	check(t, []cmdCase{
		{"run with destination", web.Run(""), `docker run --detach --restart unless-stopped --name app-web-staging-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-staging-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env KAMAL_DESTINATION="staging" --env-file .kamal/apps/app-staging/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination="staging" dhh/app:999`},
		{"tag latest with destination", web.TagLatestImage(), `docker tag dhh/app:999 dhh/app:latest-staging`},
		{"stop with version", NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999").Stop("123"), `docker container ls --all --filter 'name=^app-web-staging-123$' --quiet | xargs docker stop`},
		{"proxy deploy name", web.ProxyRemove(), `docker exec kamal-proxy kamal-proxy remove app-web-staging`},
	})
}

func TestReferenceAssets(t *testing.T) {
	cfg := load(t, "full/deploy.yml", "")
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999")
	// full/ uses a registry server; the asset strings only depend on paths
	// and the image.
	check(t, []cmdCase{
		{"extract", web.ExtractAssets(), `mkdir -p .kamal/apps/app/assets/extracted/web-999 && docker container rm app-web-assets 2> /dev/null || true && docker container create --name app-web-assets registry.example.com:5000/dhh/app:999 && docker container cp -L app-web-assets:/rails/public/assets/. .kamal/apps/app/assets/extracted/web-999 && docker container rm app-web-assets`},
		{"sync", web.SyncAssetVolumes("998"), `mkdir -p .kamal/apps/app/assets/volumes/web-999 ; cp -rnT .kamal/apps/app/assets/extracted/web-999 .kamal/apps/app/assets/volumes/web-999 ; cp -rnT .kamal/apps/app/assets/extracted/web-999 .kamal/apps/app/assets/volumes/web-998 || true ; cp -rnT .kamal/apps/app/assets/extracted/web-998 .kamal/apps/app/assets/volumes/web-999 || true`},
		{"sync first", web.SyncAssetVolumes(""), `mkdir -p .kamal/apps/app/assets/volumes/web-999 ; cp -rnT .kamal/apps/app/assets/extracted/web-999 .kamal/apps/app/assets/volumes/web-999`},
		{"cleanup", web.CleanUpAssets(), `find .kamal/apps/app/assets/extracted -maxdepth 1 -name 'web-*' ! -name web-999 -exec rm -rf "{}" + ; find .kamal/apps/app/assets/volumes -maxdepth 1 -name 'web-*' ! -name web-999 -exec rm -rf "{}" +`},
	})
	if !web.Run("").Contains(`--volume $PWD/.kamal/apps/app/assets/volumes/web-999:/rails/public/assets:ro`) {
		t.Errorf("asset volume missing: %s", web.Run(""))
	}
}

func TestReferenceKamalProxyDeploy(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999")
	check(t, []cmdCase{
		{"deploy defaults", web.ProxyDeploy("f00dcafe1234"), `docker exec kamal-proxy kamal-proxy deploy app-web --target="f00dcafe1234:3000" --host="app.example.com" --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"`},
		{"remove", web.ProxyRemove(), `docker exec kamal-proxy kamal-proxy remove app-web`},
		{"live", web.ProxyLive(), `docker exec kamal-proxy kamal-proxy resume app-web`},
		{"maintenance", web.ProxyMaintenance(30, "Back soon"), `docker exec kamal-proxy kamal-proxy stop app-web --drain-timeout="30s" --message="Back soon"`},
		{"maintenance no message", web.ProxyMaintenance(10, ""), `docker exec kamal-proxy kamal-proxy stop app-web --drain-timeout="10s"`},
	})

	full := load(t, "full/deploy.yml", "")
	fw := NewApp(full, role(t, full, "web"), "1.1.1.1", "999")
	check(t, []cmdCase{
		{"deploy all options", fw.ProxyDeploy("f00dcafe1234"), `docker exec kamal-proxy kamal-proxy deploy app-web --target="f00dcafe1234:3000" --host="a.example.com" --host="b.example.com" --tls --deploy-timeout="60s" --drain-timeout="30s" --health-check-interval="3s" --health-check-timeout="3s" --health-check-path="/health" --target-timeout="10s" --buffer-requests --buffer-responses="false" --buffer-memory="2000000" --max-request-body="40000000" --max-response-body="0" --path-prefix="/api" --path-prefix="/oauth" --strip-path-prefix="false" --forward-headers --tls-redirect="false" --log-request-header="Cache-Control" --log-request-header="X-Forwarded-Proto" --log-response-header="X-Request-ID" --error-pages="/home/kamal-proxy/.apps-config/app/error_pages/999"`},
	})

	// test/commands/app_test.rb "deploy with SSL"
	ssl := &config.Proxy{Hosts: []string{"example.com"}, AppPort: 80, SSL: true}
	check(t, []cmdCase{{"deploy with SSL", append(proxyExec("deploy", "app-web"), ProxyDeployArgs(ssl, DeployTarget{ContainerID: "172.1.0.2", DeployTimeout: 30, DrainTimeout: 30})...),
		`docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80" --host="example.com" --tls --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"`}})
}

func TestReferencePrune(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	p := NewPrune(cfg)
	check(t, []cmdCase{
		{"dangling", p.DanglingImages(), `docker image prune --force --filter label=service=app`},
		{"tagged", p.TaggedImages(), `docker image ls --filter label=service=app --format '{{.ID}} {{.Repository}}:{{.Tag}}' | grep -v -w "$(docker container ls -a --format '{{.Image}}\|' --filter label=service=app | tr -d '\n')dhh/app:latest\|dhh/app:<none>" | while read image tag; do docker rmi $tag; done`},
		{"containers 5", p.AppContainers(5), `docker ps -q -a --filter label=service=app --filter status=created --filter status=exited --filter status=dead | tail -n +6 | while read container_id; do docker rm $container_id; done`},
		{"containers 3", p.AppContainers(3), `docker ps -q -a --filter label=service=app --filter status=created --filter status=exited --filter status=dead | tail -n +4 | while read container_id; do docker rm $container_id; done`},
	})
}

func TestReferenceAccessory(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	a := NewAccessory(cfg, acc(t, cfg, "mysql"))
	check(t, []cmdCase{
		{"run", a.Run("1.1.1.4"), `docker run --name app-mysql --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 127.0.0.1:3306:3306 --env KAMAL_HOST="1.1.1.4" --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --volume $PWD/app-mysql/etc/mysql/my.cnf:/etc/mysql/my.cnf --volume $PWD/app-mysql/data:/var/lib/mysql --label service="app-mysql" mysql:8.0`},
		{"exists", a.Exists(), `docker ps -a -q --filter label=service=app-mysql`},
		{"start", a.Start(), `docker container start app-mysql`},
		{"stop", a.Stop(), `docker container stop app-mysql`},
		{"info", a.Info(), `docker ps --filter label=service=app-mysql`},
		{"logs", a.Logs(LogOptions{Lines: 100}), `docker logs app-mysql  --tail 100 --timestamps 2>&1`},
		{"logs since grep", a.Logs(LogOptions{Since: "5m", Lines: 10, Grep: "err"}), `docker logs app-mysql  --since 5m  --tail 10 --timestamps 2>&1 | grep 'err'`},
		{"pull", a.PullImage(), `docker image pull mysql:8.0`},
		{"remove container", a.RemoveContainer(), `docker container prune --force --filter label=service=app-mysql`},
		{"remove image", a.RemoveImage(), `docker image rm --force mysql:8.0`},
		{"remove dir", a.RemoveServiceDirectory(), `rm -rf app-mysql`},
		{"exec new", a.ExecNew("mysql -u root", false, false), `docker run --rm --network kamal --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --volume $PWD/app-mysql/etc/mysql/my.cnf:/etc/mysql/my.cnf --volume $PWD/app-mysql/data:/var/lib/mysql mysql:8.0 mysql -u root`},
		{"exec reuse", a.ExecReuse("mysql -u root", false, false), `docker exec app-mysql mysql -u root`},
		{"env dir", a.EnsureEnvDirectory(), `mkdir -p .kamal/apps/app/env/accessories`},
	})
	dirs := a.DirectoryCommands(acc(t, cfg, "mysql").Directories[0])
	check(t, []cmdCase{{"mkdir data", dirs[0], `mkdir -p $PWD/app-mysql/data`}})
	if len(dirs) != 1 {
		t.Errorf("no mode/owner set, got %v", dirs)
	}
	fc := a.FileCommands(acc(t, cfg, "mysql").Files[0])
	if fc.HostPath != "app-mysql/etc/mysql/my.cnf" {
		t.Errorf("host path %q", fc.HostPath)
	}
	check(t, []cmdCase{
		{"file mkdir", fc.Mkdir, `mkdir -p app-mysql/etc/mysql`},
		{"file chmod", fc.After[0], `chmod 755 app-mysql/etc/mysql/my.cnf`},
	})
}

func TestReferenceEnvFile(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	web := NewApp(cfg, role(t, cfg, "web"), "1.1.1.1", "999")
	got, err := web.EnvFile(map[string]string{"RAILS_MASTER_KEY": "abc123"})
	if err != nil || got != "RAILS_MASTER_KEY=abc123\n" {
		t.Errorf("env file %q, %v", got, err)
	}
	if _, err := web.EnvFile(map[string]string{}); err == nil || err.Error() != "secret RAILS_MASTER_KEY not found" {
		t.Errorf("missing secret error: %v", err)
	}
	if web.EnvFilePath() != ".kamal/apps/app/env/roles/web.env" {
		t.Errorf("path %s", web.EnvFilePath())
	}
	a := NewAccessory(cfg, acc(t, cfg, "mysql"))
	got, err = a.EnvFile(map[string]string{"MYSQL_ROOT_PASSWORD": "a \"b\" #c $d 中文"})
	if err != nil || got != "MYSQL_ROOT_PASSWORD=a \"b\" #c $d 中文\n" {
		t.Errorf("accessory env file %q, %v", got, err)
	}
}
