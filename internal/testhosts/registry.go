package testhosts

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// registryConfig is the distribution registry's configuration: plain HTTP
// on the bridge address, filesystem storage in the state directory, and
// htpasswd auth when a user is given.
func registryConfig(addr, dataDir, htpasswdPath string) string {
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, dataDir, addr)
	if htpasswdPath != "" {
		cfg += fmt.Sprintf(`auth:
  htpasswd:
    realm: kamal-testhosts
    path: %s
`, htpasswdPath)
	}
	return cfg
}

// htpasswdLine hashes password with bcrypt, the only scheme the registry
// accepts.
func htpasswdLine(user, password string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", err
	}
	return user + ":" + string(hash) + "\n", nil
}

func (e *Env) startRegistry(ctx context.Context) error {
	dir := filepath.Join(e.Dir, "registry")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return err
	}
	htpasswd := ""
	if e.RegistryUser != "" {
		htpasswd = filepath.Join(dir, "htpasswd")
		line, err := htpasswdLine(e.RegistryUser, e.RegistryPassword)
		if err != nil {
			return err
		}
		if err := os.WriteFile(htpasswd, []byte(line), 0o600); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(registryConfig(e.Registry, filepath.Join(dir, "data"), htpasswd)), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "registry.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("docker-registry", "serve", cfgPath)
	cmd.Env = daemonEnv(e.prefix)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testhosts: starting registry: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	url := "http://" + e.Registry + "/v2/"
	ready := func() bool {
		// No proxy from the environment: the registry is on our bridge.
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}}
		defer c.CloseIdleConnections()
		resp, err := c.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
	}
	if err := waitUntil(ctx, exited, ready); err != nil {
		return fmt.Errorf("testhosts: registry did not answer at %s: %w\n--- registry.log\n%s", url, err, tailFile(logPath, 20))
	}
	return nil
}
