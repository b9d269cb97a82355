package commands

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kamalgo/kamal/internal/config"
)

// load reads testdata/<file> through the real loader with version 999 and
// no process environment.
func load(t *testing.T, file, dest string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{
		ConfigFile:  "testdata/" + file,
		Destination: dest,
		Version:     "999",
		LookupEnv:   func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	return cfg
}

func TestLoadExample(t *testing.T) {
	cfg := load(t, "example/deploy.yml", "")
	if cfg.Service != "app" || len(cfg.Servers) != 2 {
		t.Fatalf("unexpected config: %+v", cfg)
	}
}

func TestLoadAll(t *testing.T) {
	load(t, "dest/deploy.yml", "staging")
	load(t, "proxyrun/deploy.yml", "")
	load(t, "proxyregistry/deploy.yml", "")
	load(t, "full/deploy.yml", "")
}

// loadYAML loads a deploy.yml given inline (version 999).
func loadYAML(t *testing.T, yaml string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "deploy.yml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{
		ConfigFile: file,
		Version:    "999",
		LookupEnv:  func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return cfg
}
