package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/config"
)

const multiYAML = `service: app
image: dhh/app
servers:
  web:
    - 1.1.1.1
    - 1.1.1.2
  workers:
    hosts:
      - 1.1.1.3
      - 1.1.1.1
  jobs:
    - 1.1.1.4
registry:
  username: dhh
  password: secret
builder:
  arch: amd64
accessories:
  db:
    image: mysql
    host: 1.1.1.5
`

func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "deploy.yml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{ConfigFile: file, Version: "999"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func roleNames(rs []*config.Role) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestFilters(t *testing.T) {
	cfg := loadConfig(t, multiYAML)
	tests := []struct {
		name      string
		opts      Options
		hosts     []string
		roles     []string
		primary   string
		wantError string
	}{
		{name: "all", hosts: []string{"1.1.1.1", "1.1.1.2", "1.1.1.4", "1.1.1.3", "1.1.1.5"},
			roles: []string{"web", "jobs", "workers"}, primary: "1.1.1.1"},
		{name: "host wildcard", opts: Options{Hosts: []string{"1.1.1.[23]"}},
			hosts: []string{"1.1.1.2", "1.1.1.3"}, roles: []string{"web", "workers"}, primary: "1.1.1.2"},
		{name: "role", opts: Options{Roles: []string{"workers"}},
			hosts: []string{"1.1.1.1", "1.1.1.3"}, roles: []string{"workers"}, primary: "1.1.1.3"},
		{name: "role wildcard", opts: Options{Roles: []string{"w*"}},
			hosts: []string{"1.1.1.1", "1.1.1.2", "1.1.1.3"}, roles: []string{"web", "workers"}, primary: "1.1.1.1"},
		{name: "roles and hosts", opts: Options{Roles: []string{"workers"}, Hosts: []string{"1.1.1.1"}},
			hosts: []string{"1.1.1.1"}, roles: []string{"workers"}, primary: "1.1.1.1"},
		{name: "primary", opts: Options{Primary: true},
			hosts: []string{"1.1.1.1"}, roles: []string{"web", "workers"}, primary: "1.1.1.1"},
		{name: "primary of role", opts: Options{Primary: true, Roles: []string{"jobs"}},
			hosts: []string{"1.1.1.4"}, roles: []string{"jobs"}, primary: "1.1.1.4"},
		{name: "accessory host", opts: Options{Hosts: []string{"1.1.1.5"}},
			hosts: []string{"1.1.1.5"}, roles: nil, primary: "1.1.1.5"},
		{name: "no host match", opts: Options{Hosts: []string{"9.9.9.9", "8.*"}}, wantError: "No --hosts match for 9.9.9.9,8.*"},
		{name: "no role match", opts: Options{Roles: []string{"db*"}}, wantError: "No --roles match for db*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Stdout = &bytes.Buffer{}
			k, err := New(cfg, tt.opts)
			if tt.wantError != "" {
				if err == nil || err.Error() != tt.wantError {
					t.Fatalf("err = %v, want %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Hosts(); !slices.Equal(got, tt.hosts) {
				t.Errorf("hosts = %v, want %v", got, tt.hosts)
			}
			if got := roleNames(k.Roles()); !slices.Equal(got, tt.roles) {
				t.Errorf("roles = %v, want %v", got, tt.roles)
			}
			if got := k.PrimaryHost(); got != tt.primary {
				t.Errorf("primary = %q, want %q", got, tt.primary)
			}
		})
	}
}

func TestKamalLockEnvMeansHeld(t *testing.T) {
	cfg := loadConfig(t, multiYAML)
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == "KAMAL_LOCK" {
				return v, true
			}
			return "", false
		}
	}
	k, _ := New(cfg, Options{Stdout: &bytes.Buffer{}, LookupEnv: env("true")})
	if !k.HoldingLock() {
		t.Error("KAMAL_LOCK=true: not holding the lock")
	}
	k, _ = New(cfg, Options{Stdout: &bytes.Buffer{}, LookupEnv: env("false")})
	if k.HoldingLock() {
		t.Error("KAMAL_LOCK=false: holding the lock")
	}
}

func TestSSHOptionsResolveKeyDataAndRedact(t *testing.T) {
	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets")
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\\n-----END OPENSSH PRIVATE KEY-----"
	if err := os.WriteFile(secretsFile, []byte("SSH_KEY=\""+key+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, multiYAML+"secrets_path: "+secretsFile+"\nssh:\n  user: deploy\n  port: 2222\n  key_data: [SSH_KEY]\n  keys_only: true\n  config: false\nsshkit:\n  max_concurrent_starts: 5\n  pool_idle_timeout: 60\n")
	var out bytes.Buffer
	k, err := New(cfg, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	o, err := k.SSHOptions()
	if err != nil {
		t.Fatal(err)
	}
	if o.User != "deploy" || o.Port != 2222 || !o.KeysOnly || o.UseConfig || o.MaxConcurrentStarts != 5 || o.PoolIdleTimeout.Seconds() != 60 {
		t.Errorf("options = %+v", o)
	}
	if len(o.KeyData) != 1 || !strings.Contains(o.KeyData[0], "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW") {
		t.Fatalf("key data = %q", o.KeyData)
	}
	k.Say("leak: %s", o.KeyData[0])
	if strings.Contains(out.String(), "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW") {
		t.Errorf("key data printed: %s", out.String())
	}
}
