package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, yml string) *Config {
	t.Helper()
	c, err := loadYAML(t, yml, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const modelYAML = minimalHead + `primary_role: web
servers:
  workers:
    hosts:
      - 1.1.1.3
      - 1.1.1.4: [replica, monitoring]
    cmd: bin/jobs
    env:
      clear: {QUEUE: default, DB_HOST: workers-db}
      secret: [WORKER_KEY]
    logging:
      options: {max-file: "3"}
    labels: {team: jobs}
    proxy:
      app_port: 4000
      healthcheck: {path: /jobs/up}
  web:
    - 1.1.1.1
    - 1.1.1.2: monitoring
  cron:
    hosts: [1.1.1.1]
    proxy: false
env:
  clear: {DB_HOST: db, RAILS_ENV: production}
  secret: [RAILS_MASTER_KEY, DB_PASSWORD:MAIN_DB_PASSWORD]
  tags:
    monitoring: {DB_HOST: monitor-db}
    replica:
      clear: {DB_HOST: replica-db}
      secret: [READONLY_PASSWORD]
proxy:
  host: app.example.com
  app_port: 3000
  healthcheck: {interval: 3, path: /up}
  buffering: {max_request_body: 40_000_000}
labels: {app: myapp}
logging:
  driver: json-file
  options: {max-size: 100m}
asset_path: /rails/public/assets:ro
boot: {limit: 50%, wait: 2}
accessories:
  db:
    image: mysql:8.0
    roles: [workers, web]
  redis:
    image: redis
    tag: monitoring
    registry: {server: ghcr.io, username: u, password: [GHCR]}
  search:
    image: es
    hosts: [9.9.9.9, 1.1.1.1]
`

func TestModel(t *testing.T) {
	c := mustLoad(t, modelYAML)
	if got := c.RoleNames(); !reflect.DeepEqual(got, []string{"cron", "web", "workers"}) {
		t.Errorf("roles %v", got)
	}
	if got := c.AppHosts(); !reflect.DeepEqual(got, []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"}) {
		t.Errorf("app hosts %v", got)
	}
	if got := c.AllHosts(); !reflect.DeepEqual(got, []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "9.9.9.9"}) {
		t.Errorf("all hosts %v", got)
	}
	if c.PrimaryHost() != "1.1.1.1" || c.PrimaryRole().Name != "web" || !c.PrimaryRole().Primary {
		t.Errorf("primary %s %v", c.PrimaryHost(), c.PrimaryRole())
	}
	if got := c.ProxyHosts(); !reflect.DeepEqual(got, []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"}) {
		t.Errorf("proxy hosts %v", got)
	}
	if names := roleNames(c.RolesOnHost("1.1.1.1")); !reflect.DeepEqual(names, []string{"cron", "web"}) {
		t.Errorf("roles on host %v", names)
	}

	web, workers, cron := c.Role("web"), c.Role("workers"), c.Role("cron")
	if cron.Proxy != nil {
		t.Error("cron: proxy: false must disable the proxy")
	}
	if web.Proxy == nil || web.Proxy.AppPort != 3000 || web.Proxy.Hosts[0] != "app.example.com" {
		t.Errorf("web proxy %+v", web.Proxy)
	}
	// role proxy deep-merged over root: role wins, root fills the rest
	wp := workers.Proxy
	if wp == nil || wp.AppPort != 4000 || wp.Healthcheck.Path != "/jobs/up" || *wp.Healthcheck.Interval != 3 || *wp.Buffering.MaxRequestBody != 40000000 {
		t.Errorf("workers proxy %+v", wp)
	}
	if workers.ContainerPrefix() != "app-workers" || workers.ContainerName("999") != "app-workers-999" {
		t.Errorf("container prefix %s", workers.ContainerPrefix())
	}
	if workers.Cmd != "bin/jobs" || web.Cmd != "" {
		t.Errorf("cmd %q %q", workers.Cmd, web.Cmd)
	}
	if !reflect.DeepEqual(workers.HostTags["1.1.1.4"], []string{"replica", "monitoring"}) || !reflect.DeepEqual(web.HostTags["1.1.1.2"], []string{"monitoring"}) {
		t.Errorf("tags %v %v", workers.HostTags, web.HostTags)
	}

	// env: root, role, then the host's tags in the host's tag order
	env := c.RoleEnv(workers, "1.1.1.4")
	if got := env.ClearOrder; !reflect.DeepEqual(got, []string{"DB_HOST", "RAILS_ENV", "QUEUE"}) {
		t.Errorf("clear order %v", got)
	}
	if env.Clear["DB_HOST"] != "monitor-db" {
		t.Errorf("DB_HOST %s (monitoring tag comes last)", env.Clear["DB_HOST"])
	}
	var secrets []string
	for _, s := range env.Secrets {
		secrets = append(secrets, s.String())
	}
	if !reflect.DeepEqual(secrets, []string{"RAILS_MASTER_KEY", "DB_PASSWORD:MAIN_DB_PASSWORD", "WORKER_KEY", "READONLY_PASSWORD"}) {
		t.Errorf("secrets %v", secrets)
	}
	if env.Secrets[1].Name != "DB_PASSWORD" || env.Secrets[1].SecretKey() != "MAIN_DB_PASSWORD" {
		t.Errorf("aliased secret %+v", env.Secrets[1])
	}
	if e := c.RoleEnv(workers, "1.1.1.3"); e.Clear["DB_HOST"] != "workers-db" {
		t.Errorf("untagged host DB_HOST %s", e.Clear["DB_HOST"])
	}

	// labels and logging merge
	if !reflect.DeepEqual(workers.LabelsOrder, []string{"app", "team"}) {
		t.Errorf("labels %v", workers.LabelsOrder)
	}
	if workers.Logging.Driver != "json-file" || !reflect.DeepEqual(workers.Logging.OptionsOrder, []string{"max-size", "max-file"}) {
		t.Errorf("logging %+v", workers.Logging)
	}
	if got := workers.Logging.Args(); !reflect.DeepEqual(got, []string{"--log-driver", `"json-file"`, "--log-opt", `max-size="100m"`, "--log-opt", `max-file="3"`}) {
		t.Errorf("logging args %v", got)
	}
	if web.AssetPath != "/rails/public/assets" || web.AssetPathOptions != "ro" {
		t.Errorf("asset path %q %q", web.AssetPath, web.AssetPathOptions)
	}

	// accessories
	db, _ := c.Accessory("db")
	if !reflect.DeepEqual(db.Hosts, []string{"1.1.1.3", "1.1.1.4", "1.1.1.1", "1.1.1.2"}) || db.Service != "app-db" || db.Network != "kamal" {
		t.Errorf("db %+v", db)
	}
	redis, _ := c.Accessory("redis")
	if !reflect.DeepEqual(redis.Hosts, []string{"1.1.1.4", "1.1.1.2"}) || redis.Image != "ghcr.io/redis" || redis.Registry.Password.Secret != "GHCR" {
		t.Errorf("redis %+v", redis)
	}
	if _, err := c.Accessory("nope"); err == nil || err.Error() != "No accessory by the name of 'nope' (options: db, redis, and search)" {
		t.Errorf("accessory error %v", err)
	}

	// boot groups: 50% of 5 hosts (accessory hosts count) = 2
	if got := c.BootGroups(c.AppHosts()); !reflect.DeepEqual(got, [][]string{{"1.1.1.1", "1.1.1.2"}, {"1.1.1.3", "1.1.1.4"}}) {
		t.Errorf("boot groups %v", got)
	}

	// images and versions
	if c.Repository() != "dhh/app" || c.LatestImage() != "dhh/app:latest" {
		t.Errorf("repository %s %s", c.Repository(), c.LatestImage())
	}
	if img, _ := c.AbsoluteImage(); img != "dhh/app:999" {
		t.Errorf("absolute image %s", img)
	}
	if s, _ := c.ServiceWithVersion(); s != "app-999" {
		t.Errorf("service with version %s", s)
	}
}

func roleNames(rs []*Role) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestDefaults(t *testing.T) {
	c := mustLoad(t, baseYAML)
	if c.RetainContainers != 5 || c.ReadinessDelay != 7 || c.DeployTimeout != 30 || c.DrainTimeout != 30 || c.StopTimeout != nil {
		t.Errorf("timeouts %+v", c)
	}
	if c.HooksPath != ".kamal/hooks" || c.SecretsPath != ".kamal/secrets" || c.PrimaryRoleName != "web" || c.RunDirectory != ".kamal" {
		t.Errorf("paths %s %s %s", c.HooksPath, c.SecretsPath, c.PrimaryRoleName)
	}
	if c.SSH.User != "root" || c.SSH.Port != 22 || c.SSH.LogLevel != "fatal" {
		t.Errorf("ssh %+v", c.SSH)
	}
	if c.SSHKit.MaxConcurrentStarts != 30 || c.SSHKit.PoolIdleTimeout != 900 || c.SSHKit.DNSRetries != 3 {
		t.Errorf("sshkit %+v", c.SSHKit)
	}
	if c.Builder.Driver != "docker-container" || c.Builder.Dockerfile != "Dockerfile" || !c.Builder.Local || !c.Builder.GitClone() {
		t.Errorf("builder %+v", c.Builder)
	}
	if got := c.Logging.Args(); !reflect.DeepEqual(got, []string{"--log-opt", `max-size="10m"`}) {
		t.Errorf("logging %v", got)
	}
	if c.Proxy != nil {
		t.Error("no root proxy section")
	}
	web := c.Role("web")
	if web.Proxy == nil || web.Proxy.AppPort != 80 || web.Proxy.SSL {
		t.Errorf("primary role runs the proxy by default: %+v", web.Proxy)
	}
	if c.Role("workers").Proxy != nil {
		t.Error("other roles have no proxy by default")
	}
	if c.Boot.GroupSize(10) != 0 || len(c.BootGroups(c.AppHosts())) != 1 {
		t.Error("no boot limit")
	}
	if c.Registry.Username.Literal != "dhh" || c.Registry.Password.Secret != "KAMAL_REGISTRY_PASSWORD" {
		t.Errorf("registry %+v", c.Registry)
	}
	if c.Secrets == nil {
		t.Error("secrets store not attached")
	}
}

func TestLocalRegistryImage(t *testing.T) {
	c := mustLoad(t, "service: app\nservers: [a]\nregistry: {server: localhost:5555}\nbuilder: {arch: amd64}\n")
	if !c.Registry.Local || c.Registry.LocalPort != 5555 || c.Image != "app" || c.Repository() != "localhost:5555/app" {
		t.Errorf("%+v %s %s", c.Registry, c.Image, c.Repository())
	}
}

func TestDestinationMerge(t *testing.T) {
	base := baseYAML + "env: {clear: {A: base, B: base}}\nproxy: {host: base.example.com, app_port: 3000}\nvolumes: [/a:/a]\n"
	dest := "servers:\n  web: [9.9.9.9]\nenv: {clear: {B: staging}}\nproxy: {host: staging.example.com}\nvolumes: [/b:/b]\n"
	c, err := loadYAML(t, base, "staging", dest)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Role("web").Hosts, []string{"9.9.9.9"}) || c.Role("workers") == nil {
		t.Errorf("servers %v", c.RoleNames())
	}
	if c.Env.Clear["A"] != "base" || c.Env.Clear["B"] != "staging" {
		t.Errorf("env %v", c.Env.Clear)
	}
	if c.Proxy.Hosts[0] != "staging.example.com" || c.Proxy.AppPort != 3000 {
		t.Errorf("proxy %+v", c.Proxy)
	}
	if !reflect.DeepEqual(c.Volumes, []string{"/b:/b"}) {
		t.Errorf("volumes %v", c.Volumes)
	}
	if c.LatestTag() != "latest-staging" || c.Role("web").ContainerPrefix() != "app-web-staging" || c.ServiceAndDestination() != "app-staging" {
		t.Errorf("destination names %s %s", c.LatestTag(), c.Role("web").ContainerPrefix())
	}
}

