package deploy

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// scriptedHosts is fakeHosts (lock, command log) with canned output: the
// first rule whose host (or "" for any) and fragment match a command
// decides its stdout and exit status.
type scriptedHosts struct {
	*fakeHosts
	rules []outputRule

	mu          sync.Mutex
	interactive []string // commands run with a TTY
}

type outputRule struct {
	host, fragment, stdout string
	status                 int
}

func (s *scriptedHosts) Exec(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	res, err := s.fakeHosts.Exec(ctx, host, cmd, o)
	if err != nil {
		return res, err
	}
	if o.Interactive {
		s.mu.Lock()
		s.interactive = append(s.interactive, host+": "+cmd)
		s.mu.Unlock()
	}
	for _, r := range s.rules {
		if (r.host == "" || r.host == host) && strings.Contains(cmd, r.fragment) {
			res.Stdout, res.ExitStatus = r.stdout, r.status
			if r.status != 0 && !o.AllowFailure {
				return res, &remote.CommandError{Host: host, Command: cmd, ExitStatus: r.status}
			}
			break
		}
	}
	return res, nil
}

func newScripted(t *testing.T, opts Options, rules ...outputRule) (*Kamal, *scriptedHosts, *strings.Builder) {
	t.Helper()
	s := &scriptedHosts{fakeHosts: &fakeHosts{}, rules: rules}
	var out strings.Builder
	opts.Executor, opts.Stdout = s, &syncWriter{w: &out}
	opts.LookupEnv = func(string) (string, bool) { return "", false }
	opts.SkipHooks = true
	k, err := New(loadConfig(t, multiYAML), opts)
	if err != nil {
		t.Fatal(err)
	}
	return k, s, &out
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// on returns the commands run on host, without the "host: " prefix, lock
// and audit commands left out unless keepAudit.
func on(log []string, host string, keepAudit bool) []string {
	var out []string
	for _, c := range log {
		cmd, ok := strings.CutPrefix(c, host+": ")
		if !ok {
			continue
		}
		if !keepAudit && (strings.Contains(cmd, "-audit.log") || strings.Contains(cmd, ".kamal/lock-") || cmd == "/usr/bin/env mkdir -p .kamal") {
			continue
		}
		out = append(out, cmd)
	}
	return out
}

// currentVersionCmd is the fragment unique to CurrentRunningVersion.
const currentVersionCmd = "while read line; do echo ${line#"

// Hosts of multiYAML: web on .1 .2, workers on .3 .1, jobs on .4, the db
// accessory on .5 (no app there).
var appHosts = []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"}

func TestAppVersionFirstRoleOfEachAppHost(t *testing.T) {
	k, s, out := newScripted(t, Options{}, outputRule{fragment: currentVersionCmd, stdout: "v1\n"})
	if err := k.Apps.RunningVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, h := range appHosts {
		if !strings.Contains(out.String(), "App Host: "+h+"\nv1\n\n") {
			t.Errorf("no version block for %s:\n%s", h, out)
		}
		cmds := on(s.log(), h, true)
		if len(cmds) != 1 {
			t.Errorf("%s ran %d commands, want 1: %q", h, len(cmds), cmds)
		}
	}
	if strings.Contains(out.String(), "1.1.1.5") || len(on(s.log(), "1.1.1.5", true)) > 0 {
		t.Errorf("accessory-only host touched:\n%s", out)
	}
	// 1.1.1.1 runs web and workers: the version is the primary role's.
	if c := on(s.log(), "1.1.1.1", true)[0]; !strings.Contains(c, "label=role=web") || !strings.Contains(c, "${line#app-web-}") {
		t.Errorf("1.1.1.1 version command = %s", c)
	}
	if c := on(s.log(), "1.1.1.3", true)[0]; !strings.Contains(c, "label=role=workers") {
		t.Errorf("1.1.1.3 version command = %s", c)
	}
}

func TestAppContainersAndImages(t *testing.T) {
	k, s, out := newScripted(t, Options{Hosts: []string{"1.1.1.2"}},
		outputRule{fragment: "docker container ls --all", stdout: "CONTAINER ID  NAMES\nabc app-web-1\n"},
		outputRule{fragment: "docker image ls", stdout: "REPOSITORY TAG\ndhh/app latest\n"})
	ctx := context.Background()
	if err := k.Apps.Containers(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k.Apps.Images(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker container ls --all --filter label=service=app --filter label=destination=",
		"docker image ls dhh/app",
	}
	if got := on(s.log(), "1.1.1.2", true); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantOut := "App Host: 1.1.1.2\nCONTAINER ID  NAMES\nabc app-web-1\n\nApp Host: 1.1.1.2\nREPOSITORY TAG\ndhh/app latest\n\n"
	if out.String() != wantOut {
		t.Errorf("output:\n%q\nwant:\n%q", out, wantOut)
	}
}

func TestAppMaintenanceAndLiveOnProxyRolesOnly(t *testing.T) {
	ctx := context.Background()
	five := 5
	tests := []struct {
		name string
		run  func(k *Kamal) error
		want string
	}{
		{"maintenance defaults", func(k *Kamal) error { return k.Apps.Maintenance(ctx, MaintenanceOptions{}) },
			`docker exec kamal-proxy kamal-proxy stop app-web --drain-timeout="30s"`},
		{"maintenance options", func(k *Kamal) error {
			return k.Apps.Maintenance(ctx, MaintenanceOptions{DrainTimeout: &five, Message: "Back at 5 o'clock"})
		}, `docker exec kamal-proxy kamal-proxy stop app-web --drain-timeout="5s" --message="Back at 5 o'clock"`},
		{"live", func(k *Kamal) error { return k.Apps.Live(ctx) }, `docker exec kamal-proxy kamal-proxy resume app-web`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, s, _ := newScripted(t, Options{})
			if err := tt.run(k); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"1.1.1.1", "1.1.1.2"} {
				if got := on(s.log(), h, false); len(got) != 1 || got[0] != tt.want {
					t.Errorf("%s ran %q, want [%s]", h, got, tt.want)
				}
			}
			// workers and jobs do not run behind the proxy.
			for _, h := range []string{"1.1.1.3", "1.1.1.4", "1.1.1.5"} {
				if got := on(s.log(), h, false); len(got) > 0 {
					t.Errorf("%s ran %q", h, got)
				}
			}
			// Under the lock, released at the end.
			log := strings.Join(s.log(), "\n")
			if !strings.Contains(log, "1.1.1.1: /usr/bin/env mkdir .kamal/lock-app") || s.isLocked() {
				t.Errorf("lock not taken and released: %q", log)
			}
		})
	}
	k, _, _ := newScripted(t, Options{})
	neg := -1
	if err := k.Apps.Maintenance(ctx, MaintenanceOptions{DrainTimeout: &neg}); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("negative drain timeout: %v", err)
	}
}

