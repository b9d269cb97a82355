package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/remote"
)

// accHosts is an Executor for the accessory tests: it records every
// command and upload, and answers commands by substring (per host, or ""
// for any host) with canned stdout or a failure.
type accHosts struct {
	mu      sync.Mutex
	log     []string
	uploads map[string]accUpload
	answers []accAnswer
}

type accAnswer struct {
	host, match, stdout, stderr string
	fail                        bool
}

type accUpload struct {
	data string
	mode os.FileMode
}

func (f *accHosts) Exec(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, host+": "+cmd)
	res := remote.Result{Host: host, Command: cmd}
	for _, a := range f.answers {
		if (a.host != "" && a.host != host) || !strings.Contains(cmd, a.match) {
			continue
		}
		res.Stdout, res.Stderr = a.stdout, a.stderr
		if a.fail {
			res.ExitStatus = 1
			if !o.AllowFailure {
				return res, &remote.CommandError{Host: host, Command: cmd, ExitStatus: 1, Stdout: a.stdout, Stderr: a.stderr}
			}
		}
		break
	}
	return res, nil
}

func (f *accHosts) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.uploads == nil {
		f.uploads = map[string]accUpload{}
	}
	f.uploads[host+":"+path] = accUpload{string(data), mode}
	f.log = append(f.log, host+": upload "+path)
	return nil
}

// commandsOn returns host's commands without the host prefix, leaving out
// the lock and audit bookkeeping unless audit is set.
func (f *accHosts) commandsOn(host string, audit bool) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return on(f.log, host, audit)
}

const accessoryYAML = `service: app
image: dhh/app
servers:
  web:
    hosts:
      - 1.1.1.1
      - 1.1.1.2: db
  workers:
    hosts:
      - 1.1.1.3
    cmd: bin/jobs
registry:
  username: dhh
  password: secret
builder:
  arch: amd64
accessories:
  db:
    image: mysql:8.0
    role: web
    port: 3306
    env:
      clear:
        MYSQL_DATABASE: app_db
      secret:
        - DB_PASSWORD
    files:
      - config/init.sql.erb:/docker-entrypoint-initdb.d/init.sql
      - local: config/my.cnf
        remote: /etc/mysql/my.cnf
        mode: "0640"
        owner: "999:999"
    directories:
      - local: data
        remote: /var/lib/mysql
        mode: "0700"
  cache:
    image: redis:7
    tag: db
    registry:
      server: registry.example.com
      username: cacheuser
      password: cachepass
    proxy:
      host: cache.example.com
      app_port: 6380
`

// accessoryKamal loads accessoryYAML with its local files in a temporary
// working directory and DB_PASSWORD in the secrets.
func accessoryKamal(t *testing.T, opts Options, answers ...accAnswer) (*Kamal, *accHosts, *bytes.Buffer) {
	t.Helper()
	return accessoryKamalWith(t, accessoryYAML, "", opts, answers...)
}

