package testhosts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/remote"
)

// Where PushProxyImage puts our kamal-proxy image, and so what the
// projects of the scenarios, the demo and the benchmarks select under
// proxy.run.
const (
	ProxyRepository = "kamal/kamal-proxy"
	ProxyVersion    = "v0.10.0"
)

// WriteKnownHosts makes home/.ssh/known_hosts trust every host, so that a
// kamal run with HOME=home verifies the hosts' keys like a user's would.
func (e *Env) WriteKnownHosts(home string) error {
	known, err := os.ReadFile(e.KnownHostsPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), known, 0o600)
}

// KamalCommand prepares the kamal binary bin to run in the project dir as
// on the deploying machine: HOME is home (see WriteKnownHosts), no ssh
// agent, and the deployer's Docker daemon.
func (e *Env) KamalCommand(ctx context.Context, bin, dir, home string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "SSH_AUTH_SOCK=")
	cmd.Env = append(cmd.Env, e.DeployerEnv()...)
	return cmd
}

// PushProxyImage builds our kamal-proxy image with script
// (build/kamal-proxy/build.sh) on the deployer's daemon and pushes it to
// the registry as ProxyRepository:ProxyVersion, logging the deployer in
// first. It returns the pushed reference.
func (e *Env) PushProxyImage(ctx context.Context, script string) (string, error) {
	e.buildMu.Lock()
	err := e.loginDeployer(ctx)
	e.buildMu.Unlock()
	if err != nil {
		return "", err
	}
	image := e.Registry + "/" + ProxyRepository
	ref := image + ":" + ProxyVersion
	deployer := append(os.Environ(), e.DeployerEnv()...)
	build := exec.CommandContext(ctx, "sh", script)
	// The classic builder needs no buildx plugin.
	build.Env = append(deployer, "IMAGE="+image, "TAGS="+ProxyVersion, "VERSION="+ProxyVersion, "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testhosts: building the proxy image: %w\n%s", err, out)
	}
	push := exec.CommandContext(ctx, "docker", "push", "-q", ref)
	push.Env = deployer
	if out, err := push.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testhosts: pushing the proxy image: %w\n%s", err, out)
	}
	return ref, nil
}

// RegistryYAML is the end of a config/deploy.yml deploying through this
// environment: the registry (its password from KAMAL_REGISTRY_PASSWORD,
// see SecretsFile), an amd64 builder, and ssh with the environment's key
// only, ignoring the user's ssh config.
func (e *Env) RegistryYAML() string {
	return fmt.Sprintf(`registry:
  server: %s
  username: %s
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
ssh:
  keys: [ %q ]
  keys_only: true
  config: false
`, e.Registry, e.RegistryUser, e.SSHKeyPath)
}

// SecretsFile is the .kamal/secrets line RegistryYAML reads the registry
// password from.
func (e *Env) SecretsFile() string {
	return "KAMAL_REGISTRY_PASSWORD=" + e.RegistryPassword + "\n"
}

// ProxyRunYAML are the lines of a config/deploy.yml proxy section that
// select the image PushProxyImage pushed.
func (e *Env) ProxyRunYAML() string {
	return fmt.Sprintf("  run:\n    registry: %s\n    repository: %s\n    version: %s\n", e.Registry, ProxyRepository, ProxyVersion)
}

// KeeperPIDs lists the kept-connection keepers (`kamal __ssh-keeper`)
// started by runs with XDG_RUNTIME_DIR=runtimeDir, so a test or benchmark
// that gives its runs a runtime directory of their own can find, count and
// stop exactly its keepers.
func KeeperPIDs(runtimeDir string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	mark := "\x00XDG_RUNTIME_DIR=" + runtimeDir + "\x00"
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		argv := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if len(argv) != 2 || argv[1] != remote.KeeperCommand {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && strings.Contains("\x00"+string(environ), mark) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