var execName = regexp.MustCompile(`app-(web|workers|jobs)-exec-latest-[0-9a-f]{6}`)

func TestAppExecNewContainerOnEveryRole(t *testing.T) {
	k, s, out := newScripted(t, Options{}, outputRule{fragment: "docker run --rm", stdout: "ruby 3.3\n"})
	err := k.Apps.ExecCommand(context.Background(), "ruby -v", AppExecOptions{Env: []shell.KV{{Key: "FOO", Value: "a b"}}})
	if err != nil {
		t.Fatal(err)
	}
	// 1.1.1.1: login once, then audit and run per role (web, then workers).
	got := on(s.log(), "1.1.1.1", true)
	if len(got) != 5 {
		t.Fatalf("1.1.1.1 commands: %q", got)
	}
	if got[0] != `docker login -u "dhh" --password-stdin` {
		t.Errorf("first command is not the registry login: %s", got[0])
	}
	if !strings.Contains(got[1], "Executed cmd 'ruby -v' on app version latest") || strings.Contains(got[1], "[web]") {
		t.Errorf("audit = %s", got[1])
	}
	for i, role := range map[int]string{2: "web", 4: "workers"} {
		c := execName.ReplaceAllString(got[i], "app-"+role+"-exec-latest-HEX")
		want := "docker run --rm --name app-" + role + "-exec-latest-HEX --network kamal --env-file .kamal/apps/app/env/roles/" + role + ".env --env FOO=\"a b\" --log-opt max-size=\"10m\" dhh/app:latest ruby -v"
		if c != want {
			t.Errorf("exec %s:\n%s\nwant:\n%s", role, got[i], want)
		}
	}
	if k.Config.LatestTag() != "latest" {
		t.Fatal("latest tag")
	}
	if v, _ := k.Version(); v != "latest" {
		t.Errorf("version during exec = %q, want latest (version_or_latest)", v)
	}
	for _, h := range appHosts {
		if !strings.Contains(out.String(), "App Host: "+h+"\nruby 3.3\n\n") {
			t.Errorf("no output block for %s", h)
		}
	}
	for _, want := range []string{"Get most recent version available as an image...\n", "Launching command with version latest from new container...\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if s.isLocked() || len(on(s.log(), "1.1.1.5", true)) > 0 {
		t.Error("exec took the lock or touched the accessory host")
	}
}