// accessoryKamalWith is accessoryKamal with another deploy.yml and extra
// lines for .kamal/secrets.
func accessoryKamalWith(t *testing.T, yaml, moreSecrets string, opts Options, answers ...accAnswer) (*Kamal, *accHosts, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, d := range []string{"config", ".kamal"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"config/init.sql.erb": "CREATE DATABASE <%= ENV['MYSQL_DATABASE'] %>;\n<% if ENV['DB_PASSWORD'] %>SET PASSWORD = '<%= ENV.fetch('DB_PASSWORD', 'fallback') %>';\n<% end %>",
		"config/my.cnf":       "[mysqld]\n",
		".kamal/secrets":      "DB_PASSWORD=hunter2 \"x\"\n" + moreSecrets,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := loadConfig(t, yaml) // secrets: .kamal/secrets in the working directory
	x := &accHosts{answers: answers}
	var out bytes.Buffer
	opts.Executor, opts.Stdout = x, &out
	opts.SkipHooks = true
	opts.Level = remote.LevelQuiet
	opts.LookupEnv = func(string) (string, bool) { return "", false }
	opts.Now = func() time.Time { return time.Date(2026, 11, 26, 4, 5, 57, 0, time.UTC) }
	k, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return k, x, &out
}

func TestAccessoryBootSteps(t *testing.T) {
	k, x, out := accessoryKamal(t, Options{},
		accAnswer{host: "1.1.1.1", match: "docker ps -a -q --filter label=service=app-db", stdout: "0123abcd\n"},
	)
	if err := k.Accessories.Boot(context.Background(), "db"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Skipping booting `db` on 1.1.1.1, a container already exists\n") {
		t.Errorf("output lacks the skip message:\n%s", out)
	}
	want := []string{
		`docker login -u "dhh" --password-stdin`,
		"docker network create kamal",
		"docker ps -a -q --filter label=service=app-db",
		"/usr/bin/env mkdir -p $PWD/app-db/data",
		"/usr/bin/env chmod 0700 $PWD/app-db/data",
		"/usr/bin/env mkdir -p app-db/docker-entrypoint-initdb.d",
		"upload app-db/docker-entrypoint-initdb.d/init.sql",
		"/usr/bin/env chmod 755 app-db/docker-entrypoint-initdb.d/init.sql",
		"/usr/bin/env mkdir -p app-db/etc/mysql",
		"upload app-db/etc/mysql/my.cnf",
		"/usr/bin/env chmod 0640 app-db/etc/mysql/my.cnf",
		"/usr/bin/env chown 999:999 app-db/etc/mysql/my.cnf",
		"/usr/bin/env mkdir -p .kamal/apps/app/env/accessories",
		"upload .kamal/apps/app/env/accessories/db.env",
		`docker run --name app-db --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 3306:3306 --env KAMAL_HOST="1.1.1.2" --env MYSQL_DATABASE="app_db" --env-file .kamal/apps/app/env/accessories/db.env --volume $PWD/app-db/docker-entrypoint-initdb.d/init.sql:/docker-entrypoint-initdb.d/init.sql --volume $PWD/app-db/etc/mysql/my.cnf:/etc/mysql/my.cnf --volume $PWD/app-db/data:/var/lib/mysql --label service="app-db" mysql:8.0`,
	}
	if got := x.commandsOn("1.1.1.2", false); !slices.Equal(got, want) {
		t.Errorf("commands on the new host:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The host that has the container gets the directories and files
	// (as in Kamal) but no env file and no docker run.
	skipped := strings.Join(x.commandsOn("1.1.1.1", false), "\n")
	if !strings.Contains(skipped, "upload app-db/etc/mysql/my.cnf") || strings.Contains(skipped, "docker run") || strings.Contains(skipped, "db.env") {
		t.Errorf("commands on the skipped host:\n%s", skipped)
	}
	if got := x.commandsOn("1.1.1.3", false); len(got) != 0 {
		t.Errorf("workers host got commands: %q", got)
	}
	// The audit line is written on the booted host only.
	audit := func(h string) bool {
		return slices.ContainsFunc(x.commandsOn(h, true), func(c string) bool { return strings.Contains(c, "Booted db accessory") })
	}
	if !audit("1.1.1.2") || audit("1.1.1.1") {
		t.Errorf("audit records: 1.1.1.2=%v 1.1.1.1=%v", audit("1.1.1.2"), audit("1.1.1.1"))
	}

	for path, want := range map[string]accUpload{
		// Rendered with the secret env too, as Kamal does.
		"1.1.1.2:app-db/docker-entrypoint-initdb.d/init.sql": {"CREATE DATABASE app_db;\nSET PASSWORD = 'hunter2 \"x\"';\n", 0o755},
		"1.1.1.2:app-db/etc/mysql/my.cnf":                    {"[mysqld]\n", 0o640},
		"1.1.1.2:.kamal/apps/app/env/accessories/db.env":     {"DB_PASSWORD=hunter2 \"x\"\n", 0o600},
	} {
		if got := x.uploads[path]; got != want {
			t.Errorf("upload %s = %+v, want %+v", path, got, want)
		}
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("the secret shows in the output:\n%s", out)
	}
}

func TestAccessoryBootProxiedWithOwnRegistry(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{},
		accAnswer{match: "docker container ls --filter", stdout: "c0ffee\n"},
		accAnswer{match: "docker network create", fail: true, stderr: "network with name kamal already exists"},
	)
	if err := k.Accessories.Boot(context.Background(), "cache"); err != nil {
		t.Fatal(err)
	}
	got := x.commandsOn("1.1.1.2", false)
	if len(got) == 0 || !strings.HasPrefix(got[0], "docker login registry.example.com -u ") {
		t.Errorf("first command = %q, want the accessory's own registry login", got)
	}
	want := []string{
		`docker run --name app-cache --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --env KAMAL_HOST="1.1.1.2" --env-file .kamal/apps/app/env/accessories/cache.env --label service="app-cache" registry.example.com/redis:7`,
		`docker container ls --filter 'name=^app-cache$' --quiet`,
	}
	if i := slices.Index(got, want[0]); i < 0 || i+2 >= len(got)+1 || got[i+1] != want[1] || !strings.HasPrefix(got[i+2], "docker exec kamal-proxy kamal-proxy deploy app-cache --target=\"c0ffee:6380\" --host=\"cache.example.com\"") {
		t.Errorf("boot commands:\n%s", strings.Join(got, "\n"))
	}
	for _, h := range []string{"1.1.1.1", "1.1.1.3"} {
		if got := x.commandsOn(h, false); len(got) != 0 {
			t.Errorf("%s is not tagged db but got %q", h, got)
		}
	}
}

func TestAccessoryProxyDeployNeedsARunningContainer(t *testing.T) {
	k, _, _ := accessoryKamal(t, Options{})
	err := k.Accessories.Boot(context.Background(), "cache")
	var be *BootError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "did the container boot?") {
		t.Fatalf("err = %v, want a BootError", err)
	}
}

func TestAccessoryUnknownName(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{})
	ctx := context.Background()
	for name, fn := range map[string]func() error{
		"boot":    func() error { return k.Accessories.Boot(ctx, "nope") },
		"logs":    func() error { return k.Accessories.Logs(ctx, "nope", AccessoryLogsOptions{}) },
		"exec":    func() error { return k.Accessories.ExecCommand(ctx, "nope", "ls", AccessoryExecOptions{}) },
		"remove":  func() error { return k.Accessories.Remove(ctx, "nope") },
		"upgrade": func() error { return k.Accessories.Upgrade(ctx, "nope", AccessoryUpgradeOptions{}) },
		"check":   func() error { return k.Accessories.CheckName("nope") },
	} {
		err := fn()
		if err == nil || err.Error() != "No accessory by the name of 'nope' (options: db and cache)" {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if len(x.log) != 0 {
		t.Errorf("commands ran for an unknown accessory: %q", x.log)
	}
	if err := k.Accessories.CheckName("all"); err != nil {
		t.Errorf("all: %v", err)
	}
}

func TestAccessoryRebootOrder(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{Hosts: []string{"1.1.1.1"}})
	if err := k.Accessories.Reboot(context.Background(), "db"); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, c := range x.commandsOn("1.1.1.1", false) {
		for _, s := range []string{"docker login", "docker network create", "docker image pull mysql:8.0", "docker container stop app-db",
			"docker container prune --force --filter label=service=app-db", "docker ps -a -q", "docker run"} {
			if strings.HasPrefix(c, s) {
				steps = append(steps, s)
			}
		}
	}
	want := []string{"docker login", "docker network create", "docker image pull mysql:8.0", "docker container stop app-db",
		"docker container prune --force --filter label=service=app-db", "docker ps -a -q", "docker run"}
	if !slices.Equal(steps, want) {
		t.Errorf("reboot steps = %q, want %q", steps, want)
	}
	// The pull's audit line in Kamal's words.
	if !slices.ContainsFunc(x.commandsOn("1.1.1.1", true), func(c string) bool { return strings.Contains(c, `] Pull db accessory image" >> .kamal/app-audit.log`) }) {
		t.Errorf("no pull audit line in Kamal's words:\n%s", strings.Join(x.commandsOn("1.1.1.1", true), "\n"))
	}
	if got := x.commandsOn("1.1.1.2", true); len(got) != 0 {
		t.Errorf("-h 1.1.1.1 ran commands on 1.1.1.2: %q", got)
	}
}

func TestAccessoryRemoveAll(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{},
		// both accessories run on 1.1.1.2; a gone image is no failure
		accAnswer{match: "docker image rm --force registry.example.com/redis:7", fail: true, stderr: "Error response from daemon: No such image: registry.example.com/redis:7"},
		// kamal-proxy may be gone already (kamal remove removes it first)
		accAnswer{match: "kamal-proxy remove", fail: true, stderr: "No such container: kamal-proxy"},
	)
	if err := k.Accessories.Remove(context.Background(), AllAccessories); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker container stop app-db",
		"docker container prune --force --filter label=service=app-db",
		"docker image rm --force mysql:8.0",
		"/usr/bin/env rm -rf app-db",
		"docker container stop app-cache",
		"docker exec kamal-proxy kamal-proxy remove app-cache",
		"docker container prune --force --filter label=service=app-cache",
		"docker image rm --force registry.example.com/redis:7",
		"/usr/bin/env rm -rf app-cache",
	}
	if got := x.commandsOn("1.1.1.2", false); !slices.Equal(got, want) {
		t.Errorf("remove on 1.1.1.2:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := x.commandsOn("1.1.1.1", false); len(got) != 4 {
		t.Errorf("remove on 1.1.1.1 (db only): %q", got)
	}
}

