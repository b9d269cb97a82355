package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const cliBaseYAML = `service: app
image: dhh/app
servers:
  web: [1.1.1.1]
registry:
  username: dhh
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
`

// inProject runs kamal with args in a temp project made of files.
func inProject(t *testing.T, files map[string]string, args ...string) (code int, stdout, stderr string) {
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
	t.Chdir(dir)
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigCommand(t *testing.T) {
	code, out, errs := inProject(t, map[string]string{"config/deploy.yml": cliBaseYAML}, "config", "--version", "42")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"---\n:roles:\n- web\n", ":version: '42'\n", ":absolute_image: dhh/app:42\n", ":logging:\n- \"--log-opt\"\n- max-size=\"10m\"\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"missing config", nil, []string{"config"},
			"  ERROR (RuntimeError): Configuration file not found in $PWD/config/deploy.yml\n"},
		{"missing destination file", map[string]string{"config/deploy.yml": cliBaseYAML}, []string{"config", "-d", "staging"},
			"  ERROR (RuntimeError): Configuration file not found in $PWD/config/deploy.staging.yml\n"},
		{"invalid yaml", map[string]string{"config/deploy.yml": "service: app\n\tbad: indent\n"}, []string{"config"},
			"  ERROR (Psych::SyntaxError): config/deploy.yml:1: (<unknown>): found a tab character that violates indentation while scanning a plain scalar at line 1 column 10\n"},
		{"unknown key", map[string]string{"config/deploy.yml": cliBaseYAML + "colour: blue\n"}, []string{"config"},
			"  ERROR (Kamal::ConfigurationError): config/deploy.yml:10: unknown key: colour\n"},
		{"wrong type", map[string]string{"config/deploy.yml": strings.Replace(cliBaseYAML, "web: [1.1.1.1]", "web:\n    hosts: 1.1.1.1", 1)}, []string{"config"},
			"  ERROR (Kamal::ConfigurationError): config/deploy.yml:5: servers/web/hosts: should be an array\n"},
		{"require destination", map[string]string{"config/deploy.yml": cliBaseYAML + "require_destination: true\n"}, []string{"config"},
			"  ERROR (ArgumentError): You must specify a destination\n"},
		{"custom config file", map[string]string{"deploy/app.yml": cliBaseYAML}, []string{"config", "-c", "deploy/other.yml"},
			"  ERROR (RuntimeError): Configuration file not found in $PWD/deploy/other.yml\n"},
		{"destination outside config", map[string]string{"config/deploy.yml": cliBaseYAML, "victim.yml": "service: app\n"}, []string{"config", "-d", "x/../../victim"},
			"  ERROR (ArgumentError): Destination name can only include alphanumeric characters, hyphens, underscores, and periods (not \"..\"), got \"x/../../victim\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := inProject(t, tt.files, tt.args...)
			pwd, _ := os.Getwd()
			if want := strings.ReplaceAll(tt.want, "$PWD", pwd); code != 1 || errs != want {
				t.Errorf("exit %d, stderr\n got %q\nwant %q", code, errs, want)
			}
		})
	}
}

// TestConfigSpecialFiles: a config that is a link to /dev/zero or a FIFO
// fails at once with a clear error instead of eating memory or blocking.
func TestConfigSpecialFiles(t *testing.T) {
	for name, create := range map[string]func(path string) error{
		"link to /dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"fifo":              func(p string) error { return syscall.Mkfifo(p, 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "config"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := create(filepath.Join(dir, "config/deploy.yml")); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			type result struct {
				code int
				errs string
			}
			done := make(chan result, 1)
			go func() {
				var out, errb bytes.Buffer
				code := Main([]string{"config"}, strings.NewReader(""), &out, &errb)
				done <- result{code, errb.String()}
			}()
			select {
			case r := <-done:
				if r.code != 1 || !strings.HasPrefix(r.errs, "  ERROR (RuntimeError): Configuration file config/deploy.yml is not a regular file") {
					t.Errorf("exit %d, stderr %q", r.code, r.errs)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("kamal config does not return")
			}
		})
	}
}

