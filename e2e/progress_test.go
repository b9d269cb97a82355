package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/ptytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// plainRun is one kamal command of the plain-output golden and what it
// printed on stdout and stderr, apart.
type plainRun struct {
	args           []string
	stdout, stderr string
	failed         bool
}

// runPlain runs kamal in p with stdout and stderr kept apart; flags are
// added in front of args but not recorded with them.
func runPlain(t *testing.T, ctx context.Context, p *appProject, flags []string, args ...string) plainRun {
	t.Helper()
	cmd := kamalCommand(t, ctx, p.dir, append(flags, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return plainRun{args: args, stdout: stdout.String(), stderr: stderr.String(), failed: err != nil}
}

// goldenNoise are the parts of the plain log that change from run to run:
// command ids, durations, times, container ids and host names, and the
// project's temporary directory.
var goldenNoise = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\[[0-9a-f]{8}\]`), "[ID]"},
	{regexp.MustCompile(`in \d+(\.\d+)? seconds`), "in N seconds"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "TIME"},
	{regexp.MustCompile(`\b[0-9a-f]{12}\b`), "HEX12"},
	{regexp.MustCompile(`_replaced_[0-9a-f]{16}`), "_replaced_HEX16"},
}

func normalizePlain(s, projectDir string) string {
	s = strings.ReplaceAll(s, projectDir, "PROJECT")
	for _, n := range goldenNoise {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestPlainOutputGolden pins kamal's Kamal-compatible log, byte for byte
// (after removing ids and durations): a first deploy that boots the
// proxy, a second deploy that replaces the version, the query commands,
// and a deploy of a version that never gets healthy. One host, so the
// order of the lines does not depend on scheduling.
func TestPlainOutputGolden(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: "golden", Web: hostIPs(0), DeployTimeout: 3})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.image(t, ctx, "app", "v2")
	p.image(t, ctx, "app-unhealthy", "v3")

	// Output to a pipe is the plain log, and so is --progress=plain.
	plain := []string{"--progress=plain"}
	runs := []plainRun{
		runPlain(t, ctx, p, nil, "deploy", "-P", "--version", "v1"),
		runPlain(t, ctx, p, plain, "deploy", "-P", "--version", "v2"),
		runPlain(t, ctx, p, nil, "app", "version"),
		runPlain(t, ctx, p, plain, "lock", "status"),
		runPlain(t, ctx, p, plain, "deploy", "-P", "--version", "v3"),
	}
	var b strings.Builder
	for _, r := range runs {
		b.WriteString("$ kamal " + strings.Join(r.args, " ") + "\n")
		b.WriteString(r.stdout)
		if r.stderr != "" {
			b.WriteString("--- stderr\n" + r.stderr)
		}
		if r.failed {
			b.WriteString("--- failed\n")
		}
	}
	// Through the Docker API (the default) the log shows one line per API
	// call; with KAMAL_DOCKER_CLI=1 the docker commands it stands for.
	golden := "plain.golden"
	if os.Getenv("KAMAL_DOCKER_CLI") != "" {
		golden = "plain-cli.golden"
	}
	checkGolden(t, golden, normalizePlain(b.String(), p.dir))
}

// healthyThenBroken is an app with web on vm1 and vm2 and workers on vm3,
// whose version v1 works and v2 never gets healthy, with the proxy image
// pushed and no proxy left from another scenario.
func healthyThenBroken(t *testing.T, ctx context.Context, service string, deployTimeout int) *appProject {
	t.Helper()
	pushProxyImage(t, ctx)
	removeProxies(t)
	p := newAppProject(t, appSpec{Service: service, Web: hostIPs(0, 1), Workers: hostIPs(2), DeployTimeout: deployTimeout})
	cleanupApp(t, p)
	p.image(t, ctx, "app", "v1")
	p.image(t, ctx, "app-unhealthy", "v2")
	return p
}

// jsonLines parses kamal's --json output: every line an object with a
// type and an RFC 3339 time; the last one the result.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var events []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d is not JSON (%v): %q\n%s", i+1, err, line, out)
		}
		if _, ok := e["type"].(string); !ok {
			t.Errorf("line %d has no type: %s", i+1, line)
		}
		ts, _ := e["time"].(string)
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("line %d: time %q is not RFC 3339: %v", i+1, ts, err)
		}
		events = append(events, e)
	}
	if len(events) == 0 || events[len(events)-1]["type"] != "result" {
		t.Fatalf("the last line is not the result:\n%s", out)
	}
	if v := events[len(events)-1]["schema_version"]; v != float64(1) {
		t.Errorf("schema_version = %v", v)
	}
	return events
}

// runJSON runs kamal --json in p; it returns stdout (stderr is apart).
func runJSON(t *testing.T, ctx context.Context, p *appProject, args ...string) (string, bool) {
	t.Helper()
	r := runPlain(t, ctx, p, []string{"--json"}, args...)
	return r.stdout, !r.failed
}

// TestJSONEvents: --json on a deploy to three hosts, on the query
// commands and on a failing deploy prints JSON lines only, every remote
// command with its host and duration, no secret, and a result last.
func TestJSONEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := healthyThenBroken(t, ctx, "jsonev", 3)
	secrets := []string{"s3cr3t", env.RegistryPassword}

	check := func(name, out string, ok bool) []map[string]any {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s: a secret appears in the JSON output", name)
			}
		}
		events := jsonLines(t, out)
		result := events[len(events)-1]
		if result["ok"] != ok {
			t.Errorf("%s: result %v, want ok=%v", name, result, ok)
		}
		if !ok && result["error"] == "" {
			t.Errorf("%s: failed result without an error: %v", name, result)
		}
		for _, e := range events {
			if e["type"] != "command" {
				continue
			}
			if e["host"] == "" || e["host"] == nil || e["duration_ms"] == nil || e["exit_status"] == nil || e["command"] == nil {
				t.Errorf("%s: command event without host, command, exit status or duration: %v", name, e)
			}
		}
		return events
	}

	out, ok := runJSON(t, ctx, p, "deploy", "-P", "--version", "v1")
	events := check("deploy", out, true)
	if !ok {
		t.Fatalf("deploy failed:\n%s", out)
	}
	hosts := map[string]bool{}
	for _, e := range events {
		if e["type"] == "command" {
			hosts[e["host"].(string)] = true
		}
	}
	for _, h := range env.Hosts {
		if !hosts[h.IP] {
			t.Errorf("no command event on %s", h.IP)
		}
	}
	if got := events[len(events)-1]["command"]; got != "deploy" {
		t.Errorf("result command = %v", got)
	}
	// Steps per host and role, the lock, the audit lines, and the version
	// per host and role in the result.
	seen := map[string]bool{}
	for _, e := range events {
		switch e["type"] {
		case "step_finish":
			if e["ok"] == true {
				seen[fmt.Sprintf("%v %v %v", e["step"], e["host"], e["role"])] = true
			}
		case "lock", "audit":
			seen[fmt.Sprintf("%v %v", e["type"], e["action"])] = true
		}
	}
	for _, want := range []string{
		"pull " + env.Hosts[0].IP + " <nil>", "pull " + env.Hosts[2].IP + " <nil>",
		"boot " + env.Hosts[0].IP + " web", "health check " + env.Hosts[1].IP + " web", "boot " + env.Hosts[2].IP + " workers",
		"health check " + env.Hosts[2].IP + " workers", "prune " + env.Hosts[0].IP + " <nil>",
		"lock acquired", "lock released", "audit <nil>",
	} {
		if !seen[want] {
			t.Errorf("no event %q among %v", want, seen)
		}
	}
	hostResults, _ := events[len(events)-1]["hosts"].([]any)
	if len(hostResults) != 3 {
		t.Errorf("result hosts = %v, want 3 (2 web, 1 workers)", hostResults)
	}
	for _, h := range hostResults {
		if m := h.(map[string]any); m["version"] != "v1" || m["ok"] != true {
			t.Errorf("result host %v, want v1 ok", m)
		}
	}

	for _, q := range []struct {
		args []string
		want string // in the result's data
	}{
		{[]string{"app", "version"}, `"host":"` + env.Hosts[0].IP + `","kind":"App","text":"v1"`},
		{[]string{"details"}, "jsonev-web-v1"},
		{[]string{"lock", "status"}, "There is no deploy lock"},
		{[]string{"audit"}, "Booted app version v1"},
		{[]string{"app", "containers"}, "jsonev-workers-v1"},
		{[]string{"config"}, `"text":"---`},
	} {
		out, ok := runJSON(t, ctx, p, q.args...)
		if !ok {
			t.Errorf("%v failed:\n%s", q.args, out)
		}
		events := check(strings.Join(q.args, " "), out, true)
		data, _ := json.Marshal(events[len(events)-1]["data"])
		if !strings.Contains(string(data), q.want) {
			t.Errorf("%v: result data %s lacks %s", q.args, data, q.want)
		}
	}

	out, ok = runJSON(t, ctx, p, "deploy", "-P", "--version", "v2")
	if ok {
		t.Errorf("deploy of an unhealthy version succeeded:\n%s", out)
	}
	events = check("failing deploy", out, false)
	failed := false
	for _, e := range events {
		if e["type"] == "command" && e["failed"] == true && strings.Contains(e["command"].(string), "kamal-proxy deploy") {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no failed command event for the proxy deploy:\n%s", out)
	}
	for _, h := range events[len(events)-1]["hosts"].([]any) {
		if m := h.(map[string]any); m["ok"] == false && (m["version"] != "v1" || m["version_before"] != "v1") {
			t.Errorf("a failed host and role should still run v1: %v", m)
		}
	}
}

// ttyRun runs kamal in p on a pseudo-terminal of 120 columns and returns
// the screen at the end and the whole output.
func ttyRun(t *testing.T, ctx context.Context, p *appProject, args ...string) (*ptytest.Screen, []byte, time.Duration, error) {
	t.Helper()
	cmd := kamalCommand(t, ctx, p.dir, args...)
	cmd.Env = append(withoutEnv(cmd.Env, "CI"), "TERM=xterm-256color", "LANG=C.UTF-8")
	start := time.Now()
	s, err := ptytest.Start(cmd, 120, 40)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Wait()
	out := s.Output()
	return ptytest.Replay(out), out, time.Since(start), err
}

func withoutEnv(envs []string, name string) []string {
	var out []string
	for _, e := range envs {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}

// TestTTYDeploy: at a terminal (CI unset), a deploy to three hosts shows
// a live line per host and ends with a summary table; a failing deploy
// shows the cross, the failing command and its output.
func TestTTYDeploy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := healthyThenBroken(t, ctx, "ttydeploy", 3)

	screen, out, took, err := ttyRun(t, ctx, p, "deploy", "-P", "--version", "v1")
	text := screen.Text()
	t.Logf("the screen after the deploy:\n%s", text)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, text)
	}
	for _, h := range env.Hosts {
		if !regexp.MustCompile(`(?m)^✓  ` + regexp.QuoteMeta(h.IP) + ` `).MatchString(text) {
			t.Errorf("summary lacks a check mark line for %s:\n%s", h.IP, text)
		}
	}
	for _, want := range []string{"HOST", "DURATION", "Total ", "✓ " + env.Hosts[0].IP + "  web  health check", "✓ " + env.Hosts[2].IP + "  workers  boot"} {
		if !strings.Contains(text, want) {
			t.Errorf("screen lacks %q:\n%s", want, text)
		}
	}
	// The log of the plain output is not there; the live lines were
	// redrawn, at most 10 times a second.
	if strings.Contains(text, "INFO [") {
		t.Errorf("plain log lines on the live view:\n%s", text)
	}
	if screen.Redraws == 0 {
		t.Errorf("never redrawn:\n%q", out)
	}
	if limit := int(took/(100*time.Millisecond)) + 2; screen.Redraws > limit {
		t.Errorf("%d redraws in %v (more than 10 a second)", screen.Redraws, took)
	}

	screen, _, _, err = ttyRun(t, ctx, p, "deploy", "-P", "--version", "v2")
	text = screen.Text()
	t.Logf("the screen after the failed deploy:\n%s", text)
	if err == nil {
		t.Fatalf("deploy of an unhealthy version succeeded:\n%s", text)
	}
	for _, want := range []string{
		"✗ 10.77.0.1", // vm1 or vm2, whichever the error names
		"    $ docker exec kamal-proxy kamal-proxy deploy ttydeploy-web",
		"    | Error: target failed to become healthy",
		"✗ Failed after",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("failing deploy's screen lacks %q:\n%s", want, text)
		}
	}
	// One cross per failed step, and its error is not printed again line
	// by line (the run's error, at the end, names the command).
	live, _, _ := strings.Cut(text, "Releasing the deploy lock")
	for _, h := range env.Hosts[:2] {
		if n := strings.Count(live, "✗ "+h.IP+"  web  health check"); n != 1 {
			t.Errorf("%d crosses for the health check of %s, want 1:\n%s", n, h.IP, text)
		}
	}
	if regexp.MustCompile(`(?m)^docker exec`).MatchString(live) {
		t.Errorf("a command line printed raw on the live view:\n%s", text)
	}
}