func TestAccessoryRemoveImageFailure(t *testing.T) {
	k, _, _ := accessoryKamal(t, Options{},
		accAnswer{match: "docker image rm", fail: true, stderr: "Cannot connect to the Docker daemon"},
	)
	if err := k.Accessories.Remove(context.Background(), "db"); err == nil || !strings.Contains(err.Error(), "Cannot connect") {
		t.Errorf("err = %v, want the docker failure", err)
	}
}

func TestAccessoryMissingFile(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{})
	if err := os.Remove("config/my.cnf"); err != nil {
		t.Fatal(err)
	}
	err := k.Accessories.Boot(context.Background(), "db")
	if err == nil || err.Error() != "Missing file: config/my.cnf" {
		t.Fatalf("err = %v", err)
	}
	// Nothing but the lock touched the hosts.
	for _, c := range x.log {
		if strings.Contains(c, "docker") || strings.Contains(c, "upload") {
			t.Errorf("ran despite the missing file: %s", c)
		}
	}
}

func TestAccessoryMissingSecret(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{})
	if err := os.WriteFile(".kamal/secrets", []byte("OTHER=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := k.Accessories.Boot(context.Background(), "db")
	if err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") {
		t.Fatalf("err = %v, want the missing secret named", err)
	}
	for _, c := range x.log {
		if strings.Contains(c, "docker") || strings.Contains(c, "upload") {
			t.Errorf("ran despite the missing secret: %s", c)
		}
	}
}