func TestEmptyAndNonMapFiles(t *testing.T) {
	c, err := loadYAML(t, baseYAML, "staging", "# nothing here yet\n")
	if err != nil || c.Service != "app" {
		t.Errorf("empty destination file: %v", err)
	}
	_, err = loadYAML(t, "- a\n- b\n", "", "")
	if err == nil || !strings.HasSuffix(err.Error(), "config/deploy.yml:1: the configuration must be a YAML mapping of settings (key: value)") {
		t.Errorf("list document: %v", err)
	}
	_, err = loadYAML(t, "", "", "")
	if err == nil || !strings.HasSuffix(err.Error(), "config/deploy.yml: registry/username: is required") {
		t.Errorf("empty file: %v", err)
	}
}

func TestParse(t *testing.T) {
	c, err := Parse([]byte(baseYAML), LoadOptions{Version: "7", LookupEnv: envOf(nil)})
	if err != nil || c.Service != "app" {
		t.Fatalf("%v", err)
	}
	if img, _ := c.AbsoluteImage(); img != "dhh/app:7" {
		t.Errorf("image %s", img)
	}
	_, err = Parse([]byte(baseYAML+"foo: 1\n"), LoadOptions{LookupEnv: envOf(nil)})
	if err == nil || err.Error() != "config/deploy.yml:13: unknown key: foo" {
		t.Errorf("got %v", err)
	}
}

