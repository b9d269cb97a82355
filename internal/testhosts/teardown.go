package testhosts

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CleanupAll tears down every environment recorded under root (each state
// directory holds a state.json) and anything named after prefix, so a
// killed run never breaks the next one. The caller holds the lock.
func CleanupAll(ctx context.Context, root, prefix string) error {
	states := map[string]state{}
	if prefix != "" {
		e := newEnv(Options{Hosts: maxHosts, Prefix: prefix, Root: root})
		states[e.Dir] = e.state()
	}
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, de := range entries {
		b, err := os.ReadFile(filepath.Join(root, de.Name(), "state.json"))
		if err != nil {
			continue
		}
		var s state
		if json.Unmarshal(b, &s) != nil || s.Prefix == "" || filepath.Clean(s.Dir) != filepath.Join(root, de.Name()) {
			continue
		}
		states[s.Dir] = s
	}
	var errs []error
	for _, s := range states {
		if err := teardown(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Down tears down the environment named prefix under root (defaults when
// empty), waiting for the lock like Start. It is what `testhosts down` runs.
func Down(ctx context.Context, root, prefix string) error {
	if root == "" {
		root = DefaultRoot
	}
	lock, err := acquireLock(ctx, lockPath)
	if err != nil {
		return err
	}
	defer lock.Close()
	return CleanupAll(ctx, root, prefix)
}

// teardown removes containers, processes, namespaces, links, mounts and
// the state directory of one environment. Every step tolerates pieces that
// are already gone.
func teardown(ctx context.Context, s state) error {
	var errs []error
	removeContainers(ctx, s)
	if err := killProcesses(ctx, s); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, teardownNetwork(ctx, s)...)
	if err := unmountUnder(s.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, err)
	}
	removeCgroups(s.Prefix)
	if len(errs) > 0 {
		return fmt.Errorf("testhosts: teardown of %s: %w", s.Dir, errors.Join(errs...))
	}
	return nil
}

// removeContainers asks every daemon that still answers to remove its
// containers, so that they stop cleanly before their daemon goes.
func removeContainers(ctx context.Context, s state) {
	hostDirs, _ := filepath.Glob(filepath.Join(s.Dir, "*", "run", "docker.sock"))
	var wg sync.WaitGroup
	for _, sock := range hostDirs {
		if !dockerPing(sock) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := []string{"DOCKER_HOST=unix://" + sock}
			ids, err := run(ctx, env, "docker", "ps", "-aq")
			if err != nil || strings.TrimSpace(ids) == "" {
				return
			}
			_, _ = run(ctx, env, "docker", append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
		}()
	}
	wg.Wait()
}

// proc is what teardown needs to know about one process.
type proc struct {
	pid, ppid int
	zombie    bool
}

// ours lists the processes of the environment: those carrying the marker
// variable, those in its network namespaces or cgroups, and all their
// descendants (containers do not inherit the marker).
func ours(s state) (map[int]bool, error) {
	procs, err := listProcs()
	if err != nil {
		return nil, err
	}
	nsInodes := map[string]bool{}
	for _, ns := range s.Namespaces {
		var st syscall.Stat_t
		if syscall.Stat("/var/run/netns/"+ns, &st) == nil {
			nsInodes[fmt.Sprintf("net:[%d]", st.Ino)] = true
		}
	}
	marker := []byte(markerEnv + "=" + s.Prefix + "\x00")
	cgroup := "/kamal-testhosts-" + s.Prefix + "-"
	exclude := ancestors(procs, os.Getpid())

	found := map[int]bool{}
	for pid, p := range procs {
		if exclude[pid] || p.zombie {
			continue
		}
		dir := "/proc/" + strconv.Itoa(pid)
		if env, err := os.ReadFile(dir + "/environ"); err == nil && bytes.Contains(append(env, 0), marker) {
			found[pid] = true
			continue
		}
		if cg, err := os.ReadFile(dir + "/cgroup"); err == nil && strings.Contains(string(cg), cgroup) {
			found[pid] = true
			continue
		}
		if link, err := os.Readlink(dir + "/ns/net"); err == nil && nsInodes[link] {
			found[pid] = true
		}
	}
	// Add descendants until nothing changes.
	for changed := true; changed; {
		changed = false
		for pid, p := range procs {
			if !found[pid] && found[p.ppid] && !exclude[pid] && !p.zombie {
				found[pid] = true
				changed = true
			}
		}
	}
	return found, nil
}

func ancestors(procs map[int]proc, pid int) map[int]bool {
	out := map[int]bool{}
	for pid > 1 && !out[pid] {
		out[pid] = true
		pid = procs[pid].ppid
	}
	out[1] = true
	return out
}

func listProcs() (map[int]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := map[int]proc{}
	for _, de := range entries {
		pid, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			procs[pid] = p
		}
	}
	return procs, nil
}

// readProc parses /proc/PID/stat; the command name may contain spaces and
// parentheses, so fields are taken after the last ')'.
func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return proc{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return proc{pid: pid, ppid: ppid, zombie: f[0] == "Z" || f[0] == "X"}, true
}

// killProcesses sends SIGTERM to every process of the environment, waits
// for them to go, and SIGKILLs what is left.
func killProcesses(ctx context.Context, s state) error {
	pids, err := ours(s)
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		return nil
	}
	signalAll(pids, syscall.SIGTERM)
	if waitGone(ctx, pids, 15*time.Second) {
		return nil
	}
	// Include anything forked meanwhile.
	if more, err := ours(s); err == nil {
		for pid := range more {
			pids[pid] = true
		}
	}
	signalAll(pids, syscall.SIGKILL)
	if waitGone(ctx, pids, 15*time.Second) {
		return nil
	}
	var left []string
	for pid := range pids {
		if alive(pid) {
			left = append(left, strconv.Itoa(pid))
		}
	}
	sort.Strings(left)
	return fmt.Errorf("processes still running after SIGKILL: %s", strings.Join(left, " "))
}

func signalAll(pids map[int]bool, sig syscall.Signal) {
	for pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// waitGone polls until every pid has exited (zombies count as exited: they
// are reaped by whoever adopted them).
func waitGone(ctx context.Context, pids map[int]bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		all := true
		for pid := range pids {
			if alive(pid) {
				all = false
				break
			}
		}
		if all {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	p, ok := readProc(pid)
	return ok && !p.zombie
}

// unmountUnder lazily unmounts anything still mounted below dir on the
// machine (nothing should be: the hosts' mounts are private to their
// namespaces), deepest first, so RemoveAll never descends into a mount.
func unmountUnder(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroups deletes the (empty) cgroups dockerd made for containers.
func removeCgroups(prefix string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kamal-testhosts-" + prefix + "-*")
	more, _ := filepath.Glob("/sys/fs/cgroup/kamal-testhosts-" + prefix + "-*")
	for _, d := range append(dirs, more...) {
		// Children first; rmdir fails harmlessly on cgroups still in use.
		subs, _ := filepath.Glob(d + "/*/")
		for _, s := range subs {
			_ = syscall.Rmdir(s)
		}
		_ = syscall.Rmdir(d)
	}
}

// Leftovers lists what remains of the environment named prefix under root:
// namespaces, links, processes, mounts and the state directory. An empty
// list means teardown was complete.
func Leftovers(root, prefix string) ([]string, error) {
	if root == "" {
		root = DefaultRoot
	}
	e := newEnv(Options{Hosts: maxHosts, Prefix: prefix, Root: root})
	s := e.state()
	var left []string
	for _, ns := range s.Namespaces {
		if namespaceExists(ns) {
			left = append(left, "network namespace "+ns)
		}
	}
	for _, l := range append(append([]string{}, s.Veths...), s.Bridge) {
		if linkExists(l) {
			left = append(left, "link "+l)
		}
	}
	pids, err := ours(s)
	if err != nil {
		return nil, err
	}
	for pid := range pids {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		left = append(left, fmt.Sprintf("process %d %s", pid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")))
	}
	mounts, err := mountsUnder(s.Dir)
	if err != nil {
		return nil, err
	}
	for _, m := range mounts {
		left = append(left, "mount "+m)
	}
	if _, err := os.Stat(s.Dir); err == nil {
		left = append(left, "directory "+s.Dir)
	}
	if _, err := run(context.Background(), nil, "iptables", forwardRule("-C", s.Bridge)...); err == nil {
		left = append(left, "iptables FORWARD rule for "+s.Bridge)
	}
	sort.Strings(left)
	return left, nil
}
