package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// project writes files (path -> content) under a new directory and makes it
// the working directory, so paths in messages are the relative ones users see.
func project(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

func newTestStore(path, dest string, sh func(string) (string, error)) *Secrets {
	s := New(path, dest)
	s.opts = DotenvOptions{LookupEnv: lookupFake, Shell: sh}
	return s
}

func TestSecretsFiles(t *testing.T) {
	files := map[string]string{
		".kamal/secrets-common":  "A=common\nB=common\nX=1\n",
		".kamal/secrets":         "B=main\nC=main\n# each file is parsed on its own\nY=[$X]\n",
		".kamal/secrets.staging": "B=staging\nD=staging\n",
		"other/path-common":      "P=common\n",
		"other/path.prod":        "P=prod\nQ=prod\n",
	}
	tests := []struct {
		name, path, dest string
		want             []Var
		files            []string
	}{
		{"no destination", "", "", vars("A", "common", "B", "main", "X", "1", "C", "main", "Y", "[]"),
			[]string{".kamal/secrets-common", ".kamal/secrets"}},
		{"destination replaces the main file", ".kamal/secrets", "staging", vars("A", "common", "B", "staging", "X", "1", "D", "staging"),
			[]string{".kamal/secrets-common", ".kamal/secrets.staging"}},
		{"destination without its file", "", "prod", vars("A", "common", "B", "common", "X", "1"),
			[]string{".kamal/secrets-common"}},
		{"secrets_path", "other/path", "prod", vars("P", "prod", "Q", "prod"),
			[]string{"other/path-common", "other/path.prod"}},
	}
	project(t, files)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(tt.path, tt.dest, nil)
			got, err := s.All()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("All() = %q, want %q", got, tt.want)
			}
			found, _ := s.Files()
			if !reflect.DeepEqual(found, tt.files) {
				t.Errorf("Files() = %q, want %q", found, tt.files)
			}
			for _, v := range tt.want {
				if got, err := s.Get(v.Key); err != nil || got != v.Value {
					t.Errorf("Get(%q) = %q, %v; want %q", v.Key, got, err, v.Value)
				}
			}
		})
	}
}

func TestSecretsMissing(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		dest  string
		want  string
	}{
		{"both files", map[string]string{".kamal/secrets-common": "A=1", ".kamal/secrets": "B=1"}, "",
			"Secret 'NOPE' not found in .kamal/secrets-common, .kamal/secrets"},
		{"main file only", map[string]string{".kamal/secrets": "B=1"}, "",
			"Secret 'NOPE' not found in .kamal/secrets"},
		{"destination file", map[string]string{".kamal/secrets.staging": "B=1", ".kamal/secrets": "NOPE=1"}, "staging",
			"Secret 'NOPE' not found in .kamal/secrets.staging"},
		{"no files", nil, "",
			"Secret 'NOPE' not found, no secret files (.kamal/secrets-common, .kamal/secrets) provided"},
		{"no files with destination", nil, "staging",
			"Secret 'NOPE' not found, no secret files (.kamal/secrets-common, .kamal/secrets.staging) provided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project(t, tt.files)
			_, err := newTestStore("", tt.dest, nil).Get("NOPE")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			var nf *NotFoundError
			if !errors.As(err, &nf) || nf.Kind() != "Kamal::ConfigurationError" {
				t.Errorf("error %T is not a NotFoundError of kind Kamal::ConfigurationError", err)
			}
		})
	}
}

func TestSecretsLoadOnce(t *testing.T) {
	project(t, map[string]string{".kamal/secrets": "TOKEN=$(vault read)\nEMPTY=\n"})
	var mu sync.Mutex
	calls := 0
	s := newTestStore("", "", func(cmd string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return "s3cret\n", nil
	})
	if calls != 0 {
		t.Fatal("New read the files")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := s.Get("TOKEN"); err != nil || v != "s3cret" {
				t.Errorf("Get = %q, %v", v, err)
			}
		}()
	}
	wg.Wait()
	if _, err := s.All(); err != nil {
		t.Fatal(err)
	}
	values, err := s.Values()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(values, []string{"s3cret"}) {
		t.Errorf("Values() = %q, want only the non-empty value", values)
	}
	if calls != 1 {
		t.Errorf("the command ran %d times, want once", calls)
	}
}

func TestSecretsLoadErrorIsRemembered(t *testing.T) {
	project(t, map[string]string{".kamal/secrets-common": "A=1\n", ".kamal/secrets": "B=$(op read)\n"})
	calls := 0
	s := newTestStore("", "", func(string) (string, error) {
		calls++
		return "", errors.New("exit status 1")
	})
	want := ".kamal/secrets: command `op read` failed: exit status 1"
	for range 2 {
		if _, err := s.Get("A"); err == nil || err.Error() != want {
			t.Fatalf("error %v, want %q", err, want)
		}
	}
	if _, err := s.Values(); err == nil {
		t.Error("Values() succeeded after a load error")
	}
	if calls != 1 {
		t.Errorf("the failing command ran %d times, want once", calls)
	}
}

func TestSecretsUnreadableFile(t *testing.T) {
	project(t, map[string]string{".kamal/secrets/x": ""}) // a directory where the file should be
	_, err := New("", "").Get("A")
	if err == nil || err.Error() == "" {
		t.Fatal("no error for an unreadable secrets file")
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		t.Errorf("got a not-found error for an unreadable file: %v", err)
	}
}