func TestAppExecReuseRunningVersion(t *testing.T) {
	k, s, out := newScripted(t, Options{Roles: []string{"web"}},
		outputRule{host: "1.1.1.1", fragment: currentVersionCmd, stdout: "v7\n"},
		outputRule{fragment: "docker exec", stdout: "ok\n"})
	if err := k.Apps.ExecCommand(context.Background(), "bin/rails about", AppExecOptions{Reuse: true}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"1.1.1.1", "1.1.1.2"} {
		got := on(s.log(), h, true)
		last := got[len(got)-1]
		if last != "docker exec app-web-v7 bin/rails about" {
			t.Errorf("%s: %q", h, got)
		}
		audit := got[len(got)-2]
		if !strings.Contains(audit, "[web] Executed cmd 'bin/rails about' on app version v7") {
			t.Errorf("%s audit = %s", h, audit)
		}
		for _, c := range got {
			if strings.Contains(c, "docker login") {
				t.Errorf("%s: reuse logged in to the registry", h)
			}
		}
	}
	if !strings.Contains(out.String(), "Get current version of running container...\nLaunching command with version v7 from existing container...\n") {
		t.Errorf("output:\n%s", out)
	}

	// An explicit --version is used as it is.
	k, s, _ = newScripted(t, Options{Hosts: []string{"1.1.1.2"}, Roles: []string{"web"}})
	if err := k.Apps.ExecCommand(context.Background(), "env", AppExecOptions{Reuse: true, Version: "v3", Env: []shell.KV{{Key: "A", Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	if got := on(s.log(), "1.1.1.2", false); len(got) != 1 || got[0] != `docker exec --env A="1" app-web-v3 env` {
		t.Errorf("commands: %q", got)
	}
}

func TestAppExecArgumentErrors(t *testing.T) {
	k, s, _ := newScripted(t, Options{})
	tests := []struct {
		cmd  string
		o    AppExecOptions
		want string
	}{
		{"bash", AppExecOptions{Detach: true, Interactive: true}, "Detach is not compatible with interactive"},
		{"bash", AppExecOptions{Detach: true, Reuse: true}, "Detach is not compatible with reuse"},
		{"bash", AppExecOptions{Detach: true, Reuse: true, Interactive: true}, "Detach is not compatible with interactive or reuse"},
		{"  ", AppExecOptions{}, "No command provided. You must specify a command to execute."},
	}
	for _, tt := range tests {
		err := k.Apps.ExecCommand(context.Background(), tt.cmd, tt.o)
		var ae *ArgumentError
		if !errors.As(err, &ae) || err.Error() != tt.want {
			t.Errorf("%+v: err = %v, want ArgumentError %q", tt.o, err, tt.want)
		}
	}
	if len(s.log()) > 0 {
		t.Errorf("commands ran: %q", s.log())
	}
}

func TestAppExecDetach(t *testing.T) {
	k, s, _ := newScripted(t, Options{Hosts: []string{"1.1.1.4"}})
	if err := k.Apps.ExecCommand(context.Background(), "bin/jobs", AppExecOptions{Detach: true, Version: "v2"}); err != nil {
		t.Fatal(err)
	}
	got := on(s.log(), "1.1.1.4", false)
	if len(got) != 2 || !strings.HasPrefix(got[1], "docker run --detach --name app-jobs-exec-v2-") || !strings.HasSuffix(got[1], " dhh/app:v2 bin/jobs") {
		t.Errorf("commands: %q", got)
	}
}

func TestAppExecRawIsByteExact(t *testing.T) {
	raw := "line 1\n\n  indented\x00binary\xff\n\n"
	k, _, out := newScripted(t, Options{Hosts: []string{"1.1.1.2"}}, outputRule{fragment: "docker run", stdout: raw})
	if err := k.Apps.ExecCommand(context.Background(), "cat /data", AppExecOptions{Raw: true}); err != nil {
		t.Fatal(err)
	}
	if out.String() != raw {
		t.Errorf("raw output = %q, want %q", out, raw)
	}
}

func TestAppExecInteractiveOnPrimaryHost(t *testing.T) {
	k, s, out := newScripted(t, Options{}, outputRule{fragment: "docker run -it", status: 3})
	err := k.Apps.ExecCommand(context.Background(), "bin/rails console", AppExecOptions{Interactive: true})
	var status *ExitStatusError
	if !errors.As(err, &status) || status.Status != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if len(s.interactive) != 1 {
		t.Fatalf("interactive commands: %q", s.interactive)
	}
	c := execName.ReplaceAllString(s.interactive[0], "NAME")
	if c != `1.1.1.1: docker run -it --rm --name NAME --network kamal --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" dhh/app:latest bin/rails console` {
		t.Errorf("interactive command = %s", s.interactive[0])
	}
	if got := on(s.log(), "1.1.1.1", true); got[0] != `docker login -u "dhh" --password-stdin` {
		t.Errorf("no login first: %q", got)
	}
	for _, h := range []string{"1.1.1.2", "1.1.1.3", "1.1.1.4"} {
		if len(on(s.log(), h, true)) > 0 {
			t.Errorf("%s touched", h)
		}
	}
	if !strings.Contains(out.String(), "Launching interactive command with version latest via SSH from new container on 1.1.1.1...") {
		t.Errorf("output:\n%s", out)
	}

	// --reuse with -r workers: the workers container on the role's primary host.
	k, s, _ = newScripted(t, Options{Roles: []string{"workers"}}, outputRule{fragment: currentVersionCmd, stdout: "v9\n"})
	if err := k.Apps.ExecCommand(context.Background(), "bash", AppExecOptions{Interactive: true, Reuse: true}); err != nil {
		t.Fatal(err)
	}
	if len(s.interactive) != 1 || s.interactive[0] != "1.1.1.3: docker exec -it app-workers-v9 bash" {
		t.Errorf("interactive: %q", s.interactive)
	}
}

func TestAppLogs(t *testing.T) {
	ctx := context.Background()
	k, s, out := newScripted(t, Options{Hosts: []string{"1.1.1.1"}},
		outputRule{fragment: "label=role=workers", status: 1},
		outputRule{fragment: "docker logs", stdout: "2026 hello\n"})
	if err := k.Apps.Logs(ctx, AppLogsOptions{}); err != nil {
		t.Fatal(err)
	}
	got := on(s.log(), "1.1.1.1", true)
	if len(got) != 2 || !strings.HasSuffix(got[0], "| xargs docker logs --timestamps --tail 100 2>&1") || !strings.Contains(got[0], "label=role=web") {
		t.Errorf("commands: %q", got)
	}
	// A failing role (no container) reports "Nothing found".
	if out.String() != "App Host: 1.1.1.1\n2026 hello\n\nApp Host: 1.1.1.1\nNothing found\n\n" {
		t.Errorf("output: %q", out)
	}

	tests := []struct {
		o      AppLogsOptions
		suffix string
	}{
		{AppLogsOptions{Lines: 5}, "xargs docker logs --timestamps --tail 5 2>&1"},
		{AppLogsOptions{Grep: "GET /up", GrepOptions: "-i"}, "xargs docker logs --timestamps 2>&1 | grep 'GET /up' -i"},
		{AppLogsOptions{Since: "5m", SkipTimestamps: true}, "xargs docker logs --since 5m 2>&1"},
		{AppLogsOptions{ContainerID: "abc", Lines: 2}, "sh -c 'echo abc' | xargs docker logs --timestamps --tail 2 2>&1"},
	}
	for _, tt := range tests {
		k, s, _ := newScripted(t, Options{Hosts: []string{"1.1.1.2"}})
		if err := k.Apps.Logs(ctx, tt.o); err != nil {
			t.Fatal(err)
		}
		if got := on(s.log(), "1.1.1.2", true); len(got) != 1 || !strings.HasSuffix(got[0], tt.suffix) {
			t.Errorf("%+v: %q, want suffix %q", tt.o, got, tt.suffix)
		}
	}
}

func TestAppLogsFollowOnPrimary(t *testing.T) {
	k, s, _ := newScripted(t, Options{})
	if err := k.Apps.Logs(context.Background(), AppLogsOptions{Follow: true, Grep: "err"}); err != nil {
		t.Fatal(err)
	}
	if len(s.interactive) != 1 || !strings.HasPrefix(s.interactive[0], "1.1.1.1: sh -c") ||
		!strings.HasSuffix(s.interactive[0], `| xargs docker logs --timestamps --follow 2>&1 | grep "err"`) ||
		!strings.Contains(s.interactive[0], "label=role=web") {
		t.Errorf("interactive: %q", s.interactive)
	}
	k, s, _ = newScripted(t, Options{Roles: []string{"jobs"}})
	if err := k.Apps.Logs(context.Background(), AppLogsOptions{Follow: true}); err != nil {
		t.Fatal(err)
	}
	if len(s.interactive) != 1 || !strings.HasPrefix(s.interactive[0], "1.1.1.4: ") || !strings.Contains(s.interactive[0], "--tail 10 --follow") {
		t.Errorf("interactive: %q", s.interactive)
	}

	// Ctrl-C ends a follow without an error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k, _, _ = newScripted(t, Options{})
	if err := k.Apps.Logs(ctx, AppLogsOptions{Follow: true}); err != nil {
		t.Errorf("cancelled follow: %v", err)
	}
}

func TestAppStart(t *testing.T) {
	k, s, _ := newScripted(t, Options{Hosts: []string{"1.1.1.1"}},
		outputRule{fragment: currentVersionCmd, stdout: "998\n"},
		outputRule{fragment: "name=^app-web-998$", stdout: "f00d\n"})
	if err := k.Apps.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := on(s.log(), "1.1.1.1", false)
	want := []string{
		"docker start app-web-999",
		currentVersionPrefix(got, 1),
		"docker container ls --all --filter 'name=^app-web-998$' --quiet",
		`docker exec kamal-proxy kamal-proxy deploy app-web --target="f00d:80" --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"`,
		"docker start app-workers-999",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if audit := on(s.log(), "1.1.1.1", true); !strings.Contains(strings.Join(audit, "\n"), "Started app version 999") {
		t.Errorf("no audit: %q", audit)
	}

	// No running container: the proxy cannot be pointed anywhere.
	k, _, _ = newScripted(t, Options{Hosts: []string{"1.1.1.2"}})
	err := k.Apps.Start(context.Background())
	var be *BootError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "Failed to get endpoint for web on 1.1.1.2, did the container boot?") {
		t.Errorf("err = %v", err)
	}
}

// currentVersionPrefix returns got[i] when it is the current-version
// pipeline (its exact text is golden-tested in internal/commands).
func currentVersionPrefix(got []string, i int) string {
	if i < len(got) && strings.Contains(got[i], currentVersionCmd) {
		return got[i]
	}
	return "<current running version>"
}

func TestAppHiddenRemovals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(k *Kamal) error
		want []string // on 1.1.1.1, audit included
	}{
		{"remove_container", func(k *Kamal) error { return k.Apps.RemoveContainer(ctx, "v1") }, []string{
			"[web] Removed app container with version v1",
			"docker container ls --all --filter 'name=^app-web-v1$' --quiet | xargs docker container rm",
			"[workers] Removed app container with version v1",
			"docker container ls --all --filter 'name=^app-workers-v1$' --quiet | xargs docker container rm",
		}},
		{"remove_containers", func(k *Kamal) error { return k.Apps.RemoveContainers(ctx) }, []string{
			"[web] Removed all app containers",
			"docker container prune --force --filter label=service=app --filter label=destination= --filter label=role=web",
			"[workers] Removed all app containers",
			"docker container prune --force --filter label=service=app --filter label=destination= --filter label=role=workers",
		}},
		{"remove_images", func(k *Kamal) error { return k.Apps.RemoveImages(ctx) }, []string{
			"Removed all app images",
			"docker image prune --all --force --filter label=service=app",
		}},
		{"remove_app_directories", func(k *Kamal) error { return k.Apps.RemoveAppDirectories(ctx) }, []string{
			"[web] Removed .kamal/apps/app",
			"/usr/bin/env rm -r .kamal/apps/app",
			"[workers] Removed .kamal/apps/app",
			"/usr/bin/env rm -r .kamal/apps/app",
			"Removed .kamal/apps/app",
			"/usr/bin/env rm -r .kamal/proxy/apps-config/app",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, s, _ := newScripted(t, Options{})
			if err := tt.run(k); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range on(s.log(), "1.1.1.1", true) {
				if strings.Contains(c, ".kamal/lock-") || c == "/usr/bin/env mkdir -p .kamal" {
					continue
				}
				got = append(got, c)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("commands:\n%s", strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("command %d = %s\nwant it to contain %s", i, got[i], w)
				}
			}
			if s.isLocked() {
				t.Error("lock left behind")
			}
		})
	}
	k, _, _ := newScripted(t, Options{})
	if err := k.Apps.RemoveContainer(ctx, " "); err == nil {
		t.Error("empty version accepted")
	}
}

func TestParseEnvPairs(t *testing.T) {
	got, err := ParseEnvPairs([]string{"A=1", "B:2", "URL=http://x:1/?a=b", "C:d=e", "E="})
	if err != nil {
		t.Fatal(err)
	}
	want := []shell.KV{{Key: "A", Value: "1"}, {Key: "B", Value: "2"}, {Key: "URL", Value: "http://x:1/?a=b"}, {Key: "C", Value: "d=e"}, {Key: "E", Value: ""}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"novalue", "=x", "A B=1"} {
		if _, err := ParseEnvPairs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
