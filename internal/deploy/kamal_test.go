package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/remote"
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
	if !k.holdsLock() {
		t.Error("KAMAL_LOCK=true: not holding the lock")
	}
	k, _ = New(cfg, Options{Stdout: &bytes.Buffer{}, LookupEnv: env("false")})
	if k.holdsLock() {
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

// TestSSHOptionsFromConfig checks every ssh and sshkit key reaches the
// pool's options.
func TestSSHOptionsFromConfig(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(o remote.SSHOptions) bool
	}{
		{"defaults", "", func(o remote.SSHOptions) bool {
			return o.User == "root" && o.Port == 22 && o.UseConfig && o.ConfigFiles == nil && !o.ForwardAgent && !o.KeysOnly &&
				o.LogLevel == "fatal" && o.MaxConcurrentStarts == 30 && o.PoolIdleTimeout == 900*time.Second && o.DNSRetries == 3
		}},
		{"config false", "ssh:\n  config: false\n", func(o remote.SSHOptions) bool { return !o.UseConfig }},
		{"config true", "ssh:\n  config: true\n", func(o remote.SSHOptions) bool { return o.UseConfig && o.ConfigFiles == nil }},
		{"config path", "ssh:\n  config: ~/ssh/kamal.conf\n", func(o remote.SSHOptions) bool {
			return o.UseConfig && slices.Equal(o.ConfigFiles, []string{"~/ssh/kamal.conf"})
		}},
		{"config paths", "ssh:\n  config: [a.conf, b.conf]\n", func(o remote.SSHOptions) bool {
			return o.UseConfig && slices.Equal(o.ConfigFiles, []string{"a.conf", "b.conf"})
		}},
		{"proxy", "ssh:\n  proxy: deploy@bastion:2200\n", func(o remote.SSHOptions) bool { return o.Proxy == "deploy@bastion:2200" }},
		{"proxy_command", "ssh:\n  proxy_command: \"ssh -W %h:%p bastion\"\n", func(o remote.SSHOptions) bool {
			return o.ProxyCommand == "ssh -W %h:%p bastion"
		}},
		{"keys", "ssh:\n  keys: [~/.ssh/a, /k/b]\n  keys_only: true\n", func(o remote.SSHOptions) bool {
			return slices.Equal(o.Keys, []string{"~/.ssh/a", "/k/b"}) && o.KeysOnly
		}},
		{"log_level", "ssh:\n  log_level: debug\n", func(o remote.SSHOptions) bool { return o.LogLevel == "debug" }},
		{"forward_agent", "ssh:\n  forward_agent: true\n", func(o remote.SSHOptions) bool { return o.ForwardAgent }},
		{"sshkit", "sshkit:\n  max_concurrent_starts: 4\n  pool_idle_timeout: 15\n  dns_retries: 6\n", func(o remote.SSHOptions) bool {
			return o.MaxConcurrentStarts == 4 && o.PoolIdleTimeout == 15*time.Second && o.DNSRetries == 6
		}},
		{"dns_retries 0 means none", "sshkit:\n  dns_retries: 0\n", func(o remote.SSHOptions) bool { return o.DNSRetries < 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := New(loadConfig(t, multiYAML+tt.yaml), Options{Stdout: &bytes.Buffer{}})
			if err != nil {
				t.Fatal(err)
			}
			o, err := k.SSHOptions()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Errorf("options = %+v", o)
			}
		})
	}
}
