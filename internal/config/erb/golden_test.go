package erb

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// goldenEnv is the fixed environment the golden configs render with.
var goldenEnv = map[string]string{
	"SERVICE":              "acme",
	"REVIEW_APP_PR_NUMBER": "42",
	"PR_TITLE":             `Fix "login" <again>`,
	"APP_URL":              "https://review.example.com",
	"HOME":                 "/home/deploy",
	"HOSTS":                "10.0.0.1, 10.0.0.2",
}

func goldenShell(cmd string) (string, error) {
	switch cmd {
	case "git rev-parse --short HEAD":
		return "abc1234\n", nil
	case "aws ecr get-login-password":
		return "ecr-password\n", nil
	}
	return "", errors.New("unexpected command: " + cmd)
}

// TestGolden renders testdata/*.yml.erb from testdata/project (as the
// working directory, like a Kamal project root) and compares with
// testdata/*.golden. Run with -update to rewrite the golden files.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yml.erb")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml.erb")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(filepath.Join(abs, "project"))
			set := map[string]string{}
			out, err := Render(src, Options{
				File: "config/deploy.yml",
				Dir:  filepath.Join(abs, "project", "config"),
				LookupEnv: func(k string) (string, bool) {
					if v, ok := set[k]; ok {
						return v, true
					}
					v, ok := goldenEnv[k]
					return v, ok
				},
				SetEnv: func(k, v string) { set[k] = v },
				Shell:  goldenShell,
				Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
			})
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(abs, name+".golden")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(out) != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", golden, out, want)
			}
			if set["DOTENV_DB"] != "db.internal" {
				t.Errorf("Dotenv.load did not set DOTENV_DB: %v", set)
			}
		})
	}
}

// BenchmarkRender measures rendering the golden config (parse + evaluate).
func BenchmarkRender(b *testing.B) {
	src, err := os.ReadFile("testdata/deploy.yml.erb")
	if err != nil {
		b.Fatal(err)
	}
	abs, err := filepath.Abs("testdata/project")
	if err != nil {
		b.Fatal(err)
	}
	b.Chdir(abs)
	opts := Options{
		File: "config/deploy.yml",
		Dir:  filepath.Join(abs, "config"),
		LookupEnv: func(k string) (string, bool) {
			v, ok := goldenEnv[k]
			return v, ok
		},
		SetEnv: func(string, string) {},
		Shell:  goldenShell,
	}
	for b.Loop() {
		if _, err := Render(src, opts); err != nil {
			b.Fatal(err)
		}
	}
}
