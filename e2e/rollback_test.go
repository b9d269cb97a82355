package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/syncbuf"
	"github.com/kamalgo/kamal/internal/testhosts"
)

// The automatic rollback: two web hosts behind kamal-proxy and a worker
// host run v1 under a request loop; a deploy of v2 fails on one host. Every
// host must end on v1, with no v2 container running, the lock released
// and not one failed request.

// rollbackScenario is a project deployed at v1 with a request loop on
// its web hosts.
type rollbackScenario struct {
	p    *appProject
	web  []*testhosts.Host
	all  []*testhosts.Host
	load *testhosts.Load
}

// newRollbackScenario deploys v1 of a fresh service (web on hosts 0 and
// 1, workers on host 2) built from the app program (app-assets when
// program is app-assets) and pushes v2 built from program; extra is added
// to deploy.yml.
func newRollbackScenario(t *testing.T, ctx context.Context, service, program, extra string) *rollbackScenario {
	t.Helper()
	pushProxyImage(t, ctx)
	removeProxies(t)
	// A short deploy_timeout keeps the unhealthy boots short; a slow
	// booting v2 (5 s) needs more.
	timeout := 6
	if program == "app-slow" {
		timeout = 12
	}
	p := newAppProject(t, appSpec{Service: service, Web: hostIPs(0, 1), Workers: hostIPs(2), DeployTimeout: timeout, Extra: extra})
	cleanupApp(t, p)
	v1 := "app"
	if program == "app-assets" {
		v1 = program
	}
	p.image(t, ctx, v1, "v1")
	p.image(t, ctx, program, "v2")
	s := &rollbackScenario{p: p, web: env.Hosts[:2], all: env.Hosts[:3]}
	p.kamal(t, ctx, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", s.web...)
	return s
}

// scenarioRole is the role of the scenario's host i.
func scenarioRole(i int) string {
	if i == 2 {
		return "workers"
	}
	return "web"
}

// startLoad starts the request loop (bounded: 4 x 20000 requests).
func (s *rollbackScenario) startLoad(ctx context.Context) {
	s.load = testhosts.StartLoad(ctx, testhosts.LoadOptions{Hosts: s.web, Host: s.p.host, Clients: 4, MaxPerClient: 20000, Key: bodyVersion})
}

// editConfig replaces old with new in config/deploy.yml.
func (s *rollbackScenario) editConfig(t *testing.T, old, new string) {
	t.Helper()
	path := filepath.Join(s.p.dir, "config", "deploy.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("deploy.yml lacks %q:\n%s", old, b)
	}
	s.p.write(t, "config/deploy.yml", strings.Replace(string(b), old, new, 1), 0o644)
}

// sickOn makes the containers booted on web host i from now on unhealthy
// (a host tag setting UNHEALTHY, which the app reads); running ones keep
// their environment.
func (s *rollbackScenario) sickOn(t *testing.T, i int) {
	t.Helper()
	ip := env.Hosts[i].IP
	s.editConfig(t, "      - "+ip+"\n", "      - "+ip+": sick\n")
	s.editConfig(t, "    - APP_SECRET\n", "    - APP_SECRET\n  tags:\n    sick:\n      UNHEALTHY: \"1\"\n")
}

// failingDeploy runs kamal with args, which must fail, and returns its output.
func (s *rollbackScenario) failingDeploy(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := kamal(t, ctx, s.p.dir, args...)
	if err == nil {
		t.Fatalf("kamal %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// expectRolledBack checks the fleet after a rolled back deploy of v2: v1
// served on every web host and run by the worker, no v2 container
// running anywhere, no lock, `app version` v1 everywhere, the rollback
// table in the output, and (once the loop saw v1 a little more) no failed
// request.
func (s *rollbackScenario) expectRolledBack(t *testing.T, ctx context.Context, out string) {
	t.Helper()
	t.Logf("kamal output:\n%s", out)
	p := s.p
	if err := s.load.StopAfter(ctx, "v1", s.load.Seen("v1")+20); err != nil {
		t.Fatal(err)
	}
	t.Logf("requests: %d ok, %d failed, versions %v", s.load.OK(), s.load.Failed(), s.load.Counts())
	if n := s.load.Failed(); n > 0 {
		t.Errorf("%d requests failed during the deploy and its rollback, e.g. %v", n, s.load.Errors())
	}
	p.expectVersion(t, ctx, "v1", s.web...)
	for i, h := range s.all {
		role := scenarioRole(i)
		if got, want := runningNames(t, ctx, h, p.service), p.service+"-"+role+"-v1"; got != want {
			t.Errorf("%s runs %q, want %q", h.Name, got, want)
		}
	}
	if lock := p.kamal(t, ctx, "lock", "status"); !strings.Contains(lock, "There is no deploy lock") {
		t.Errorf("lock left behind: %s", lock)
	}
	versions := p.kamal(t, ctx, "app", "version")
	for _, h := range s.all {
		if block := hostBlock(versions, h.IP); strings.TrimSpace(block) != "v1" {
			t.Errorf("app version on %s = %q, want v1:\n%s", h.Name, block, versions)
		}
	}
	table := regexp.MustCompile(` +`).ReplaceAllString(out, " ")
	if !strings.Contains(table, " HOST ROLE BEFORE ATTEMPTED NOW REASON\n") {
		t.Errorf("no rollback table in the output:\n%s", out)
	}
	for i, h := range s.all {
		role := scenarioRole(i)
		if !regexp.MustCompile(`(?m)^ ` + regexp.QuoteMeta(h.IP) + ` ` + role + ` v1 v2 v1 \S`).MatchString(table) {
			t.Errorf("the table has no row %s %s v1 v2 v1:\n%s", h.IP, role, out)
		}
	}
	if !strings.Contains(out, "Releasing the deploy lock...") {
		t.Errorf("output:\n%s", out)
	}
}

// TestRollbackUnhealthyWebHost: v2 is unhealthy on the second web host
// only; the first web host and the worker, which already run v2, go back.
func TestRollbackUnhealthyWebHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newRollbackScenario(t, ctx, "rbsick", "app", "")
	s.sickOn(t, 1)
	s.startLoad(ctx)
	out := s.failingDeploy(t, ctx, "deploy", "-P", "--version", "v2")
	s.expectRolledBack(t, ctx, out)
	table := regexp.MustCompile(` +`).ReplaceAllString(out, " ")
	for _, want := range []string{
		regexp.QuoteMeta(env.Hosts[0].IP + " web v1 v2 v1 rolled back (web on " + env.Hosts[1].IP + " failed)"),
		regexp.QuoteMeta(env.Hosts[1].IP+" web v1 v2 v1 ") + ".*target failed to become healthy.*; rolled back",
	} {
		if !regexp.MustCompile(want).MatchString(table) {
			t.Errorf("the table has no line matching %q:\n%s", want, out)
		}
	}
	audit := s.p.kamal(t, ctx, "audit")
	if !strings.Contains(audit, "[web] Rolled back app version v2 to v1 (web on "+env.Hosts[1].IP+" failed)") {
		t.Errorf("no rollback line in the audit log:\n%s", audit)
	}
}

// TestRollbackDockerRunFailure: docker run of v2 fails on one web host
// (its published port is taken).
func TestRollbackDockerRunFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newRollbackScenario(t, ctx, "rbrun", "app", "")
	s.editConfig(t, "  web:\n", "  web:\n    options:\n      publish: \"18080:80\"\n")
	h := env.Hosts[1]
	removeContainer(t, h, "rbrun-port-taken")
	if _, err := h.Docker(ctx, "run", "--detach", "--name", "rbrun-port-taken", "--label", "service=rbrun-port-taken", "--publish", "18080:80", env.Registry+"/e2e/rbrun:v1"); err != nil {
		t.Fatal(err)
	}
	s.startLoad(ctx)
	out := s.failingDeploy(t, ctx, "deploy", "-P", "--version", "v2")
	if !strings.Contains(out, "port is already allocated") {
		t.Errorf("the docker run failure is not shown:\n%s", out)
	}
	s.expectRolledBack(t, ctx, out)
}

// TestRollbackDroppedConnection: the SSH connection to one web host drops
// while v2 boots there (after the pull); the rollback reconnects.
func TestRollbackDroppedConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// v2 takes 5 s to listen, so the health check is in flight when the
	// connection drops.
	s := newRollbackScenario(t, ctx, "rbdrop", "app-slow", "")
	h := env.Hosts[1]
	dropped := dropSSHWhenCreated(ctx, h, "rbdrop-web-v2")
	s.startLoad(ctx)
	out := s.failingDeploy(t, ctx, "deploy", "-P", "--version", "v2")
	if err := <-dropped; err != nil {
		t.Fatal(err)
	}
	s.expectRolledBack(t, ctx, out)
}

// TestRollbackAssets: with asset bridging, the first web host switched to
// v2 (which removed v1's asset directories) goes back to v1 serving v1's
// assets, and only v1's asset directories are left.
func TestRollbackAssets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newRollbackScenario(t, ctx, "rbassets", "app-assets", "asset_path: /public/assets\n")
	s.sickOn(t, 1)
	s.startLoad(ctx)
	out := s.failingDeploy(t, ctx, "deploy", "-P", "--version", "v2")
	s.expectRolledBack(t, ctx, out)
	for _, h := range s.web {
		for name, want := range map[string]string{"v1.txt": "asset of v1\n", "shared.txt": "shared from v1\n"} {
			status, body, err := s.p.get(ctx, h, "/assets/"+name)
			if err != nil || status != 200 || body != want {
				t.Errorf("%s: GET /assets/%s = %d %q (%v), want 200 %q", h.Name, name, status, body, err, want)
			}
		}
		for _, kind := range []string{"extracted", "volumes"} {
			entries, err := os.ReadDir(filepath.Join(h.Home, ".kamal/apps/rbassets/assets", kind))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if got := strings.Join(names, " "); got != "web-v1" {
				t.Errorf("%s: assets/%s = %q, want only web-v1 after the rollback", h.Name, kind, got)
			}
		}
	}
}

