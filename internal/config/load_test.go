package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDestinationNames(t *testing.T) {
	tests := []struct {
		dest string
		ok   bool
	}{
		{"staging", true},
		{"eu-west_1", true},
		{"v1.2", true},
		{"Prod2", true},
		{"x/../../../victim", false},
		{"..", false},
		{"a..b", false},
		{"a/b", false},
		{"a b", false},
		{"$(id)", false},
		{"a\nb", false},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			// A destination file is there for every name, even the
			// traversing ones, so only the name check can stop the load.
			dir := writeFiles(t, map[string]string{"config/deploy.yml": baseYAML})
			if tt.ok {
				if err := os.WriteFile(filepath.Join(dir, "config", "deploy."+tt.dest+".yml"), []byte("service: app\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			opts := LoadOptions{ConfigFile: filepath.Join(dir, "config/deploy.yml"), Destination: tt.dest, Version: "1", LookupEnv: envOf(nil)}
			_, err := Load(opts)
			_, rawErr := LoadRaw(opts)
			_, parseErr := Parse([]byte(baseYAML), opts)
			if tt.ok {
				if err != nil || rawErr != nil || parseErr != nil {
					t.Fatalf("got %v / %v / %v", err, rawErr, parseErr)
				}
				return
			}
			want := `Destination name can only include alphanumeric characters, hyphens, underscores, and periods (not ".."), got "` + strings.ReplaceAll(tt.dest, "\n", `\n`) + `"`
			for _, e := range []error{err, rawErr, parseErr, ValidateDestination(tt.dest)} {
				var ce *Error
				if !errors.As(e, &ce) || e.Error() != want || ce.Kind() != KindArgument {
					t.Errorf("got %v, want %s", e, want)
				}
			}
		})
	}
}

// loadWithin loads file, failing the test if loading does not return (a
// FIFO would block an open or read for ever).
func loadWithin(t *testing.T, file string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Load(LoadOptions{ConfigFile: file, Version: "1", LookupEnv: envOf(nil)})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("loading %s does not return", file)
		return nil
	}
}

func TestConfigFileMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.yml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir.yml")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, kind := range map[string]string{zero: "character device", fifo: "named pipe", sub: "directory"} {
		err := loadWithin(t, file)
		want := "Configuration file " + file + " is not a regular file (it is a " + kind + ")"
		var ce *Error
		if !errors.As(err, &ce) || err.Error() != want || ce.Kind() != KindRuntime {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}

func TestConfigFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yml")
	// a valid config padded with comments to just over 4 MiB
	pad := strings.Repeat("#"+strings.Repeat("x", 1022)+"\n", 4<<10)
	if err := os.WriteFile(big, []byte(baseYAML+pad), 0o644); err != nil {
		t.Fatal(err)
	}
	err := loadWithin(t, big)
	if want := "Configuration file " + big + " is larger than 4 MiB"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// at the limit it still loads
	if err := os.WriteFile(big, []byte(baseYAML+pad[:len(pad)-len(baseYAML)]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := loadWithin(t, big); err != nil {
		t.Errorf("a 4 MiB config: %v", err)
	}
}

func TestConfigNotFoundNamesAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, err := Load(LoadOptions{ConfigFile: "config/deploy.yml", LookupEnv: envOf(nil)})
	if want := "Configuration file not found in " + filepath.Join(dir, "config/deploy.yml"); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if err := os.MkdirAll("config", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("config/deploy.yml", []byte(baseYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(LoadOptions{ConfigFile: "config/deploy.yml", Destination: "staging", LookupEnv: envOf(nil)})
	if want := "Configuration file not found in " + filepath.Join(dir, "config/deploy.staging.yml"); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestKamalYAMLAccessoryRegistry: `kamal config` shows an accessory's
// registry username as written (as Kamal does) and hides a literal password.
func TestKamalYAMLAccessoryRegistry(t *testing.T) {
	c := mustLoad(t, baseYAML+`accessories:
  db:
    image: mysql
    host: 1.1.1.1
    registry:
      server: ghcr.io
      username: bot
      password: hunter2
  cache:
    image: redis
    host: 1.1.1.1
    registry:
      server: ghcr.io
      username: [CACHE_USER]
      password: [CACHE_PASSWORD]
`)
	out, err := c.KamalYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"      server: ghcr.io\n      username: bot\n      password: \"[REDACTED]\"\n",
		"      username:\n      - CACHE_USER\n      password:\n      - CACHE_PASSWORD\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("password revealed:\n%s", out)
	}
}