func TestConfigUnsupportedERB(t *testing.T) {
	yml := strings.Replace(cliBaseYAML, "image: dhh/app", "image: <%= Object.new.frobnicate %>", 1)
	code, _, errs := inProject(t, map[string]string{"config/deploy.yml": yml}, "config", "--version", "1")
	if want := "  ERROR (RuntimeError): config/deploy.yml:2: unsupported Ruby in ERB: Object.new\n"; code != 1 || errs != want {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestAliases(t *testing.T) {
	files := map[string]string{"config/deploy.yml": cliBaseYAML + "aliases:\n  cfg: config --version \"a b\"\n  plain: config\n"}
	code, out, errs := inProject(t, files, "cfg")
	if code != 0 || !strings.Contains(out, ":version: a b\n") {
		t.Errorf("exit %d %s\n%s", code, errs, out)
	}
	code, out, errs = inProject(t, files, "plain", "--version", "77")
	if code != 0 || !strings.Contains(out, ":version: '77'\n") {
		t.Errorf("extra args: exit %d %s\n%s", code, errs, out)
	}
	// the alias is read from the file named with -c
	files = map[string]string{"other.yml": cliBaseYAML + "aliases:\n  cfg: config --version 5\n"}
	code, out, errs = inProject(t, files, "cfg", "-c", "other.yml")
	if code != 0 || !strings.Contains(out, ":version: '5'\n") {
		t.Errorf("-c: exit %d %s\n%s", code, errs, out)
	}
	// an alias may not shadow a command
	files = map[string]string{"config/deploy.yml": cliBaseYAML + "aliases:\n  config: version\n"}
	code, _, errs = inProject(t, files, "config")
	if code != 1 || !strings.Contains(errs, "aliases/config: Alias 'config' conflicts with a built-in command.") {
		t.Errorf("conflict: exit %d %s", code, errs)
	}
}

func TestAliasRendersERBOnce(t *testing.T) {
	yml := strings.Replace(cliBaseYAML, "image: dhh/app", "image: dhh/<%= `echo run >> erb-runs; echo app`.strip %>", 1) +
		"aliases:\n  cfg: config --version 3\n"
	code, out, errs := inProject(t, map[string]string{"config/deploy.yml": yml}, "cfg")
	if code != 0 || !strings.Contains(out, ":absolute_image: dhh/app:3\n") {
		t.Fatalf("exit %d %s\n%s", code, errs, out)
	}
	runs, err := os.ReadFile("erb-runs")
	if err != nil || string(runs) != "run\n" {
		t.Errorf("ERB shell-out ran %q times", runs)
	}
}

func TestDestinationSeenByERB(t *testing.T) {
	yml := strings.Replace(cliBaseYAML, "image: dhh/app", "image: dhh/<%= ENV[\"KAMAL_DESTINATION\"] %>-<%= `echo $KAMAL_DESTINATION`.strip %>", 1)
	files := map[string]string{"config/deploy.yml": yml, "config/deploy.staging.yml": "servers:\n  web: [2.2.2.2]\n"}
	code, out, errs := inProject(t, files, "config", "-d", "staging", "--version", "1")
	if code != 0 || !strings.Contains(out, ":absolute_image: dhh/staging-staging:1\n") || !strings.Contains(out, ":hosts:\n- 2.2.2.2\n") {
		t.Errorf("exit %d %s\n%s", code, errs, out)
	}
}

func TestScanConfigFlags(t *testing.T) {
	tests := []struct {
		args       []string
		file, dest string
	}{
		{nil, "config/deploy.yml", ""},
		{[]string{"-c", "a.yml", "-d", "prod"}, "a.yml", "prod"},
		{[]string{"--config-file=b.yml", "--destination=stg"}, "b.yml", "stg"},
		{[]string{"-cc.yml", "-dqa"}, "c.yml", "qa"},
		{[]string{"--", "-c", "x"}, "config/deploy.yml", ""},
		{[]string{"deploy", "--config-file", "d.yml", "-d=prod", "-v"}, "d.yml", "prod"},
	}
	for _, tt := range tests {
		f, d := scanConfigFlags(tt.args)
		if f != tt.file || d != tt.dest {
			t.Errorf("%v: %s %s", tt.args, f, d)
		}
	}
}

func TestDocsCommand(t *testing.T) {
	code, out, _ := inProject(t, nil, "docs", "proxy")
	if code != 0 || !strings.HasPrefix(out, "# Proxy\n") {
		t.Errorf("exit %d: %s", code, out)
	}
	code, out, _ = inProject(t, nil, "docs")
	if code != 0 || !strings.HasPrefix(out, "# Configuration file") {
		t.Errorf("overview: exit %d: %.40s", code, out)
	}
	// Every section Kamal documents, as `kamal docs <section>` takes it
	// (Kamal title-cases the word, so the capitalised form works too).
	for _, section := range []string{"accessory", "alias", "boot", "builder", "configuration", "env", "logging",
		"output", "proxy", "registry", "role", "servers", "ssh", "sshkit", "Proxy", "Sshkit"} {
		code, out, _ := inProject(t, nil, "docs", section)
		if code != 0 || !strings.HasPrefix(out, "# ") || len(out) < 200 {
			t.Errorf("docs %s: exit %d: %.60q", section, code, out)
		}
	}
	code, out, _ = inProject(t, nil, "docs", "nothing")
	if code != 0 || out != "No documentation found for nothing\n" {
		t.Errorf("unknown: exit %d: %q", code, out)
	}
}

func TestInitCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out bytes.Buffer
	if code := Main([]string{"init"}, nil, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	want := "Created configuration file in config/deploy.yml\nCreated .kamal/secrets file\nCreated sample hooks in .kamal/hooks\n"
	if out.String() != want {
		t.Errorf("got %q", out.String())
	}
	st, err := os.Stat(".kamal/hooks/pre-deploy.sample")
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("hook sample: %v %v", st, err)
	}
	entries, _ := os.ReadDir(".kamal/hooks")
	if len(entries) != 9 {
		t.Errorf("%d sample hooks", len(entries))
	}
	// the starter config loads (with a version given)
	out.Reset()
	if code := Main([]string{"config", "--version", "1"}, nil, &out, &out); code != 0 {
		t.Errorf("starter config does not load: %s", out.String())
	}
	// a second run changes nothing
	if err := os.WriteFile("config/deploy.yml", []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	// Kamal prints the message and returns normally: exit status 0 (as for
	// `kamal docs nothing` above).
	if code := Main([]string{"init"}, nil, &out, &out); code != 0 || out.String() != "Config file already exists in config/deploy.yml (remove first to create a new one)\n" {
		t.Errorf("second run: exit %d, %q", code, out.String())
	}
	if b, _ := os.ReadFile("config/deploy.yml"); string(b) != "mine" {
		t.Error("config overwritten")
	}
}

func TestSecretErrors(t *testing.T) {
	// A failing $(cmd) in a secrets file: its stderr is shown, exit 1.
	files := map[string]string{
		"config/deploy.yml": cliBaseYAML,
		".kamal/secrets":    "KAMAL_REGISTRY_PASSWORD=$(echo vault locked >&2; exit 3)\n",
	}
	// The command writes to the process's stderr (the user's terminal).
	procErr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = procErr
	code, out, errs := inProject(t, files, "secrets", "print")
	os.Stderr = saved
	shown, _ := os.ReadFile(procErr.Name())
	want := "  ERROR (RuntimeError): .kamal/secrets: command `echo vault locked >&2; exit 3` failed: exit status 3\n"
	if code != 1 || errs != want || out != "" || string(shown) != "vault locked\n" {
		t.Errorf("failing command: exit %d, stdout %q, command stderr %q, stderr\n got %q\nwant %q", code, out, shown, errs, want)
	}
	// A secret the config needs but no file defines.
	tests := []struct {
		name    string
		secrets map[string]string
		want    string
	}{
		{"no files", nil,
			"  ERROR (Kamal::ConfigurationError): registry password: Secret 'KAMAL_REGISTRY_PASSWORD' not found, no secret files (.kamal/secrets-common, .kamal/secrets) provided\n"},
		{"not in files", map[string]string{".kamal/secrets-common": "A=1\n", ".kamal/secrets": "B=2\n"},
			"  ERROR (Kamal::ConfigurationError): registry password: Secret 'KAMAL_REGISTRY_PASSWORD' not found in .kamal/secrets-common, .kamal/secrets\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"config/deploy.yml": cliBaseYAML}
			for k, v := range tt.secrets {
				files[k] = v
			}
			// -R: the local login fails on the secret before running anything.
			code, _, errs := inProject(t, files, "registry", "login", "-R", "--version", "1")
			if code != 1 || errs != tt.want {
				t.Errorf("exit %d, stderr\n got %q\nwant %q", code, errs, want)
			}
		})
	}
}