// TestRollbackSecondBootGroup: with boot limit 1 (and a wait), the first
// group (the first web host) boots v2 and the second fails; the first goes
// back and the third group never boots.
func TestRollbackSecondBootGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newRollbackScenario(t, ctx, "rbgroup", "app", "boot:\n  limit: 1\n  wait: 1\n")
	s.sickOn(t, 1)
	s.startLoad(ctx)
	out := s.failingDeploy(t, ctx, "deploy", "-P", "--version", "v2")
	s.expectRolledBack(t, ctx, out)
	table := regexp.MustCompile(` +`).ReplaceAllString(out, " ")
	if want := env.Hosts[2].IP + " workers v1 v2 v1 not booted"; !strings.Contains(table, want) {
		t.Errorf("the table lacks %q:\n%s", want, out)
	}
	if names := containerNames(t, ctx, env.Hosts[2], "name=rbgroup-workers-v2"); len(names) > 0 {
		t.Errorf("the third group booted: %v", names)
	}
}

// TestNoRollbackKeepsKamalBehaviour: with --no-rollback the hosts that
// booted v2 stay on it, the failed host stays on v1, as Kamal leaves them.
func TestNoRollbackKeepsKamalBehaviour(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newRollbackScenario(t, ctx, "rbnone", "app", "")
	s.sickOn(t, 1)
	out := s.failingDeploy(t, ctx, "deploy", "-P", "--version", "v2", "--no-rollback")
	if strings.Contains(out, "rolling back") || strings.Contains(out, "ATTEMPTED") {
		t.Errorf("rolled back with --no-rollback:\n%s", out)
	}
	s.p.expectVersion(t, ctx, "v2", env.Hosts[0])
	s.p.expectVersion(t, ctx, "v1", env.Hosts[1])
	if got := runningNames(t, ctx, env.Hosts[2], s.p.service); got != "rbnone-workers-v2" {
		t.Errorf("worker runs %q, want rbnone-workers-v2", got)
	}
	if got := runningNames(t, ctx, env.Hosts[1], s.p.service); got != "rbnone-web-v1" {
		t.Errorf("the failed host runs %q, want rbnone-web-v1 only", got)
	}
}

