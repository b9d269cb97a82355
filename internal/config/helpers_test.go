package config

import (
	"os"
	"path/filepath"
	"testing"
)

// writeFiles creates files (relative path -> content) under a temp dir and
// returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// noEnv is an empty environment, so tests do not depend on the caller's.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// loadYAML loads deploy.yml content (and an optional destination file) from
// a temp dir, with version "999" and an empty environment.
func loadYAML(t *testing.T, yml string, dest string, destYML string) (*Config, error) {
	t.Helper()
	files := map[string]string{"config/deploy.yml": yml}
	if dest != "" && destYML != "" {
		files["config/deploy."+dest+".yml"] = destYML
	}
	dir := writeFiles(t, files)
	return Load(LoadOptions{
		ConfigFile:  filepath.Join(dir, "config/deploy.yml"),
		Destination: dest,
		Version:     "999",
		LookupEnv:   envOf(nil),
	})
}

const baseYAML = `service: app
image: dhh/app
servers:
  web: [1.1.1.1, 1.1.1.2]
  workers:
    hosts: [1.1.1.3]
    cmd: bin/jobs
registry:
  username: dhh
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
`
