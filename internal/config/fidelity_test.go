package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// Issue 20: what Ruby Kamal 2.12 (Psych 4/5) gives for each example. The
// expected values come from the issue and from Psych's and Kamal's
// documented behaviour.

// loadErr loads yml and returns the error message (without the file:line
// prefix) or "".
func loadErr(t *testing.T, yml string) string {
	t.Helper()
	_, err := loadYAML(t, yml, "", "")
	var ce *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		return ce.Message
	}
	return err.Error()
}

// loadErrorCase is a config and the error it loads with ("" for none).
type loadErrorCase struct{ name, yml, err string }

func checkLoadErrors(t *testing.T, tests []loadErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadErr(t, tt.yml); got != tt.err {
				t.Errorf("got %q, want %q", got, tt.err)
			}
		})
	}
}

func TestPsychTypingReachesKamalChecks(t *testing.T) {
	tests := []loadErrorCase{
		{"a date is not a string", baseYAML + "env:\n  clear:\n    RELEASE: 2024-01-15\n", "env/clear/RELEASE: should be a string"},
		{"a time is not a string", baseYAML + "labels:\n  built: 2024-01-15 10:20:30\n", "labels/built: should be a string"},
		{"a bignum is an integer", baseYAML + "retain_containers: 99999999999999999999\n", ""},
		{"a quoted date is a string", baseYAML + "env:\n  clear:\n    RELEASE: '2024-01-15'\n", ""},
	}
	checkLoadErrors(t, tests)

	c := mustLoad(t, strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  target: :deploy\n  args:\n    BUILD_DATE: 2024-01-15\n    BUILT_AT: 2024-01-15T10:20:30Z", 1)+`readiness_delay: 1:30
env:
  clear:
    WINDOW: 03:30
    BIG: 2222:22
`)
	if c.ReadinessDelay != 5400 || c.Env.Clear["WINDOW"] != "12600" || c.Env.Clear["BIG"] != "8000520" {
		t.Errorf("base 60: %d %q %q", c.ReadinessDelay, c.Env.Clear["WINDOW"], c.Env.Clear["BIG"])
	}
	if c.Builder.Args["BUILD_DATE"] != "2024-01-15" || c.Builder.Args["BUILT_AT"] != "2024-01-15 10:20:30 UTC" || c.Builder.Target != "deploy" {
		t.Errorf("builder: %q %q %q", c.Builder.Args["BUILD_DATE"], c.Builder.Args["BUILT_AT"], c.Builder.Target)
	}
	out, err := c.KamalYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  target: :deploy\n", "    BUILD_DATE: 2024-01-15\n", "    BUILT_AT: 2024-01-15 10:20:30.000000000 Z\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("kamal config lacks %q:\n%s", want, out)
		}
	}
}

func TestAcceptWhatKamalAccepts(t *testing.T) {
	tests := []loadErrorCase{
		{"boot limit with a space before %", baseYAML + "boot:\n  limit: 25 %\n", ""},
		{"ssh port as a whole float string", baseYAML + "ssh:\n  port: \"2222.0\"\n", ""},
		{"ssh port as a whole float", baseYAML + "ssh:\n  port: 2222.0\n", ""},
		{"a number as service name", strings.Replace(baseYAML, "service: app", "service: 2048", 1), "Service name can only include alphanumeric characters, hyphens, and underscores"},
		{"sbom must be a boolean", strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  sbom: \"true\"", 1), "builder/sbom: should be a boolean"},
		{"buildpacks with two arches", strings.Replace(baseYAML, "arch: amd64", "arch: [amd64, arm64]\n  pack: {builder: heroku/builder:24, buildpacks: [heroku/ruby]}", 1), "builder: buildpacks only support building for one arch"},
		{"buildpacks with one arch", strings.Replace(baseYAML, "arch: amd64", "arch: [amd64]\n  pack: {builder: heroku/builder:24, buildpacks: [heroku/ruby]}", 1), ""},
		{"minimum_version: no is skipped", baseYAML + "minimum_version: no\n", ""},
		{"local registry, non-SSH remote that builds nothing", "service: app\nservers: [a]\nregistry: {server: localhost:5000}\nbuilder: {arch: " + LocalArch() + ", remote: tcp://builder:2375}\n", ""},
	}
	checkLoadErrors(t, tests)
	c := mustLoad(t, baseYAML+"boot:\n  limit: 25 %\nssh:\n  port: \"2222.0\"\n")
	if got := c.Boot.GroupSize(8); got != 2 {
		t.Errorf("25 %% of 8 hosts: %d", got)
	}
	if c.SSH.Port != 2222 {
		t.Errorf("port %d", c.SSH.Port)
	}
}

func TestKamalConfigOutputItems(t *testing.T) {
	tests := []struct {
		name, yml string
		want      []string
	}{
		{"forward_agent", baseYAML + "ssh:\n  forward_agent: true\n", []string{"  :forward_agent: true\n  :log_level: :fatal\n"}},
		{"proxy command timeout", baseYAML + "ssh:\n  proxy_command: ssh -W %h:%p bastion\n", []string{"    command_line_template: ssh -W %h:%p bastion\n    command_line:\n    timeout: 60\n"}},
		{"a ~ key", strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  args:\n    ~: x", 1), []string{"  args:\n    '': x\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.yml)
			out, err := c.KamalYAML()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if _, err := rubyyaml.Parse("out", []byte(out)); err != nil {
				t.Errorf("output does not parse: %v\n%s", err, out)
			}
		})
	}
}

// TestClearErrorsWhereKamalCrashes: Ruby Kamal stops with a NoMethodError or
// an ArgumentError on these; we give a configuration error naming the file
// and key, or (an empty destination file) load.
func TestClearErrorsWhereKamalCrashes(t *testing.T) {
	_, err := loadYAML(t, minimalHead+"servers:\n  web: [a]\n  1: [b]\n", "", "")
	var ce *Error
	if !errors.As(err, &ce) || ce.Message != `servers/1: role names must be strings, quote it: "1"` || ce.Line != 7 || !strings.HasSuffix(ce.File, "config/deploy.yml") {
		t.Errorf("role 1: got %v", err)
	}
	if _, err := loadYAML(t, minimalHead+"servers:\n  web: [a]\n  \"1\": [b]\n", "", ""); err != nil {
		t.Errorf("quoted role name: %v", err)
	}
	if _, err := loadYAML(t, baseYAML, "staging", "\n"); err != nil {
		t.Errorf("empty destination file: %v", err)
	}
}