// TestRollbackWithoutVersion: `kamal rollback` after v2 goes back to v1 on
// every host and role, under the request loop.
func TestRollbackWithoutVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newRollbackScenario(t, ctx, "rbprev", "app", "")
	s.p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	s.p.expectVersion(t, ctx, "v2", s.web...)
	s.startLoad(ctx)
	out := s.p.kamal(t, ctx, "rollback")
	if !strings.Contains(out, "Rolling back from v2 to v1") {
		t.Errorf("output:\n%s", out)
	}
	if err := s.load.StopAfter(ctx, "v1", s.load.Seen("v1")+20); err != nil {
		t.Fatal(err)
	}
	if n := s.load.Failed(); n > 0 {
		t.Errorf("%d requests failed during the rollback, e.g. %v", n, s.load.Errors())
	}
	s.p.expectVersion(t, ctx, "v1", s.web...)
	if got := runningNames(t, ctx, env.Hosts[2], s.p.service); got != "rbprev-workers-v1" {
		t.Errorf("worker runs %q, want rbprev-workers-v1", got)
	}
	// Once v2's containers are pruned on one host, no version older than
	// v1 exists: a clear error naming where.
	s.p.kamal(t, ctx, "deploy", "-P", "--version", "v2")
	if _, err := env.Hosts[2].Docker(ctx, "rm", "rbprev-workers-v1"); err != nil {
		t.Fatal(err)
	}
	out, err := kamal(t, ctx, s.p.dir, "rollback")
	if err == nil || !strings.Contains(out, "v1 is missing for workers on "+env.Hosts[2].IP) {
		t.Errorf("rollback without an older version everywhere: %v\n%s", err, out)
	}
	s.p.expectVersion(t, ctx, "v2", s.web...)
}

