package config

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestKamalConfigGolden loads every sample project under testdata/configs and
// compares `kamal config` output with <sample>/config.golden. A sample may
// have a test.env file (KEY=VALUE lines; DESTINATION selects -d).
func TestKamalConfigGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/configs/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 {
		t.Fatalf("want at least 10 sample configs, found %d", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			env := readEnvFile(t, filepath.Join(dir, "test.env"))
			dest := env["DESTINATION"]
			delete(env, "DESTINATION")
			c, err := Load(LoadOptions{
				ConfigFile:  filepath.Join(dir, "config/deploy.yml"),
				Destination: dest,
				Version:     "505f4f60089b262c693885596fbd768a6ab663e9",
				LookupEnv:   envOf(env),
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.KamalYAML()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(dir, "config.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
			// The output must be valid YAML that reads back.
			if _, err := rubyyaml.Parse("out", []byte(got)); err != nil {
				t.Errorf("output does not parse: %v", err)
			}
		})
	}
}

func readEnvFile(t *testing.T, path string) map[string]string {
	env := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return env
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// TestSampleCoverage keeps the samples honest: together they must exercise
// every feature the golden tests are meant to cover, so deleting one from a
// sample fails here rather than silently shrinking the coverage.
func TestSampleCoverage(t *testing.T) {
	features := []struct {
		name string
		ok   func(yml, env string) bool
	}{
		{"roles with tags", func(y, _ string) bool { return strings.Contains(y, "\n  tags:") && strings.Contains(y, "servers:") }},
		{"destination", func(_, e string) bool { return strings.Contains(e, "DESTINATION=") }},
		{"ERB reading ENV", func(y, _ string) bool { return strings.Contains(y, "<%= ENV") }},
		{"ERB shell-out", func(y, _ string) bool { return strings.Contains(y, "%x(") || strings.Contains(y, "<%= `") }},
		{"x- anchors with merge keys", func(y, _ string) bool {
			return strings.Contains(y, "\nx-") && strings.Contains(y, ": &") && strings.Contains(y, "<<: *")
		}},
		{"accessories", func(y, _ string) bool { return strings.Contains(y, "\naccessories:") }},
		{"proxy ssl", func(y, _ string) bool { return strings.Contains(y, "\nproxy:") && strings.Contains(y, "  ssl:") }},
		{"proxy healthcheck", func(y, _ string) bool { return strings.Contains(y, "  healthcheck:") }},
		{"proxy buffering", func(y, _ string) bool { return strings.Contains(y, "  buffering:") }},
		{"builder options", func(y, _ string) bool {
			return strings.Contains(y, "\nbuilder:") && strings.Contains(y, "  cache:") && strings.Contains(y, "  args:")
		}},
	}
	dirs, err := filepath.Glob("testdata/configs/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range features {
		found := false
		for _, dir := range dirs {
			files, _ := filepath.Glob(filepath.Join(dir, "config", "deploy*.yml"))
			env, _ := os.ReadFile(filepath.Join(dir, "test.env"))
			var yml strings.Builder
			for _, file := range files {
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				yml.Write(b)
				yml.WriteString("\n")
			}
			if f.ok(yml.String(), string(env)) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no sample under testdata/configs covers %s", f.name)
		}
	}
}