func TestAccessoryStartStopRestart(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{}, accAnswer{match: "docker container ls --filter", stdout: "c0ffee\n"})
	ctx := context.Background()
	if err := k.Accessories.Restart(ctx, "cache"); err != nil {
		t.Fatal(err)
	}
	got := x.commandsOn("1.1.1.2", true)
	var steps []string
	for _, c := range got {
		switch {
		case strings.Contains(c, "Stopped cache accessory"):
			steps = append(steps, "audit stop")
		case strings.Contains(c, "Started cache accessory"):
			steps = append(steps, "audit start")
		case strings.HasPrefix(c, "docker container stop app-cache"):
			steps = append(steps, "stop")
		case strings.HasPrefix(c, "docker exec kamal-proxy kamal-proxy remove app-cache"):
			steps = append(steps, "proxy remove")
		case strings.HasPrefix(c, "docker container start app-cache"):
			steps = append(steps, "start")
		case strings.HasPrefix(c, "docker exec kamal-proxy kamal-proxy deploy app-cache"):
			steps = append(steps, "proxy deploy")
		}
	}
	want := []string{"audit stop", "stop", "proxy remove", "audit start", "start", "proxy deploy"}
	if !slices.Equal(steps, want) {
		t.Errorf("restart steps = %q, want %q\n%s", steps, want, strings.Join(got, "\n"))
	}
	// A failing stop (no container) is no error.
	k2, _, _ := accessoryKamal(t, Options{}, accAnswer{match: "docker container stop", fail: true})
	if err := k2.Accessories.Stop(ctx, "db"); err != nil {
		t.Errorf("stop with no container: %v", err)
	}
}

