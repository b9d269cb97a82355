package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/testhosts"
)

// keptRuns runs kamal with kept connections on (KAMAL_SSH_PERSIST), the
// keepers' sockets in a private runtime directory of the test, and one
// HOME for every run: the known_hosts files are part of a connection's
// settings, so runs with different homes would not share keepers.
type keptRuns struct {
	persist string // KAMAL_SSH_PERSIST
	runtime string // XDG_RUNTIME_DIR of the runs and their keepers
	home    string
}

// newKeptRuns prepares the runs; every keeper they leave is stopped when
// the test ends.
func newKeptRuns(t *testing.T, persist string) *keptRuns {
	t.Helper()
	// Short: a Unix socket path has room for about 100 bytes.
	dir, err := os.MkdirTemp("", "kx")
	if err != nil {
		t.Fatal(err)
	}
	k := &keptRuns{persist: persist, runtime: dir, home: t.TempDir()}
	t.Cleanup(func() {
		k.stopKeepers(t)
		os.RemoveAll(dir)
	})
	if err := env.WriteKnownHosts(k.home); err != nil {
		t.Fatal(err)
	}
	return k
}

// socketDir is where the keepers listen.
func (k *keptRuns) socketDir() string { return filepath.Join(k.runtime, "kamal-ssh") }

// run runs kamal in dir.
func (k *keptRuns) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := env.KamalCommand(ctx, kamalBin, dir, k.home, args...)
	cmd.Env = append(cmd.Env, remote.PersistEnv+"="+k.persist, "XDG_RUNTIME_DIR="+k.runtime)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// kamal runs kamal in dir and fails the test on an error.
