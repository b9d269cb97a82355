package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/remote"
)

// scripted is an Executor answering commands by substring: the first rule
// whose key the command contains gives the output (or, with fail, a
// non-zero exit). Every command and upload is recorded.
type scripted struct {
	mu      sync.Mutex
	rules   []rule
	log     []string
	uploads map[string]upload
	// onExec, when set, sees every command first (without s.mu held).
	onExec func(cmd string)
}

type rule struct {
	match  string
	stdout string
	fail   bool
	// seq, when set, gives successive outputs (the last one repeats).
	seq []string
}

type upload struct {
	data string
	mode os.FileMode
}

func (s *scripted) Exec(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	if s.onExec != nil {
		s.onExec(cmd)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, host+": "+cmd)
	// Lookups joined with the separator answer part by part.
	if sep := " ; echo " + staleSeparator + " ; "; strings.Contains(cmd, sep) {
		parts := strings.Split(cmd, sep)
		var outs []string
		for _, part := range parts {
			outs = append(outs, s.answer(part, remote.ExecOptions{AllowFailure: true}).Stdout)
		}
		return remote.Result{Host: host, Command: cmd, Stdout: strings.Join(outs, staleSeparator+"\n")}, nil
	}
	res := s.answer(cmd, o)
	res.Host = host
	if res.ExitStatus != 0 && !o.AllowFailure {
		return res, &remote.CommandError{Host: host, Command: cmd, ExitStatus: 1, Stdout: res.Stdout}
	}
	return res, nil
}

// answer applies the first matching rule (s.mu held).
func (s *scripted) answer(cmd string, o remote.ExecOptions) remote.Result {
	res := remote.Result{Command: cmd}
	for i := range s.rules {
		r := &s.rules[i]
		if !strings.Contains(cmd, r.match) {
			continue
		}
		res.Stdout = r.stdout
		if len(r.seq) > 0 {
			res.Stdout = r.seq[0]
			if len(r.seq) > 1 {
				r.seq = r.seq[1:]
			}
		}
		if r.fail {
			res.ExitStatus = 1
		}
		return res
	}
	return res
}

func (s *scripted) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploads == nil {
		s.uploads = map[string]upload{}
	}
	s.uploads[host+":"+path] = upload{string(data), mode}
	s.log = append(s.log, host+": upload "+path)
	return nil
}

func (s *scripted) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

const bootYAML = `service: app
image: dhh/app
servers:
  web:
    - 1.1.1.1
  workers:
    hosts:
      - 1.1.1.2
    cmd: bin/jobs
proxy:
  host: app.example.com
registry:
  username: dhh
  password: regpass123
builder:
  arch: amd64
env:
  secret:
    - DB_PASSWORD
readiness_delay: 3
deploy_timeout: 10
`

