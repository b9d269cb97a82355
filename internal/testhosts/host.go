package testhosts

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// prepare writes the host's directories, sshd configuration, host key and
// boot script. It returns the host's known_hosts line ("" without sshd).
func (h *Host) prepare(e *Env, clientPub []byte) (string, error) {
	for _, d := range []string{h.Home, filepath.Join(h.Home, ".ssh"), filepath.Join(h.Dir, "run"), filepath.Join(h.Dir, "tmp"), filepath.Join(h.Dir, "docker")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", err
		}
	}
	// /tmp must be world-writable and sticky, and /run readable by all
	// (non-root users reach the Docker socket in it), as on a real server.
	if err := os.Chmod(filepath.Join(h.Dir, "tmp"), 0o777|os.ModeSticky); err != nil {
		return "", err
	}
	if err := os.Chmod(filepath.Join(h.Dir, "run"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		return "", err
	}
	if h == e.deployer {
		if err := os.MkdirAll(e.DeployerDockerConfig, 0o700); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "boot.sh"), []byte(h.bootScript(e)), 0o700); err != nil {
		return "", err
	}
	if !h.sshd {
		return "", nil
	}
	if err := os.WriteFile(filepath.Join(h.Home, ".ssh", "authorized_keys"), clientPub, 0o600); err != nil {
		return "", err
	}
	if e.accounts != nil {
		if err := h.prepareAccounts(e.accounts, clientPub); err != nil {
			return "", err
		}
	}
	hostPub, err := writeHostKey(filepath.Join(h.Dir, "ssh_host_ed25519_key"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "sshd_config"), []byte(h.sshdConfig(h.sshdLogLevel)), 0o600); err != nil {
		return "", err
	}
	return knownHostsLine(h.IP, hostPub), nil
}

// sshdConfig is a self-contained sshd configuration, so the machine's own
// /etc/ssh/sshd_config (and its PAM setup) plays no part.
func (h *Host) sshdConfig(logLevel string, extra ...string) string {
	conf := fmt.Sprintf(`# kamal-testhosts sshd for %[1]s
Port 22
ListenAddress %[2]s
HostKey %[3]s/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
MaxSessions 100
MaxStartups 100:30:200
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel %[4]s
`, h.Name, h.IP, h.Dir, logLevel)
	for _, line := range extra {
		conf += line + "\n"
	}
	return conf
}

// bootScript runs inside the host's network namespace and a fresh private
// mount and UTS namespace. Bind mounts give the host its own /root, /tmp
// and /run (so /var/run/docker.sock and pid files are per host); dockerd
// runs in the same mount namespace as sshd because bind-mount sources in
// `docker run -v` are resolved by the daemon.
func (h *Host) bootScript(e *Env) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\nset -eu\nD=%s\n", shQuote(h.Dir))
	b.WriteString(`mount --bind "$D/root" /root
mount --bind "$D/tmp" /tmp
mount --bind "$D/run" /run
mkdir -p /run/sshd
chmod 0755 /run/sshd
`)
	fmt.Fprintf(&b, "hostname %s\n", shQuote(h.Name))
	if h.sshd && e.accounts != nil {
		b.WriteString(accountMounts)
	}
	if h.sshd {
		b.WriteString(`/usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log"` + "\n")
	}
	fmt.Fprintf(&b, `exec dockerd --config-file "$D/daemon.json" --data-root "$D/docker" --insecure-registry %s --cgroup-parent %s%s >>"$D/dockerd.log" 2>&1`+"\n",
		shQuote(e.Registry), shQuote(cgroupParent(e.prefix, h.Name)), extraDockerdFlags)
	return b.String()
}

// extraDockerdFlags lets the package's tests make dockerd fail to start.
var extraDockerdFlags string

func cgroupParent(prefix, host string) string { return "/kamal-testhosts-" + prefix + "-" + host }

// boot starts the host's daemons and waits until sshd and dockerd answer.
// When dockerd exits before answering, the error carries its log tail.
func (h *Host) boot(ctx context.Context, e *Env) error {
	logf, err := os.OpenFile(filepath.Join(h.Dir, "boot.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "--net=/var/run/netns/"+h.netns, "--",
		"unshare", "--mount", "--uts", "--propagation", "private", "--",
		"/bin/sh", filepath.Join(h.Dir, "boot.sh"))
	cmd.Env = daemonEnv(e.prefix)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A session of its own: the daemons outlive the process that started
	// them (the command-line `up`), and the next Start or `down` stops them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testhosts: starting %s: %w", h.Name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	sock := strings.TrimPrefix(h.DockerHost, "unix://")
	if err := waitUntil(ctx, exited, func() bool { return dockerPing(sock) }); err != nil {
		return fmt.Errorf("testhosts: dockerd on %s did not answer on %s: %w\n--- boot.log\n%s\n--- dockerd.log\n%s",
			h.Name, sock, err, tailFile(filepath.Join(h.Dir, "boot.log"), 10), tailFile(filepath.Join(h.Dir, "dockerd.log"), 30))
	}
	if h.sshd {
		if err := waitUntil(ctx, exited, func() bool { return sshBanner(h.IP) }); err != nil {
			return fmt.Errorf("testhosts: sshd on %s did not answer on %s:22: %w\n--- sshd.log\n%s",
				h.Name, h.IP, err, tailFile(filepath.Join(h.Dir, "sshd.log"), 20))
		}
	}
	return nil
}

// daemonEnv is a minimal environment carrying the marker by which teardown
// finds every process of this environment (children inherit it).
func daemonEnv(prefix string) []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LANG=C.UTF-8",
		markerEnv + "=" + prefix,
	}
}

// waitUntil polls ready until it holds, the process behind it exits, or ctx
// ends. Polling a socket is how we learn that a daemon is ready.
func waitUntil(ctx context.Context, exited <-chan error, ready func() bool) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			if ready() {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("exited")
			}
			return fmt.Errorf("process exited: %w", err)
		case <-tick.C:
		}
	}
}

// dockerPing asks the daemon's API for /_ping over its unix socket.
func dockerPing(sock string) bool {
	c := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// sshBanner reports whether an SSH server greets on ip:22.
func sshBanner(ip string) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "22"), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	n, _ := conn.Read(buf)
	return n == 4 && string(buf) == "SSH-"
}

// shQuote quotes s for /bin/sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