// hostSnapshot is what a read-only command must leave as it was on h:
// every container and image, and every file under ~/.kamal and
// ~/.docker (the audit log, the lock, env files, registry logins).
func hostSnapshot(t *testing.T, ctx context.Context, h *testhosts.Host) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"ps", "--all", "--no-trunc", "--format", "{{.ID}} {{.Image}} {{.Names}} {{.State}} {{.CreatedAt}}"},
		{"image", "ls", "--all", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"},
	} {
		out, err := h.Docker(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		// Docker lists images of the same age in any order.
		lines := strings.Split(strings.TrimSpace(out), "\n")
		slices.Sort(lines)
		b.WriteString(strings.Join(lines, "\n") + "\n")
	}
	for _, dir := range []string{".kamal", ".docker"} {
		root := filepath.Join(h.Home, dir)
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(h.Home, path)
			fmt.Fprintf(&b, "%s %s %s", rel, info.Mode(), info.ModTime().Format(time.RFC3339Nano))
			if d.Type().IsRegular() {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, " %q", data)
			}
			b.WriteString("\n")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestDeployPlanChangesNothing: `deploy --plan` names every host with the
// running and the new version, and leaves every host exactly as it was;
// a version the registry lacks is said per host.
func TestDeployPlanChangesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newRollbackScenario(t, ctx, "rbplan", "app", "")
	before := map[string]string{}
	for _, h := range s.all {
		before[h.Name] = hostSnapshot(t, ctx, h)
	}
	out := s.p.kamal(t, ctx, "deploy", "--plan", "-P", "--version", "v2")
	miss := s.p.kamal(t, ctx, "deploy", "--plan", "-P", "--version", "v3")
	t.Logf("plans:\n%s\n%s", out, miss)
	for _, h := range s.all {
		if after := hostSnapshot(t, ctx, h); after != before[h.Name] {
			t.Errorf("%s changed during the plan:\nbefore:\n%s\nafter:\n%s", h.Name, before[h.Name], after)
		}
	}
	for i, h := range s.all {
		role := scenarioRole(i)
		if want := h.IP + "\n"; !strings.Contains(out, want) {
			t.Errorf("the plan does not name %s:\n%s", h.IP, out)
		}
		if want := fmt.Sprintf("  %-9s running v1, would boot v2: start rbplan-%s-v2; stop rbplan-%s-v1", role, role, role); !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
		if !strings.Contains(miss, h.IP+"\n") || !strings.Contains(hostBlockPlan(miss, h.IP), "not in the registry") {
			t.Errorf("the plan of a missing version does not say so for %s:\n%s", h.IP, miss)
		}
	}
	for _, want := range []string{"with version v2", "/e2e/rbplan:v2 is in the registry", "Lock:    free"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(miss, "/e2e/rbplan:v3 is NOT in the registry") {
		t.Errorf("the plan of a missing version:\n%s", miss)
	}
	s.p.expectVersion(t, ctx, "v1", s.web...)
}

// hostBlockPlan is the part of a plan about host ip: the indented lines
// under its name.
func hostBlockPlan(out, ip string) string {
	var block []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == ip:
			in = true
		case in && strings.HasPrefix(line, "  "):
			block = append(block, line)
		case in:
			return strings.Join(block, "\n")
		}
	}
	return strings.Join(block, "\n")
}

// TestRollbackOnInterrupt: Ctrl-C while v2 boots rolls every host back;
// a second Ctrl-C during the rollback is refused with a message and the
// rollback finishes.
func TestRollbackOnInterrupt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// v2 takes 5 s to listen: the boot is in flight when Ctrl-C comes.
	s := newRollbackScenario(t, ctx, "rbint", "app-slow", "")
	s.startLoad(ctx)
	cmd := kamalCommand(t, ctx, s.p.dir, "deploy", "-P", "--version", "v2")
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	h := env.Hosts[0]
	for {
		if names, _ := h.Docker(ctx, "ps", "--all", "--quiet", "--filter", "name=^rbint-web-v2$"); strings.TrimSpace(names) != "" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("deploy ended before v2 started: %v\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// The second one lands during the rollback.
	for !strings.Contains(out.String(), "Interrupted: rolling back") {
		select {
		case err := <-done:
			t.Fatalf("deploy ended without a rollback: %v\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatalf("an interrupted deploy exited 0:\n%s", out.String())
	}
	for _, want := range []string{"Interrupted: rolling back", "Rollback in progress: it will finish first"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	s.expectRolledBack(t, ctx, out.String())
}
