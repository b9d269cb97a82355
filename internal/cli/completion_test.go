package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary doubles as kamal, for the completion scripts to call.
func TestMain(m *testing.M) {
	// The test binary stands in for kamal, so it cannot be a keeper of
	// kept connections (its children would run the tests instead).
	os.Setenv("KAMAL_SSH_PERSIST", "0")
	if os.Getenv("CLI_TEST_AS_KAMAL") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// completionProject is a project with two roles, three hosts, an alias
// and a staging destination.
func completionProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"config/deploy.yml": `service: app
image: test/app
servers:
  web:
    - 10.0.0.1
    - 10.0.0.2
  workers:
    hosts:
      - 10.0.0.3
    cmd: bin/jobs
registry:
  username: user
  password: pass
builder:
  arch: amd64
aliases:
  shell: app exec --interactive --reuse "bash"
`,
		"config/deploy.staging.yml": "servers:\n  web:\n    - 10.0.1.1\n",
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// complete runs `kamal __complete args...` in dir and returns the
// candidates (without descriptions).
func complete(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errOut bytes.Buffer
	if code := Main(append([]string{"__complete"}, args...), strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("__complete %v: exit %d: %s", args, code, errOut.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line != "" && !strings.HasPrefix(line, ":") {
			got = append(got, strings.SplitN(line, "\t", 2)[0])
		}
	}
	return got
}

func TestCompletionCandidates(t *testing.T) {
	dir := completionProject(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-r", ""}, "web workers"},
		{[]string{"deploy", "--roles", "w"}, "web workers"},
		{[]string{"-h", ""}, "10.0.0.1 10.0.0.2 10.0.0.3"},
		{[]string{"-d", "staging", "-h", ""}, "10.0.1.1 10.0.0.3"},
		{[]string{"-d", ""}, "staging"},
		{[]string{"--progress", ""}, "auto tty plain"},
		{[]string{"completion", ""}, "bash zsh fish"},
		{[]string{"deploy", "--skip-p"}, "--skip-push"},
	} {
		if got := strings.Join(complete(t, dir, tt.args...), " "); got != tt.want {
			t.Errorf("complete %q = %q, want %q", tt.args, got, tt.want)
		}
	}
	// The first word: commands and the configuration's aliases.
	first := complete(t, dir, "")
	for _, want := range []string{"deploy", "app", "lock", "shell"} {
		if !strings.Contains(" "+strings.Join(first, " ")+" ", " "+want+" ") {
			t.Errorf("first word candidates lack %s: %v", want, first)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out, errOut bytes.Buffer
		if code := Main([]string{"completion", shell}, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), "__complete") {
			t.Errorf("completion %s: exit %d, %s\n%.200s", shell, code, errOut.String(), out.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"completion", "tcsh"}, strings.NewReader(""), &out, &errOut); code == 0 {
		t.Error("completion tcsh succeeded")
	}
}

// TestBashCompletesARole sources the bash script, as a user's shell does,
// and completes `kamal deploy -r w<TAB>` in the test project.
func TestBashCompletesARole(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := completionProject(t)
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nCLI_TEST_AS_KAMAL=1 exec " + self + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "kamal"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	// The script needs bash-completion's _get_comp_words_by_ref; without
	// the package, a minimal one splitting COMP_WORDS stands in.
	script := `if [ -r /usr/share/bash-completion/bash_completion ]; then
  source /usr/share/bash-completion/bash_completion
else
  _get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
fi
source <(kamal completion bash)
COMP_WORDS=(kamal deploy -r w); COMP_CWORD=3; COMP_LINE="kamal deploy -r w"; COMP_POINT=${#COMP_LINE}
__start_kamal kamal w deploy
printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command(bash, "--norc", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	// stderr has compopt's complaint that no completion is running.
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, stderr.String())
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "web workers" {
		t.Errorf("bash completed %q, want web workers", out)
	}
}
