package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerIgnoreMatching(t *testing.T) {
	d := parseDockerIgnore(`# comment
/log
*.md
!README.md
tmp/**
**/*.bak
node_modules
secret?.txt
[ab]x.txt
dir
!dir/keep
`)
	tests := []struct {
		path string
		want bool
	}{
		{"log", true},
		{"log/dev.log", true},
		{"catalog", false},
		{"notes.md", true},
		{"docs/notes.md", false}, // * stays in one element
		{"README.md", false},
		{"tmp/a/b/c", true},
		{"a/b/x.bak", true},
		{"x.bak", true},
		{"node_modules/pkg/index.js", true},
		{"app/node_modules/x", false},
		{"secret1.txt", true},
		{"secret12.txt", false},
		{"ax.txt", true},
		{"cx.txt", false},
		{"dir/other", true},
		{"dir/keep", false},
		{"Dockerfile", false},
	}
	for _, tt := range tests {
		if got := d.excluded(tt.path); got != tt.want {
			t.Errorf("excluded(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if (&dockerIgnore{}).excluded("anything") {
		t.Error("no .dockerignore excludes nothing")
	}
}

func TestBuildDevWarnsOnlyAboutFilesInTheContext(t *testing.T) {
	yaml := buildYAML + "  context: app\n  dockerfile: app/Dockerfile\n"
	dir, _ := gitRepo(t, yaml)
	for name, body := range map[string]string{
		"outside.txt":       "not in the context",
		"app/Dockerfile":    "FROM scratch\n",
		"app/.dockerignore": "*.log\nscratch/\n",
		"app/inside.txt":    "in",
		"app/debug.log":     "ignored by .dockerignore",
		"app/scratch/x":     "ignored directory",
		"marker":            "changed but outside the context\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k, rec, out := newBuildKamal(t, yaml, Options{}, bRule{host: "localhost", match: "docker buildx version", exit: 1})
	rec.realGit = true
	if err := k.Builder.Dev(context.Background(), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"WARNING: Untracked files will be present in the dev container:\n", "  app/.dockerignore\n", "  app/Dockerfile\n", "  app/inside.txt\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"outside.txt", "debug.log", "scratch", "marker", "uncommitted changes"} {
		if strings.Contains(got, not) {
			t.Errorf("output mentions %q, which is not in the build context:\n%s", not, got)
		}
	}
}
