package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoadConfig feeds arbitrary bytes through the whole loader (ERB, YAML,
// validation, model, `kamal config` output): it may fail, never panic or hang.
func FuzzLoadConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/configs/*/config/deploy.yml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		baseYAML, modelYAML, "", "---\n", "- a\n", "a: &a [*a]\n", "<<: 1\n",
		"servers: {web: [{a: b, c: d}]}\n", "servers: [{1.1.1.1: [a, {b: c}]}]\n",
		baseYAML + "proxy: {ssl: {certificate_pem: a}}\n",
		baseYAML + "accessories: {a: {tags: [x]}}\n",
		"<%= ENV['X'] %>\n", "<% if true %>a: 1<% end %>\n",
		// Psych's typing and documents (issue 20)
		baseYAML + "readiness_delay: 1:30\nenv: {clear: {A: 03:30, B: 2024-01-15, C: 2024-01-15 10:20:30 +01:00}}\n",
		baseYAML + "retain_containers: 99999999999999999999\nlabels: {a: nUlL, b: !!binary aGVsbG8=, c: !!float 1}\n",
		"%YAML 1.2\n---\n" + baseYAML, "\ufeff" + baseYAML, baseYAML + "hooks_output: :quiet\n",
		"l: &l [{a: 1}]\nm: {<<: *l}\nn: {\"<<\": {b: 1}}\no: {!!str <<: 1}\n",
		strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  args: {~: x, D: 2024-01-15}\n  sbom: true", 1),
		baseYAML + "logging: {options: {compress: false, tag: , labels: {a: 1}, env: [A]}}\n",
		baseYAML + "boot: {limit: 25 %}\nssh: {port: 2222.0, forward_agent: true, proxy_command: x}\n",
		minimalHead + "servers: {web: [a], 1: [b]}\n",
		// broken YAML for Psych's error positions
		baseYAML + "builder: {arch: amd64\nfoo: 1\n", "service: app\nimage\n", "a: \"open\n", "a: [b, {c: d\n", "a: *nope\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	file := filepath.Join(dir, "deploy.yml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan string, 1)
		go func() { done <- loadAndUse(file) }()
		select {
		case msg := <-done:
			if msg != "" {
				t.Fatalf("%s on %q", msg, data)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("hangs on %q", data)
		}
	})
}

// noShell stands in for the shell so that fuzzed ERB never runs commands.
func noShell(cmd string) (string, error) { return "out", nil }

// loadAndUse loads file and exercises the model; it returns a problem or "".
func loadAndUse(file string) string {
	c, err := Load(LoadOptions{ConfigFile: file, Version: "1", LookupEnv: envOf(nil), Shell: noShell})
	if err != nil {
		if err.Error() == "" {
			return "empty error message"
		}
		return ""
	}
	if _, err := c.KamalYAML(); err != nil {
		return err.Error()
	}
	for _, r := range c.Servers {
		for _, h := range r.Hosts {
			c.RoleEnv(r, h)
		}
	}
	c.BootGroups(c.AppHosts())
	c.ProxyHosts()
	return ""
}
