package testhosts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ConfigureSSHD rewrites h's sshd configuration with extra lines (for
// example "AllowStreamLocalForwarding no") and restarts sshd in place
// (SIGHUP), waiting until it listens again. Open connections keep the
// settings they started with. No extra lines restores the default.
func (h *Host) ConfigureSSHD(ctx context.Context, extra ...string) error {
	if !h.sshd {
		return fmt.Errorf("testhosts: %s runs no sshd", h.Name)
	}
	conf := filepath.Join(h.Dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(h.sshdConfig(h.sshdLogLevel, extra...)), 0o600); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "/usr/sbin/sshd", "-t", "-f", conf).CombinedOutput(); err != nil {
		return fmt.Errorf("testhosts: sshd rejects the configuration of %s: %v: %s", h.Name, err, out)
	}
	pidText, err := os.ReadFile(filepath.Join(h.Dir, "run", "sshd.pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		return fmt.Errorf("testhosts: sshd pid of %s: %w", h.Name, err)
	}
	log := filepath.Join(h.Dir, "sshd.log")
	listening := func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "Server listening on ")
	}
	before := listening()
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("testhosts: restarting sshd on %s: %w", h.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := waitUntil(ctx, nil, func() bool { return listening() > before && sshBanner(h.IP) }); err != nil {
		return fmt.Errorf("testhosts: sshd on %s did not come back: %w\n--- sshd.log\n%s", h.Name, err, tailFile(log, 20))
	}
	return nil
}

// SSHSessions counts the sessions (commands, shells, uploads) sshd on h
// has started so far. It needs Options.SSHDLogLevel VERBOSE or more.
func (h *Host) SSHSessions() int {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "sshd.log"))
	return strings.Count(string(b), "Starting session: ")
}

// SSHConnections counts the logins sshd on h has accepted so far.
func (h *Host) SSHConnections() int {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "sshd.log"))
	return strings.Count(string(b), "Accepted publickey")
}

// DropSSHConnections kills the sshd processes serving h's open connections
// (not the listener), as a network fault or a crashed server would: the
// clients see their connections and sessions end at once. New connections
// are accepted as before.
func (h *Host) DropSSHConnections() (int, error) {
	if !h.sshd {
		return 0, fmt.Errorf("testhosts: %s runs no sshd", h.Name)
	}
	pidText, err := os.ReadFile(filepath.Join(h.Dir, "run", "sshd.pid"))
	if err != nil {
		return 0, err
	}
	listener := strings.TrimSpace(string(pidText))
	var pids []int
	err = h.eachProcess(func(pid, stat string) error {
		if pid != listener && strings.HasPrefix(stat[strings.IndexByte(stat, ' ')+1:], "(sshd)") {
			n, err := strconv.Atoi(pid)
			if err != nil {
				return err
			}
			pids = append(pids, n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			return 0, fmt.Errorf("testhosts: killing sshd %d on %s: %w", pid, h.Name, err)
		}
	}
	return len(pids), nil
}