func (k *keptRuns) kamal(t *testing.T, ctx context.Context, dir string, args ...string) string {
	t.Helper()
	out, err := k.run(ctx, dir, args...)
	if err != nil {
		t.Fatalf("kamal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// files lists the keepers' files in their directory that end in suffix
// (".sock", ".sock.id").
func (k *keptRuns) files(t *testing.T, suffix string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k.socketDir(), "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// waitKeepers waits until exactly hosts connections are kept, each with
// its socket and identity file, by procs keeper processes (a run leaves
// one for all the hosts it connected to directly).
func (k *keptRuns) waitKeepers(t *testing.T, ctx context.Context, hosts, procs int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		socks, ids, pids := k.files(t, ".sock"), k.files(t, ".sock.id"), k.keepers(t)
		if len(socks) == hosts && len(ids) == hosts && len(pids) == procs {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("want %d kept connections in %d processes; processes %v, sockets %v, identity files %v", hosts, procs, pids, socks, ids)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// keepers lists the pids of the keeper processes started by this test's
// runs: `kamal __ssh-keeper` with the test's runtime directory.
func (k *keptRuns) keepers(t *testing.T) []int {
	t.Helper()
	pids, err := testhosts.KeeperPIDs(k.runtime)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// stopKeepers ends the test's keepers with SIGTERM and waits until they
// are gone with their sockets, so that nothing outlives the test.
func (k *keptRuns) stopKeepers(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		pids := k.keepers(t)
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && err != syscall.ESRCH {
				t.Errorf("stopping keeper %d: %v", pid, err)
			}
		}
		socks, ids := k.files(t, ".sock"), k.files(t, ".sock.id")
		if len(pids) == 0 && len(socks) == 0 && len(ids) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("left after SIGTERM: keepers %v, sockets %v, identity files %v", pids, socks, ids)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// connections counts the SSH logins each host has accepted so far.
func connections(hosts []*testhosts.Host) []int {
	n := make([]int, len(hosts))
	for i, h := range hosts {
		n[i] = h.SSHConnections()
	}
	return n
}

// TestKeptConnections deploys with KAMAL_SSH_PERSIST: the run leaves a
// keeper per host, and later runs (queries, exec, a deploy) go through
// them without a new SSH connection. When a host's connection drops, its
// socket goes away, the next run connects directly and leaves a new
// keeper.
func TestKeptConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pushProxyImage(t, ctx)
	removeProxies(t)
	hosts := env.Hosts[:2]
	p := newAppProject(t, appSpec{Service: "kept", Web: hostIPs(0, 1)})
	cleanupApp(t, p)
	// ssh log_level info says how each host was reached.
	p.editConfig(t, func(yml string) string {
		return strings.Replace(yml, "\nssh:\n", "\nssh:\n  log_level: info\n", 1)
	})
	for _, v := range []string{"v1", "v2"} {
		p.image(t, ctx, "app", v)
	}
	p.image(t, ctx, "app-slow", "v3") // 5 s to listen
	k := newKeptRuns(t, "60s")

	out := k.kamal(t, ctx, p.dir, "setup", "-P", "--version", "v1")
	p.expectVersion(t, ctx, "v1", hosts...)
	for _, h := range hosts {
		if !strings.Contains(out, "ssh: connecting to root@"+h.IP+":22") {
			t.Errorf("setup did not connect to %s directly:\n%s", h.Name, out)
		}
	}
	k.waitKeepers(t, ctx, len(hosts), 1) // one keeper for the run's hosts

	// Every later run reaches both hosts through their keepers.
	kept := func(t *testing.T, out string, hosts ...*testhosts.Host) {
		t.Helper()
		for _, h := range hosts {
			if !strings.Contains(out, "ssh: connected to "+h.IP+" through its kept connection") {
				t.Errorf("%s not reached through its keeper:\n%s", h.Name, out)
			}
			if strings.Contains(out, "ssh: connecting to root@"+h.IP+":") {
				t.Errorf("connected to %s directly:\n%s", h.Name, out)
			}
		}
	}
	before := connections(hosts)
	out = k.kamal(t, ctx, p.dir, "lock", "status")
	if !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("lock status:\n%s", out)
	}
	kept(t, out, hosts[0]) // the lock lives on the primary host only
	out = k.kamal(t, ctx, p.dir, "app", "version")
	for _, h := range hosts {
		if !strings.Contains(out, "App Host: "+h.IP+"\nv1\n") {
			t.Errorf("app version: no v1 block for %s:\n%s", h.Name, out)
		}
	}
	kept(t, out, hosts...)
	out = k.kamal(t, ctx, p.dir, "details")
	for _, h := range hosts {
		for _, want := range []string{"Proxy Host: " + h.IP, "App Host: " + h.IP, "kamal-proxy", "kept-web-v1"} {
			if !strings.Contains(out, want) {
				t.Errorf("details lack %q:\n%s", want, out)
			}
		}
	}
	kept(t, out, hosts...)
	out = k.kamal(t, ctx, p.dir, "app", "containers")
	for _, h := range hosts {
		if block := hostBlock(out, h.IP); !strings.Contains(block, "kept-web-v1") {
			t.Errorf("app containers: no kept-web-v1 on %s:\n%s", h.Name, out)
		}
	}
	kept(t, out, hosts...)
	out = k.kamal(t, ctx, p.dir, "app", "exec", "--reuse", "/app", "echo", "hi")
	for _, h := range hosts {
		if !strings.Contains(out, "App Host: "+h.IP+"\nhi\n") {
			t.Errorf("app exec: no output from %s:\n%s", h.Name, out)
		}
	}
	kept(t, out, hosts...)
	// Two runs at once share each keeper.
	outs, errs := make([]string, 2), make([]error, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() { outs[i], errs[i] = k.run(ctx, p.dir, "app", "version") })
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || strings.Count(outs[i], "\nv1\n") != len(hosts) {
			t.Errorf("app version, run %d of 2 at once: %v\n%s", i+1, errs[i], outs[i])
		}
		kept(t, outs[i], hosts...)
	}
	out = k.kamal(t, ctx, p.dir, "deploy", "-P", "--version", "v2")
	p.expectVersion(t, ctx, "v2", hosts...)
	kept(t, out, hosts...)
	for i, h := range hosts {
		if n := h.SSHConnections() - before[i]; n != 0 {
			t.Errorf("%d new SSH connections to %s with its keeper up, want 0", n, h.Name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The first host's connections drop: the keeper gives that host up and
	// removes its socket, and keeps the other.
	dropped, err := hosts[0].DropSSHConnections()
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Fatalf("no SSH connection to %s to drop: where is its keeper?", hosts[0].Name)
	}
	k.waitKeepers(t, ctx, len(hosts)-1, 1) // it still keeps the other host's
	before = connections(hosts)
	out = k.kamal(t, ctx, p.dir, "app", "version")
	for _, h := range hosts {
		if !strings.Contains(out, "App Host: "+h.IP+"\nv2\n") {
			t.Errorf("app version after the drop: no v2 block for %s:\n%s", h.Name, out)
		}
	}
	if !strings.Contains(out, "ssh: connecting to root@"+hosts[0].IP+":22") {
		t.Errorf("%s not reached directly after its keeper went:\n%s", hosts[0].Name, out)
	}
	kept(t, out, hosts[1])
	// That run left a new keeper for the first host. Counted once it is
	// up: the run's connection and the new keeper's, none to the other.
	k.waitKeepers(t, ctx, len(hosts), 2)
	after := connections(hosts)
	if after[0] != before[0]+2 || after[1] != before[1] {
		t.Errorf("new SSH connections after the drop: %d to %s (want 2: the run's, the new keeper's), %d to %s (want 0)",
			after[0]-before[0], hosts[0].Name, after[1]-before[1], hosts[1].Name)
	}
	before = connections(hosts)
	out = k.kamal(t, ctx, p.dir, "app", "version")
	kept(t, out, hosts...)
	for i, h := range hosts {
		if n := h.SSHConnections() - before[i]; n != 0 {
			t.Errorf("%d new SSH connections to %s with its new keeper up, want 0", n, h.Name)
		}
	}

	// The connection drops while a deploy runs through the keeper (v3
	// boots for 5 s on the first host): the keeper ends the run's
	// connection too, the run fails over to a direct connection and rolls
	// back, and leaves a new keeper.
	drop := dropSSHWhenCreated(ctx, hosts[0], "kept-web-v3")
	out, err = k.run(ctx, p.dir, "deploy", "-P", "--version", "v3")
	if err := <-drop; err != nil {
		t.Fatal(err)
	}
	if err == nil || !strings.Contains(out, "ssh: connecting to root@"+hosts[0].IP+":22") {
		t.Errorf("deploy with a dropped kept connection: %v, want a failure and a direct connection to %s:\n%s", err, hosts[0].Name, out)
	}
	for _, h := range hosts {
		if got := runningNames(t, ctx, h, p.service); got != "kept-web-v2" {
			t.Errorf("%s runs %q after the rollback, want kept-web-v2", h.Name, got)
		}
	}
	p.expectVersion(t, ctx, "v2", hosts...)
	k.waitKeepers(t, ctx, len(hosts), 2) // the dropped one went, the run left one
	out = k.kamal(t, ctx, p.dir, "lock", "status")
	if !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("lock status after the rollback:\n%s", out)
	}
	kept(t, out, hosts[0])

	// Another user is another connection: not the keepers of root's.
	p.asUser(t, deployUser)
	before = connections(hosts)
	out = k.kamal(t, ctx, p.dir, "app", "version")
	for _, h := range hosts {
		if !strings.Contains(out, "ssh: connecting to "+deployUser+"@"+h.IP+":22") || strings.Contains(out, "through its kept connection") {
			t.Errorf("%s not reached directly as %s:\n%s", h.Name, deployUser, out)
		}
	}
	// Counted once the new keepers are up: the run's and its keeper's.
	k.waitKeepers(t, ctx, 2*len(hosts), 3)
	after = connections(hosts)
	for i, h := range hosts {
		if n := after[i] - before[i]; n != 2 {
			t.Errorf("%d new SSH connections to %s as %s, want 2 (the run's, its keeper's)", n, h.Name, deployUser)
		}
	}
}

// TestKeptConnectionIdle: a keeper left idle for the persist duration
// exits and removes its socket.
func TestKeptConnectionIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := opsProject(t, "keptidle")
	k := newKeptRuns(t, "5s")
	out := k.kamal(t, ctx, dir, "lock", "status")
	if !strings.Contains(out, "There is no deploy lock") {
		t.Errorf("lock status:\n%s", out)
	}
	k.waitKeepers(t, ctx, 1, 1) // the primary host's: the lock lives there
	k.waitKeepers(t, ctx, 0, 0)
}
