package e2e

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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
	checkGolden(t, "plain.golden", normalizePlain(b.String(), p.dir))
}