func newScriptedKamal(t *testing.T, yaml string, x *scripted) (*Kamal, *bytes.Buffer, *fakeClock) {
	t.Helper()
	// Secrets are read from .kamal/secrets of the working directory.
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(".kamal", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(".kamal/secrets", []byte("DB_PASSWORD=hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, yaml)
	var out bytes.Buffer
	clock := &fakeClock{now: time.Date(2026, 11, 26, 4, 5, 57, 0, time.UTC)}
	k, err := New(cfg, Options{Executor: x, Stdout: &out, Level: remote.LevelVerbose, Now: clock.Now, Sleep: clock.Sleep,
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return k, &out, clock
}

func TestBarrier(t *testing.T) {
	b := NewBarrier()
	if !b.Open() || b.Close() {
		t.Fatal("the first decision must win")
	}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatalf("open barrier: %v", err)
	}
	c := NewBarrier()
	c.Close()
	var he *HealthcheckError
	if err := c.Wait(context.Background()); !errors.As(err, &he) || he.Msg != "Halted at barrier" {
		t.Fatalf("closed barrier: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewBarrier().Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("undecided barrier with a cancelled context: %v", err)
	}
}

func TestWaitForReady(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []string
		wantErr  string
		wantPoll int
		delay0   bool // readiness_delay: 0
	}{
		{"running with no readiness delay: one poll", []string{"running", "exited"}, "", 1, true},
		{"healthy at once", []string{"healthy"}, "", 1, false},
		{"starting then healthy", []string{"starting", "starting", "healthy"}, "", 3, false},
		{"running through the readiness delay", []string{"running", "running"}, "", 2, false},
		{"running then exits", []string{"running", "exited"}, "container not ready after 10 seconds (exited)", 0, false},
		{"never healthy", []string{"unhealthy"}, "container not ready after 10 seconds (unhealthy)", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &scripted{rules: []rule{{match: "docker inspect --format", seq: tc.statuses}}}
			yaml := bootYAML
			if tc.delay0 {
				yaml = strings.Replace(yaml, "readiness_delay: 3", "readiness_delay: 0", 1)
			}
			k, _, _ := newScriptedKamal(t, yaml, x)
			app, err := k.appFor(k.Config.Role("workers"), "1.1.1.2")
			if err != nil {
				t.Fatal(err)
			}
			err = k.Booter.waitForReady(context.Background(), "1.1.1.2", app)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n := len(x.commands()); n != tc.wantPoll {
					t.Errorf("%d polls, want %d", n, tc.wantPoll)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestAppBootSteps checks the order of a boot on one proxied host: clash
// rename, current version, audit, env file (0600), run, proxy deploy with
// the container id, stop of the old version, tag latest.
func TestAppBootSteps(t *testing.T) {
	x := &scripted{rules: []rule{
		{match: "--filter 'name=^app-web-999$' --quiet", stdout: "f00dcafe1234\n"},
		{match: "while read line; do echo ${line#app-web-}", stdout: "998\n"},
		{match: "docker inspect --format", stdout: "healthy"},
	}}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	k2, err := New(k.Config, Options{Executor: x, Stdout: out, Level: remote.LevelVerbose, Hosts: []string{"1.1.1.1"},
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if err := k2.Booter.Boot(context.Background(), AppBootOptions{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var steps []string
	for _, c := range x.commands() {
		switch {
		case strings.Contains(c, "docker rename app-web-999 app-web-999_replaced_"):
			steps = append(steps, "rename")
		case strings.Contains(c, "upload .kamal/apps/app/env/roles/web.env"):
			steps = append(steps, "env")
		case strings.Contains(c, "docker run --detach --restart unless-stopped --name app-web-999"):
			steps = append(steps, "run")
		case strings.Contains(c, `kamal-proxy deploy app-web --target="f00dcafe1234:80" --host="app.example.com"`):
			steps = append(steps, "proxy")
		case strings.Contains(c, "'name=^app-web-998$' --quiet | xargs docker stop"):
			steps = append(steps, "stop old")
		case strings.Contains(c, "docker tag dhh/app:999 dhh/app:latest"):
			steps = append(steps, "tag")
		}
	}
	if want := "rename env run proxy stop old tag"; strings.Join(steps, " ") != want {
		t.Errorf("steps = %q, want %q\n%s", strings.Join(steps, " "), want, strings.Join(x.commands(), "\n"))
	}
	// Kamal's words: the log line names the host, the audit line does not.
	renameAudit := regexp.MustCompile(`\] \[web\] Renaming container 999 to 999_replaced_[0-9a-f]{16}" >> \.kamal/app-audit\.log && docker rename`)
	if !renameAudit.MatchString(strings.Join(x.commands(), "\n")) {
		t.Errorf("no rename audit line in Kamal's words:\n%s", strings.Join(x.commands(), "\n"))
	}
	if !regexp.MustCompile(`INFO Renaming container 999 to 999_replaced_[0-9a-f]{16} as already deployed on 1\.1\.1\.1\n`).MatchString(out.String()) {
		t.Errorf("no rename log line:\n%s", out)
	}
	up := x.uploads["1.1.1.1:.kamal/apps/app/env/roles/web.env"]
	if up.data != "DB_PASSWORD=hunter2\n" || up.mode != 0o600 {
		t.Errorf("env file upload = %+v", up)
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Error("the secret shows in the output")
	}
}

// TestAppBootFailureStopsNewContainer: with --no-rollback, a failing proxy
// deploy stops the new container, keeps the old one and returns the error.
func TestAppBootFailureStopsNewContainer(t *testing.T) {
	x := &scripted{rules: []rule{
		{match: "kamal-proxy deploy", fail: true, stdout: "target failed to become healthy"},
		{match: "--filter 'name=^app-web-999$' --quiet", seq: []string{"", "abc123"}},
		{match: "while read line; do echo ${line#app-web-}", stdout: "998\n"},
	}}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	err := k.Booter.Boot(context.Background(), AppBootOptions{NoRollback: true})
	if err == nil {
		t.Fatal("boot succeeded")
	}
	log := strings.Join(x.commands(), "\n")
	if !strings.Contains(log, "'name=^app-web-999$' --quiet | xargs docker stop") {
		t.Errorf("the new container was not stopped:\n%s", log)
	}
	if strings.Contains(log, "'name=^app-web-998$' --quiet | xargs docker stop") {
		t.Errorf("the old container was stopped:\n%s", log)
	}
	if strings.Contains(log, "docker tag") {
		t.Errorf("latest was tagged after a failure:\n%s", log)
	}
	// The workers waited at the barrier and never booted.
	if strings.Contains(log, "--name app-workers-999") {
		t.Errorf("workers booted after the web role failed:\n%s", log)
	}
	if !strings.Contains(out.String(), "Failed to boot web on 1.1.1.1") {
		t.Errorf("output:\n%s", out)
	}
}

func TestShortContainerID(t *testing.T) {
	full := strings.Repeat("ab12", 16)
	for _, tc := range []struct{ in, want string }{
		{full + "\n", "ab12ab12ab12"},
		{"Unable to find image locally\n" + full + "\n", "ab12ab12ab12"},
		{"", ""},
		{"f00dcafe1234", ""},
		{strings.Repeat("zz", 32), ""},
	} {
		if got := shortContainerID(tc.in); got != tc.want {
			t.Errorf("shortContainerID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestAppBootGroupsWait: boot.limit 1 boots one host per group, and
// boot.wait follows every group, the last one too (as Kamal's group
// runner does); without a limit nothing waits.
func TestAppBootGroupsWait(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		sleeps      []time.Duration
	}{
		{"limit 1 wait 7", "boot:\n  limit: 1\n  wait: 7\n", []time.Duration{7 * time.Second, 7 * time.Second}},
		{"limit 50% wait 2", "boot:\n  limit: 50%\n  wait: 2\n", []time.Duration{2 * time.Second, 2 * time.Second}},
		{"wait without limit", "boot:\n  wait: 7\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &scripted{rules: []rule{
				{match: "docker inspect --format", stdout: "healthy"},
				{match: "--filter 'name=^app-web-999$' --quiet", stdout: "f00dcafe1234\n"},
				{match: "--filter 'name=^app-workers-999$' --quiet", stdout: "beefcafe5678\n"},
			}}
			k, out, clock := newScriptedKamal(t, bootYAML+tc.extra, x)
			if err := k.Booter.Boot(context.Background(), AppBootOptions{}); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var waits []time.Duration
			for _, d := range clock.sleeps {
				// Readiness polling sleeps are 1s steps; the group waits are the configured value.
				if d == 7*time.Second || d == 2*time.Second {
					waits = append(waits, d)
				}
			}
			if len(waits) != len(tc.sleeps) {
				t.Errorf("group waits = %v (all sleeps %v), want %v\n%s", waits, clock.sleeps, tc.sleeps, out)
			}
			if len(tc.sleeps) > 0 {
				// The web host and the workers host boot in separate groups.
				log := strings.Join(x.commands(), "\n")
				web := strings.Index(log, "--name app-web-")
				workers := strings.Index(log, "--name app-workers-")
				if web < 0 || workers < 0 || workers < web {
					t.Errorf("web then workers expected in separate groups:\n%s", log)
				}
			}
		})
	}
}

// Assets are bridged only for roles behind the proxy, as in Kamal
// (Role#assets?): the workers role with an asset_path gets no extraction,
// no asset volume and no asset cleanup.
func TestAssetsOnlyForProxiedRoles(t *testing.T) {
	x := &scripted{rules: []rule{
		{match: "while read line; do echo ${line#app-", stdout: "998\n"},
		{match: "docker inspect --format", stdout: "healthy"},
		{match: "--filter 'name=^app-web-999$' --quiet", stdout: "f00dcafe1234\n"},
	}}
	k, out, _ := newScriptedKamal(t, bootYAML+"asset_path: /app/public/assets\n", x)
	if err := k.Booter.Boot(context.Background(), AppBootOptions{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var web, workers []string
	for _, c := range x.commands() {
		if !strings.Contains(c, "assets") {
			continue
		}
		switch {
		case strings.HasPrefix(c, "1.1.1.1: "):
			web = append(web, c)
		case strings.HasPrefix(c, "1.1.1.2: "):
			workers = append(workers, c)
		}
	}
	if len(workers) != 0 {
		t.Errorf("the workers role (no proxy) got asset commands:\n%s", strings.Join(workers, "\n"))
	}
	if len(web) < 2 {
		t.Errorf("the web role lacks its asset commands:\n%s", strings.Join(x.commands(), "\n"))
	}
}
