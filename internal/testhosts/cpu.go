package testhosts

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// ServerCPU is the CPU time (user + system) used so far by the processes of
// h's network namespace: sshd and every session child (shells, docker CLI
// processes), dockerd, containerd and the container shims. Children that
// exited are counted through their parents' cumulative times, so the
// difference of two readings is what the host spent in between, as long as
// the daemons kept running. Processes inside containers have namespaces of
// their own and are not counted (except with --network host).
func (h *Host) ServerCPU() (time.Duration, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/var/run/netns", h.netns), &st); err != nil {
		return 0, fmt.Errorf("testhosts: network namespace of %s: %w", h.Name, err)
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if ns, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net")); err != nil || ns != want {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		t, err := cpuTicks(string(stat))
		if err != nil {
			return 0, fmt.Errorf("testhosts: /proc/%s/stat: %w", e.Name(), err)
		}
		ticks += t
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuTicks adds utime, stime, cutime and cstime (fields 14-17) of a
// /proc/<pid>/stat line. The command name (field 2) may contain spaces and
// parentheses, so fields are counted after its closing parenthesis.
func cpuTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, fmt.Errorf("too few fields in %q", stat)
	}
	var sum int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}