func TestAccessoryDetailsAll(t *testing.T) {
	k, _, out := accessoryKamal(t, Options{}, accAnswer{match: "docker ps --filter label=service=", stdout: "CONTAINER ID   IMAGE\n"})
	if err := k.Accessories.Details(context.Background(), AllAccessories); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Accessory db Host: 1.1.1.1\n", "Accessory db Host: 1.1.1.2\n", "Accessory cache Host: 1.1.1.2\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("details lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "Accessory cache Host: 1.1.1.1") {
		t.Errorf("cache is not on 1.1.1.1:\n%s", out)
	}
}

func TestAccessoryExec(t *testing.T) {
	tests := []struct {
		name   string
		opts   AccessoryExecOptions
		want   string
		login  bool
		banner string
	}{
		{"new container", AccessoryExecOptions{}, `docker run --rm --network kamal --env MYSQL_DATABASE="app_db" --env-file .kamal/apps/app/env/accessories/db.env`, true, "Launching command from new container..."},
		{"reuse", AccessoryExecOptions{Reuse: true}, "docker exec app-db mysql -u root", false, "Launching command from existing container..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, x, out := accessoryKamal(t, Options{Hosts: []string{"1.1.1.1"}}, accAnswer{match: "mysql -u root", stdout: "ok\n"})
			if err := k.Accessories.ExecCommand(context.Background(), "db", "mysql -u root", tt.opts); err != nil {
				t.Fatal(err)
			}
			got := x.commandsOn("1.1.1.1", true)
			joined := strings.Join(got, "\n")
			if !strings.Contains(joined, tt.want) || !strings.Contains(joined, "Executed cmd 'mysql -u root' on db accessory") {
				t.Errorf("commands:\n%s", joined)
			}
			if hasLogin := strings.Contains(joined, "docker login"); hasLogin != tt.login {
				t.Errorf("registry login = %v, want %v", hasLogin, tt.login)
			}
			if !strings.Contains(out.String(), tt.banner+"\n") || !strings.Contains(out.String(), "App Host: 1.1.1.1\nok\n") {
				t.Errorf("output:\n%s", out)
			}
		})
	}
	k, _, _ := accessoryKamal(t, Options{})
	if err := k.Accessories.ExecCommand(context.Background(), "db", " ", AccessoryExecOptions{}); err == nil {
		t.Error("an empty command was accepted")
	}
}

func TestAccessoryExecRawIsByteExact(t *testing.T) {
	raw := "line 1\n\n  indented\x00binary\xff\n\n"
	k, _, out := accessoryKamal(t, Options{Hosts: []string{"1.1.1.1"}, Level: remote.LevelQuiet}, accAnswer{match: "mysql -u root", stdout: raw})
	if err := k.Accessories.ExecCommand(context.Background(), "db", "mysql -u root", AccessoryExecOptions{Reuse: true, Raw: true}); err != nil {
		t.Fatal(err)
	}
	if out.String() != raw {
		t.Errorf("raw output = %q, want %q", out, raw)
	}
}

func TestAccessoryLogs(t *testing.T) {
	tests := []struct {
		opts AccessoryLogsOptions
		want string
	}{
		{AccessoryLogsOptions{}, "docker logs app-db  --tail 100 --timestamps 2>&1"},
		{AccessoryLogsOptions{Lines: 5, SkipTimestamps: true}, "docker logs app-db  --tail 5 2>&1"},
		{AccessoryLogsOptions{Since: "5m"}, "docker logs app-db  --since 5m --timestamps 2>&1"},
		{AccessoryLogsOptions{Grep: "ERR"}, "docker logs app-db --timestamps 2>&1 | grep 'ERR'"},
	}
	for _, tt := range tests {
		k, x, out := accessoryKamal(t, Options{Hosts: []string{"1.1.1.2"}}, accAnswer{match: "docker logs", stdout: "line one\n"})
		if err := k.Accessories.Logs(context.Background(), "db", tt.opts); err != nil {
			t.Fatal(err)
		}
		if got := x.commandsOn("1.1.1.2", false); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("%+v: commands = %q, want %q", tt.opts, got, tt.want)
		}
		if out.String() != "line one\n" {
			t.Errorf("output = %q", out)
		}
	}
}

