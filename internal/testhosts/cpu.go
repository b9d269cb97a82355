package testhosts

import (
	"context"
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
	var ticks int64
	err := h.eachProcess(func(pid, stat string) error {
		t, err := cpuTicks(stat)
		if err != nil {
			return fmt.Errorf("testhosts: /proc/%s/stat: %w", pid, err)
		}
		ticks += t
		return nil
	})
	return time.Duration(ticks) * time.Second / userHZ, err
}

// WaitSSHIdle waits until h's sshd serves no connection any more (only the
// listening process is left), so that a finished client's sessions are in
// ServerCPU's reading.
func (h *Host) WaitSSHIdle(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := h.SSHDProcesses()
		if err != nil {
			return err
		}
		if n <= 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testhosts: %d sshd processes still running on %s: %w", n, h.Name, ctx.Err())
		case <-tick.C:
		}
	}
}

// SSHDProcesses counts h's sshd processes: the listener and two or so per
// open connection.
func (h *Host) SSHDProcesses() (int, error) {
	n := 0
	err := h.eachProcess(func(_, stat string) error {
		if strings.HasPrefix(stat[strings.IndexByte(stat, ' ')+1:], "(sshd)") {
			n++
		}
		return nil
	})
	return n, err
}

// eachProcess calls fn with the pid and /proc/<pid>/stat line of every
// process in h's network namespace.
func (h *Host) eachProcess(fn func(pid, stat string) error) error {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/var/run/netns", h.netns), &st); err != nil {
		return fmt.Errorf("testhosts: network namespace of %s: %w", h.Name, err)
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
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
		if err := fn(e.Name(), string(stat)); err != nil {
			return err
		}
	}
	return nil
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