func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(LoadOptions{ConfigFile: filepath.Join(dir, "config/deploy.yml"), LookupEnv: envOf(nil)})
	if err == nil || err.Error() != "Configuration file not found in "+filepath.Join(dir, "config/deploy.yml") {
		t.Errorf("got %v", err)
	}
	_, err = loadYAML(t, baseYAML, "staging", "")
	if err == nil || !strings.HasSuffix(err.Error(), "config/deploy.staging.yml") || !strings.HasPrefix(err.Error(), "Configuration file not found in ") {
		t.Errorf("got %v", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind() != KindRuntime {
		t.Errorf("kind %v", err)
	}
}

func TestDestinationFileName(t *testing.T) {
	for in, want := range map[string]string{
		"config/deploy.yml":     "config/deploy.staging.yml",
		"deploy.yaml":           "deploy.staging.yml",
		"config/deploy":         "config/deploy.staging.yml",
		"config/app.deploy.yml": "config/app.deploy.staging.yml",
	} {
		if got := destinationFile(in, "staging"); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
}

func TestKamalDestinationInERB(t *testing.T) {
	yml := strings.Replace(baseYAML, "image: dhh/app", `image: dhh/<%= ENV["KAMAL_DESTINATION"] || "none" %>`, 1)
	c, err := loadYAML(t, yml, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Image != "dhh/none" {
		t.Errorf("image %s", c.Image)
	}
	c, err = loadYAML(t, yml, "staging", "service: app\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Image != "dhh/staging" {
		t.Errorf("image %s", c.Image)
	}
}

func TestVersion(t *testing.T) {
	var dirty bool
	var noRepo, noCommit bool
	git := func(args ...string) (string, error) {
		switch strings.Join(args, " ") {
		case "rev-parse":
			if noRepo {
				return "", errors.New("exit status 128")
			}
			return "", nil
		case "rev-parse HEAD":
			if noCommit {
				return "HEAD\n", errors.New("fatal: ambiguous argument 'HEAD': unknown revision or path not in the working tree.")
			}
			return "0123456789abcdef0123456789abcdef01234567\n", nil
		case "status --porcelain":
			if dirty {
				return " M file\n", nil
			}
			return "", nil
		}
		t.Fatalf("unexpected git %v", args)
		return "", nil
	}
	load := func(yml string, env map[string]string, declared string) *Config {
		dir := writeFiles(t, map[string]string{"config/deploy.yml": yml})
		c, err := Load(LoadOptions{ConfigFile: filepath.Join(dir, "config/deploy.yml"), LookupEnv: envOf(env), Version: declared, Git: git})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if v, _ := load(baseYAML, map[string]string{"VERSION": "env"}, "flag").Version(); v != "flag" {
		t.Errorf("--version wins: %s", v)
	}
	if v, _ := load(baseYAML, map[string]string{"VERSION": "env"}, "").Version(); v != "env" {
		t.Errorf("$VERSION: %s", v)
	}
	c := load(baseYAML, nil, "")
	if v, _ := c.Version(); v != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("git: %s", v)
	}
	if a, _ := c.AbbreviatedVersion(); a != "0123456" {
		t.Errorf("abbrev %s", a)
	}
	dirty = true
	// clone builds (no context) never get the suffix
	if v, _ := load(baseYAML, nil, "").Version(); strings.Contains(v, "_uncommitted_") {
		t.Errorf("clone build got suffix: %s", v)
	}
	withContext := strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  context: .", 1)
	c = load(withContext, nil, "")
	v, _ := c.Version()
	if !regexp.MustCompile(`^0123456789abcdef0123456789abcdef01234567_uncommitted_[0-9a-f]{16}$`).MatchString(v) {
		t.Errorf("dirty: %s", v)
	}
	if a, _ := c.AbbreviatedVersion(); a != v {
		t.Errorf("abbreviated uncommitted version must stay whole: %s", a)
	}
	if v2, _ := c.Version(); v2 != v {
		t.Error("version resolved twice")
	}
	c.SetVersion("998")
	if v, _ := c.Version(); v != "998" {
		t.Errorf("SetVersion %s", v)
	}
	noCommit = true
	_, err := load(baseYAML, nil, "").Version()
	if want := "Can't use commit hash as version, git rev-parse HEAD failed: fatal: ambiguous argument 'HEAD': unknown revision or path not in the working tree."; err == nil || err.Error() != want {
		t.Errorf("no commit: %v", err)
	}
	noRepo = true
	_, err = load(baseYAML, nil, "").Version()
	if err == nil || !strings.HasPrefix(err.Error(), "Can't use commit hash as version, no git repository found in ") {
		t.Errorf("no repo: %v", err)
	}
}

func TestGemVersionCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2.3.0", "2.12.0", -1},
		{"2.12", "2.12.0", 0},
		{"3.0", "2.12.0", 1},
		{"2.12.0.rc1", "2.12.0", -1},
		{"2.12.0-beta", "2.12.0", -1},
		{"1.10", "1.9", 1},
	}
	for _, tt := range tests {
		got, err := compareGemVersions(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("%s vs %s = %d %v, want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
}