func TestAccessoryUpgradeRolling(t *testing.T) {
	k, x, out := accessoryKamal(t, Options{})
	if err := k.Accessories.Upgrade(context.Background(), "db", AccessoryUpgradeOptions{Rolling: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Upgrading db accessories on 1.1.1.1...", "Upgraded db accessories on 1.1.1.1...", "Upgrading db accessories on 1.1.1.2..."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// One host at a time: 1.1.1.1's run finishes before 1.1.1.2 starts.
	last1, first2 := -1, -1
	for i, c := range x.log {
		if strings.HasPrefix(c, "1.1.1.1: docker run") {
			last1 = i
		}
		if strings.HasPrefix(c, "1.1.1.2: docker login") && first2 < 0 {
			first2 = i
		}
	}
	if last1 < 0 || first2 < 0 || last1 > first2 {
		t.Errorf("hosts not upgraded one by one (run on .1 at %d, login on .2 at %d)", last1, first2)
	}
}

// TestBootAllAccessories is setup's accessory step.
func TestBootAllAccessories(t *testing.T) {
	k, x, _ := accessoryKamal(t, Options{}, accAnswer{match: "docker container ls --filter", stdout: "c0ffee\n"})
	if err := k.Accessories.Boot(context.Background(), AllAccessories); err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, c := range x.log {
		if strings.Contains(c, ": docker run --name") {
			runs++
		}
	}
	if runs != 3 { // db on two hosts, cache on one
		t.Errorf("boot all ran %d containers, want 3", runs)
	}
}

// interactiveHosts marks which commands ran with a TTY.
type interactiveHosts struct {
	*accHosts
	mu  sync.Mutex
	tty []string
}

func (f *interactiveHosts) Exec(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	if o.Interactive {
		f.mu.Lock()
		f.tty = append(f.tty, host+": "+cmd)
		f.mu.Unlock()
	}
	return f.accHosts.Exec(ctx, host, cmd, o)
}

func TestAccessoryInteractiveOnFirstHost(t *testing.T) {
	tests := []struct {
		name string
		run  func(k *Kamal) error
		tty  string
	}{
		{"exec -i", func(k *Kamal) error {
			return k.Accessories.ExecCommand(context.Background(), "db", "mysql", AccessoryExecOptions{Interactive: true})
		}, `1.1.1.1: docker run -it --rm --network kamal --env MYSQL_DATABASE="app_db" --env-file .kamal/apps/app/env/accessories/db.env`},
		{"exec -i --reuse", func(k *Kamal) error {
			return k.Accessories.ExecCommand(context.Background(), "db", "mysql", AccessoryExecOptions{Interactive: true, Reuse: true})
		}, "1.1.1.1: docker exec -it app-db mysql"},
		{"logs -f", func(k *Kamal) error {
			return k.Accessories.Logs(context.Background(), "db", AccessoryLogsOptions{Follow: true, Grep: "ERR"})
		}, `1.1.1.1: docker logs app-db --timestamps --tail 10 --follow 2>&1 | grep "ERR"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, x, _ := accessoryKamal(t, Options{})
			f := &interactiveHosts{accHosts: x}
			k.opts.Executor = f
			if err := tt.run(k); err != nil {
				t.Fatal(err)
			}
			if len(f.tty) != 1 || !strings.HasPrefix(f.tty[0], tt.tty) {
				t.Errorf("TTY commands = %q, want one starting %q", f.tty, tt.tty)
			}
		})
	}
}

func TestAccessoryCustomTLSCertificate(t *testing.T) {
	yaml := strings.Replace(accessoryYAML, `      host: cache.example.com
      app_port: 6380
`, `      host: cache.example.com
      app_port: 6380
      ssl:
        certificate_pem: CACHE_CERT
        private_key_pem: CACHE_KEY
`, 1)
	const cert, key = "-----BEGIN CERTIFICATE-----\\nMIIcert\\n-----END CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----\\nMIIkeybodybodybody\\n-----END PRIVATE KEY-----"
	secrets := "CACHE_CERT=\"" + cert + "\"\nCACHE_KEY=\"" + key + "\"\n"
	k, x, _ := accessoryKamalWith(t, yaml, secrets, Options{},
		accAnswer{match: "docker container ls --filter", stdout: "c0ffee\n"})
	if err := k.Accessories.Boot(context.Background(), "cache"); err != nil {
		t.Fatal(err)
	}
	const dir = ".kamal/proxy/apps-config/app/tls/accessories/cache"
	for path, want := range map[string]string{dir + "/cert.pem": "MIIcert", dir + "/key.pem": "MIIkeybodybodybody"} {
		got, ok := x.uploads["1.1.1.2:"+path]
		if !ok || !strings.Contains(got.data, want) || got.mode != 0o644 {
			t.Errorf("upload %s = %+v, want the PEM (mode 0644)", path, got)
		}
	}
	got := x.commandsOn("1.1.1.2", false)
	mkdir := slices.Index(got, "/usr/bin/env mkdir -p "+dir)
	upload := slices.Index(got, "upload "+dir+"/cert.pem")
	deploy := slices.IndexFunc(got, func(c string) bool {
		return strings.HasPrefix(c, "docker exec kamal-proxy kamal-proxy deploy app-cache")
	})
	if mkdir < 0 || upload < mkdir || deploy < upload {
		t.Fatalf("want mkdir, uploads, then the proxy deploy:\n%s", strings.Join(got, "\n"))
	}
	for _, want := range []string{
		` --tls `,
		` --tls-certificate-path="/home/kamal-proxy/.apps-config/app/tls/accessories/cache/cert.pem" --tls-private-key-path="/home/kamal-proxy/.apps-config/app/tls/accessories/cache/key.pem"`,
	} {
		if !strings.Contains(got[deploy], want) {
			t.Errorf("deploy lacks %q: %s", want, got[deploy])
		}
	}

	// A missing secret stops before the proxy deploy, naming it (the
	// word "secret" is this config's registry password, so it shows
	// redacted).
	k, x, _ = accessoryKamalWith(t, yaml, "CACHE_CERT=\""+cert+"\"\n", Options{},
		accAnswer{match: "docker container ls --filter", stdout: "c0ffee\n"})
	err := k.Accessories.Boot(context.Background(), "cache")
	if err == nil || !strings.Contains(err.Error(), `"CACHE_KEY" for accessory "cache" (private_key_pem)`) {
		t.Fatalf("err = %v", err)
	}
	for _, c := range x.commandsOn("1.1.1.2", false) {
		if strings.Contains(c, "kamal-proxy deploy") {
			t.Errorf("deployed without the key: %s", c)
		}
	}
}

func TestAccessoryNetworkAndAliasedSecret(t *testing.T) {
	yaml := strings.Replace(accessoryYAML, `    image: mysql:8.0
    role: web
    port: 3306
    env:
      clear:
        MYSQL_DATABASE: app_db
      secret:
        - DB_PASSWORD
`, `    image: mysql:8.0
    role: web
    port: "127.0.0.1:3307:3306"
    network: backend
    env:
      clear:
        MYSQL_DATABASE: app_db
      secret:
        - DB_PASSWORD
        - MYSQL_ROOT_PASSWORD:DB_ROOT_SECRET
`, 1)
	if yaml == accessoryYAML {
		t.Fatal("fixture did not change")
	}
	k, x, out := accessoryKamalWith(t, yaml, "DB_ROOT_SECRET=r00t-pw\n", Options{})
	if err := k.Accessories.Boot(context.Background(), "db"); err != nil {
		t.Fatal(err)
	}
	run := ""
	for _, c := range x.commandsOn("1.1.1.2", false) {
		if strings.HasPrefix(c, "docker run ") {
			run = c
		}
	}
	for _, want := range []string{" --network backend ", " --publish 127.0.0.1:3307:3306 ", " --env MYSQL_DATABASE=\"app_db\" "} {
		if !strings.Contains(run, want) {
			t.Errorf("run lacks %q: %s", want, run)
		}
	}
	if strings.Contains(run, "--network kamal") || strings.Contains(run, "r00t-pw") {
		t.Errorf("run: %s", run)
	}
	// The aliased secret is in the env file under the container's name.
	env := x.uploads["1.1.1.2:.kamal/apps/app/env/accessories/db.env"]
	if !strings.Contains(env.data, "MYSQL_ROOT_PASSWORD=r00t-pw\n") || strings.Contains(env.data, "DB_ROOT_SECRET") || env.mode != 0o600 {
		t.Errorf("env file = %+v", env)
	}
	if strings.Contains(out.String(), "r00t-pw") {
		t.Errorf("the secret shows in the output:\n%s", out)
	}
}
