package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalHead = "service: app\nimage: dhh/app\nregistry: {username: dhh, password: [PW]}\nbuilder: {arch: amd64}\n"

func TestValidationMessages(t *testing.T) {
	tests := []struct {
		name string
		yml  string
		want string
		kind string
	}{
		// root keys and types
		{"unknown key", baseYAML + "foo: 1\n", "unknown key: foo", ""},
		{"unknown keys", baseYAML + "foo: 1\nbar: 2\n", "unknown keys: foo, bar", ""},
		{"x- only at root", strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  x-a: 1", 1), "builder: unknown key: x-a", ""},
		{"string type", strings.Replace(baseYAML, "service: app", "service: [app]", 1), "service: should be a string", ""},
		{"integer type", baseYAML + "deploy_timeout: \"10\"\n", "deploy_timeout: should be an integer", ""},
		{"boolean type", baseYAML + "require_destination: maybe\n", "require_destination: should be a boolean", ""},
		{"section type", baseYAML + "ssh: root\n", "ssh: should be a hash", ""},
		{"volumes array", baseYAML + "volumes: /a:/b\n", "volumes: should be an array", ""},
		{"volumes items", baseYAML + "volumes: [[a]]\n", "volumes/0: should be a string", ""},
		{"labels values", baseYAML + "labels: {a: [b]}\n", "labels/a: should be a string", ""},
		{"root labels reserved", baseYAML + "labels: {service: x}\n", "labels/service: invalid label. destination, role, and service are reserved labels", ""},

		// servers and roles
		{"servers type", minimalHead + "servers: web1\n", "servers: should be an array or a hash", ""},
		{"servers item type", minimalHead + "servers: [[a]]\n", "servers/0: should be a string or a hash", ""},
		{"multiple hosts", minimalHead + "servers: [{a: x, b: y}]\n", "servers/0: multiple hosts found", ""},
		{"role type", minimalHead + "servers: {web: host1}\n", "servers/web: should be an array or a hash", ""},
		{"role hosts type", minimalHead + "servers:\n  web:\n    hosts: 1.1.1.1\n", "servers/web/hosts: should be an array", ""},
		{"host tags type", minimalHead + "servers:\n  web:\n    - 1.1.1.1: {a: b}\n", "servers/web/0/1.1.1.1: should be a string or an array", ""},
		{"host tag items", minimalHead + "servers:\n  web:\n    - 1.1.1.1: [[a]]\n", "servers/web/0/1.1.1.1/0: should be a string", ""},
		{"role unknown key", minimalHead + "servers:\n  web:\n    hosts: [a]\n    foo: 1\n", "servers/web: unknown key: foo", ""},
		{"role labels reserved", minimalHead + "servers:\n  web:\n    hosts: [a]\n    labels: {role: x}\n", "servers/web/labels/role: invalid label. destination, role, and service are reserved labels", ""},
		{"restart policy", minimalHead + "servers:\n  web:\n    hosts: [a]\n    options: {restart: sometimes}\n", "servers/web/options/restart: should be no, always, unless-stopped, on-failure, or on-failure:N", ""},
		{"restart policy type", minimalHead + "servers:\n  web:\n    hosts: [a]\n    options: {restart: 5}\n", `servers/web/options/restart: should be a string. Use "no" to disable restarts`, ""},
		{"role stop_timeout", minimalHead + "servers:\n  web:\n    hosts: [a]\n    stop_timeout: soon\n", "servers/web/stop_timeout: should be an integer", ""},
		{"role env tags", minimalHead + "servers:\n  web:\n    hosts: [a]\n    env: {tags: {x: {A: b}}}\n", "servers/web/env: tags are only allowed in the root env", ""},
		{"role proxy unknown", minimalHead + "servers:\n  web:\n    hosts: [a]\n    proxy: {foo: 1}\n", "servers/web/proxy: unknown key: foo", ""},
		{"role logging unknown", minimalHead + "servers:\n  web:\n    hosts: [a]\n    logging: {foo: 1}\n", "servers/web/logging: unknown key: foo", ""},

		// env
		{"env value type", baseYAML + "env: {A: [1]}\n", "env/A: should be a string", ""},
		{"env nil value", baseYAML + "env: {A: }\n", "env/A: should be a string", ""},
		{"env clear value", baseYAML + "env: {clear: {A: [1]}}\n", "env/clear/A: should be a string", ""},
		{"env secret type", baseYAML + "env: {secret: FOO}\n", "env/secret: should be an array", ""},
		{"env unknown", baseYAML + "env: {clear: {}, foo: 1}\n", "env: unknown key: foo", ""},
		{"env tag type", baseYAML + "env: {tags: {x: [a]}}\n", "env/tags/x: should be a hash", ""},
		{"env nested tags", baseYAML + "env: {tags: {x: {tags: {y: {A: b}}}}}\n", "env/tags/x: tags are only allowed in the root env", ""},

		// registry
		{"registry username", "service: app\nimage: a\nservers: [a]\nbuilder: {arch: amd64}\nregistry: {password: [X]}\n", "registry/username: is required", ""},
		{"registry missing", "service: app\nimage: a\nservers: [a]\nbuilder: {arch: amd64}\n", "registry/username: is required", ""},
		{"registry password shape", "service: app\nimage: a\nservers: [a]\nbuilder: {arch: amd64}\nregistry: {username: u, password: [X, Y]}\n", "registry/password: should be a string or an array with one string (for secret lookup)", ""},
		{"registry unknown", "service: app\nimage: a\nservers: [a]\nbuilder: {arch: amd64}\nregistry: {username: u, password: p, foo: 1}\n", "registry: unknown key: foo", ""},

		// builder
		{"builder arch not set", strings.Replace(baseYAML, "arch: amd64", "dockerfile: Dockerfile", 1), "builder: Builder arch not set", ""},
		{"builder missing", strings.Replace(baseYAML, "builder:\n  arch: amd64\n", "", 1), "builder: Builder arch not set", ""},
		{"builder arch type", strings.Replace(baseYAML, "arch: amd64", "arch: {a: 1}", 1), "builder/arch: should be an array or a string", ""},
		{"builder cache type", strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  cache: {type: s3}", 1), "builder: Invalid cache type: s3", ""},
		{"builder local false", strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  local: false", 1), "builder: Cannot disable local builds, no remote is set", ""},
		{"builder args type", strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  args: [a]", 1), "builder/args: should be a hash", ""},
		{"builder secrets items", strings.Replace(baseYAML, "arch: amd64", "arch: amd64\n  secrets: [[a]]", 1), "builder/secrets/0: should be a string", ""},

		// ssh, sshkit, boot, logging, output
		{"ssh config type", baseYAML + "ssh: {config: 1}\n", "ssh/config: should be a boolean or a string or an array", ""},
		{"ssh unknown", baseYAML + "ssh: {usr: app}\n", "ssh: unknown key: usr", ""},
		{"ssh port", baseYAML + "ssh: {port: http}\n", "ssh/port: should be a port number", ""},
		{"sshkit type", baseYAML + "sshkit: {max_concurrent_starts: many}\n", "sshkit/max_concurrent_starts: should be an integer", ""},
		{"boot limit", baseYAML + "boot: {limit: some}\n", "boot/limit: should be a number of hosts (N) or a percentage of hosts (N%)", ""},
		{"boot limit zero", baseYAML + "boot: {limit: 0}\n", "boot/limit: should be a number of hosts (N) or a percentage of hosts (N%)", ""},
		{"boot wait", baseYAML + "boot: {wait: later}\n", "boot/wait: should be an integer", ""},
		{"logging unknown", baseYAML + "logging: {foo: 1}\n", "logging: unknown key: foo", ""},
		{"logging options", baseYAML + "logging: {options: x}\n", "logging/options: should be a hash", ""},
		{"output unknown", baseYAML + "output: {otel: {url: x}}\n", "output/otel: unknown key: url", ""},

		// proxy
		{"proxy bool at root", baseYAML + "proxy: true\n", "proxy: should be a hash", ""},
		{"proxy ssl no host", baseYAML + "proxy: {ssl: true}\n", "proxy: Must set a host to enable automatic SSL", ""},
		{"proxy host and hosts", baseYAML + "proxy: {host: a, hosts: [b]}\n", "proxy: Specify one of 'host' or 'hosts', not both", ""},
		{"proxy ssl type", baseYAML + "proxy: {host: a, ssl: yes please}\n", "proxy/ssl: should be a boolean or a hash", ""},
		{"proxy ssl key missing", baseYAML + "proxy: {host: a, ssl: {certificate_pem: CERT}}\n", "proxy/ssl: Missing private_key_pem setting (required when certificate_pem is present)", ""},
		{"proxy ssl cert missing", baseYAML + "proxy: {host: a, ssl: {private_key_pem: KEY}}\n", "proxy/ssl: Missing certificate_pem setting (required when private_key_pem is present)", ""},
		{"proxy ssl unknown", baseYAML + "proxy: {host: a, ssl: {cert: C}}\n", "proxy/ssl: unknown key: cert", ""},
		{"proxy healthcheck", baseYAML + "proxy: {healthcheck: {interval: fast}}\n", "proxy/healthcheck/interval: should be an integer", ""},
		{"proxy buffering", baseYAML + "proxy: {buffering: {requests: sometimes}}\n", "proxy/buffering/requests: should be a boolean", ""},
		{"proxy logging", baseYAML + "proxy: {logging: {request_headers: X-A}}\n", "proxy/logging/request_headers: should be an array", ""},
		{"proxy run publish", baseYAML + "proxy: {run: {publish: false, http_port: 8080}}\n", "proxy/run: Cannot set http_port, https_port or bind_ips when publish is false", ""},
		{"proxy run unknown", baseYAML + "proxy: {run: {port: 1}}\n", "proxy/run: unknown key: port", ""},
		{"proxy path prefixes", baseYAML + "proxy: {path_prefix: /a, path_prefixes: [/b]}\n", "proxy: Specify one of 'path_prefix' or 'path_prefixes', not both", ""},

		// accessories
		{"accessory hosts", baseYAML + "accessories:\n  db:\n    image: mysql\n", "accessories/db: specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`", ""},
		{"accessory two targets", baseYAML + "accessories:\n  db:\n    image: mysql\n    host: a\n    role: web\n", "accessories/db: specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`", ""},
		{"accessory unknown", baseYAML + "accessories:\n  db:\n    host: a\n    ports: [1]\n", "accessories/db: unknown key: ports", ""},
		{"accessory labels", baseYAML + "accessories:\n  db:\n    host: a\n    labels: {service: x}\n", "accessories/db/labels/service: invalid label. destination, role, and service are reserved labels", ""},
		{"accessory restart", baseYAML + "accessories:\n  db:\n    host: a\n    options: {restart: never}\n", "accessories/db/options/restart: should be no, always, unless-stopped, on-failure, or on-failure:N", ""},
		{"accessory files", baseYAML + "accessories:\n  db:\n    host: a\n    files: [{local: [a]}]\n", "accessories/db/files/0/local: should be a string", ""},
		{"accessory files item", baseYAML + "accessories:\n  db:\n    host: a\n    directories: [[a]]\n", "accessories/db/directories/0: should be a string or a hash", ""},
		{"accessory env", baseYAML + "accessories:\n  db:\n    host: a\n    env: {tags: {}}\n", "accessories/db/env: tags are only allowed in the root env", ""},
		{"accessory registry", baseYAML + "accessories:\n  db:\n    host: a\n    registry: {server: ghcr.io}\n", "accessories/db/registry/username: is required", ""},
		{"accessory null", baseYAML + "accessories:\n  db:\n", "accessories/db: should be a hash", ""},
		{"accessories null", baseYAML + "accessories:\n", "accessories: should be a hash", ""},
		{"role proxy string", minimalHead + "servers:\n  web: {hosts: [a], proxy: yes please}\n", "servers/web/proxy: should be a hash", ""},
		{"root proxy false", baseYAML + "proxy: false\n", "proxy: should be a hash", ""},
		{"proxy healthcheck null", baseYAML + "proxy: {healthcheck: }\n", "proxy/healthcheck: should be a hash", ""},
		{"empty servers hash", minimalHead + "servers: {}\n", "The primary_role web isn't defined", ""},
		{"empty servers list", minimalHead + "servers: []\n", "No servers specified for the web primary_role", ""},
		{"accessory unknown role", baseYAML + "accessories:\n  db:\n    role: nope\n", "accessories/db: unknown role nope", ""},
		// Ours: names that reach paths and rm -rf on the servers.
		{"accessory service with ..", baseYAML + "accessories:\n  db:\n    host: a\n    service: ../home\n",
			`accessories/db: Accessory service name can only include alphanumeric characters, hyphens, underscores, and periods, and must start with a letter or digit (not ".."), got "../home"`, ""},
		{"accessory service with a slash", baseYAML + "accessories:\n  db:\n    host: a\n    service: /srv\n",
			`accessories/db: Accessory service name can only include alphanumeric characters, hyphens, underscores, and periods, and must start with a letter or digit (not ".."), got "/srv"`, ""},
		{"accessory service with a leading hyphen", baseYAML + "accessories:\n  db:\n    host: a\n    service: -rf\n",
			`accessories/db: Accessory service name can only include alphanumeric characters, hyphens, underscores, and periods, and must start with a letter or digit (not ".."), got "-rf"`, ""},
		{"accessory name with ..", baseYAML + "accessories:\n  a..b:\n    host: a\n",
			`accessories/a..b: Accessory name can only include alphanumeric characters, hyphens, underscores, and periods, and must start with a letter or digit (not ".."), got "a..b"`, ""},
		{"accessory name with a slash", baseYAML + "accessories:\n  x/y:\n    host: a\n",
			`accessories/x/y: Accessory name can only include alphanumeric characters, hyphens, underscores, and periods, and must start with a letter or digit (not ".."), got "x/y"`, ""},
		{"accessory unknown roles", baseYAML + "accessories:\n  db:\n    roles: [web, nope, gone]\n", "accessories/db: unknown roles nope, gone", ""},
		{"accessory proxy", baseYAML + "accessories:\n  db:\n    host: a\n    proxy: {ssl: true}\n", "accessories/db/proxy: Must set a host to enable automatic SSL", ""},

		// aliases and hooks_output
		{"alias name", baseYAML + "aliases: {Console: app exec}\n", "aliases/Console: Invalid alias name: 'Console'. Must only contain lowercase letters, alphanumeric, hyphens and underscores.", ""},
		{"alias builtin", baseYAML + "aliases: {deploy: app exec}\n", "aliases/deploy: Alias 'deploy' conflicts with a built-in command.", ""},
		{"alias type", baseYAML + "aliases: {console: [app]}\n", "aliases/console: should be a string", ""},
		{"hooks_output level", baseYAML + "hooks_output: loud\n", "Invalid hooks_output 'loud', must be one of: quiet, verbose", ""},
		{"hooks_output hook level", baseYAML + "hooks_output: {pre-deploy: loud}\n", "Invalid hooks_output 'loud' for hook 'pre-deploy', must be one of: quiet, verbose", ""},
		{"hooks_output type", baseYAML + "hooks_output: [quiet]\n", "hooks_output: should be a string or a symbol", ""},

		// checks after validation
		{"service required", strings.Replace(baseYAML, "service: app\n", "", 1), "Missing required configuration for service", ""},
		{"image required", strings.Replace(baseYAML, "image: dhh/app\n", "", 1), "Missing required configuration for image", ""},
		// Kamal validates the registry section eagerly (an absent one as {}),
		// so its "Missing required configuration for registry" never shows.
		{"registry required", strings.Replace(baseYAML, "registry:\n  username: dhh\n  password: [KAMAL_REGISTRY_PASSWORD]\n", "", 1), "registry/username: is required", ""},
		{"registry empty", strings.Replace(baseYAML, "registry:\n  username: dhh\n  password: [KAMAL_REGISTRY_PASSWORD]\n", "registry: {}\n", 1), "registry/username: is required", ""},
		{"no servers", minimalHead, "No servers or accessories specified", ""},
		{"primary role", baseYAML + "primary_role: api\n", "The primary_role api isn't defined", ""},
		{"primary role empty", minimalHead + "servers: {web: []}\n", "No servers specified for the web primary_role", ""},
		{"empty role", minimalHead + "servers: {web: [a], workers: []}\n", "No servers specified for the workers role. You can ignore this with allow_empty_roles: true", ""},
		{"retain", baseYAML + "retain_containers: 0\n", "Must retain at least 1 container", ""},
		{"service name", strings.Replace(baseYAML, "service: app", "service: my app", 1), "Service name can only include alphanumeric characters, hyphens, and underscores", ""},
		{"service name with a leading hyphen", strings.Replace(baseYAML, "service: app", "service: -app", 1), `Service name can't start with a hyphen, got "-app"`, ""},
		{"minimum version", baseYAML + "minimum_version: 99.0\n", "Current version is 2.12.0, minimum required is 99.0", ""},
		{"minimum version malformed", baseYAML + "minimum_version: latest\n", "Malformed version number string latest", KindArgument},
		{"ssl single host", baseYAML + "proxy: {host: a.example.com, ssl: true}\n", "SSL is only supported on a single server unless you provide custom certificates, found 2 servers for role web", ""},
		{"ssl shared host", minimalHead + "servers:\n  web: [a]\n  api: {hosts: [b], proxy: {host: x.com, ssl: true}}\nproxy: {host: x.com, ssl: true}\n", "Different roles can't share the same host for SSL: x.com", ""},
		{"proxy run conflict", minimalHead + "servers:\n  web: {hosts: [a], proxy: {run: {http_port: 8081}}}\n  api: {hosts: [a], proxy: {run: {http_port: 8080}}}\n", "Conflicting proxy run configurations for host a", ""},
		// the arch that is not this machine's, so the remote builder builds it
		{"local registry remote builder", "service: app\nservers: [a]\nregistry: {server: localhost:5000}\nbuilder: {arch: " + otherArch() + ", remote: tcp://builder:2375}\n", "Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)", ""},
		{"require destination", baseYAML + "require_destination: true\n", "You must specify a destination", KindArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yml, "", "")
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			if ce.Message != tt.want {
				t.Errorf("message\n got: %s\nwant: %s", ce.Message, tt.want)
			}
			kind := tt.kind
			if kind == "" {
				kind = KindConfiguration
			}
			if ce.Kind() != kind {
				t.Errorf("kind %s, want %s", ce.Kind(), kind)
			}
		})
	}
}

// otherArch is an arch this machine does not build locally.
func otherArch() string {
	if LocalArch() == "amd64" {
		return "arm64"
	}
	return "amd64"
}

func TestValidConfigsLoad(t *testing.T) {
	tests := map[string]string{
		"base":                    baseYAML,
		"x- keys at root":         baseYAML + "x-shared: &shared {a: 1}\n",
		"empty roles ok":          minimalHead + "allow_empty_roles: true\nservers: {web: [a], workers: []}\n",
		"local registry":          "service: app\nservers: [a]\nregistry: {server: localhost:5555}\nbuilder: {arch: amd64}\n",
		"accessories only":        minimalHead + "accessories: {db: {image: mysql, host: a}}\n",
		"proxy true on role":      minimalHead + "servers:\n  web: [a]\n  api: {hosts: [b], proxy: true}\n",
		"primary without proxy":   minimalHead + "servers:\n  web: {hosts: [a, b], proxy: false}\nproxy: {host: x, ssl: true}\n",
		"custom certs many hosts": baseYAML + "proxy: {host: a.example.com, ssl: {certificate_pem: C, private_key_pem: K}}\n",
		"symbols and numbers":     baseYAML + "hooks_output: :quiet\nssh:\n  port: \"2222\"\n  log_level: :debug\nlabels: {a: 1, b: true}\n",
		"restart on-failure":      minimalHead + "servers:\n  web: {hosts: [a], options: {restart: on-failure:3}}\n",
		"minimum version ok":      baseYAML + "minimum_version: 2.3.0\n",
		"boot percent":            baseYAML + "boot: {limit: 25%, wait: 2, parallel_roles: true}\n",
		"boot number":             baseYAML + "boot: {limit: 2}\n",
		"same proxy run":          minimalHead + "servers:\n  web: {hosts: [a], proxy: {run: {http_port: 8080}}}\n  api: {hosts: [a], proxy: {run: {http_port: 8080}}}\n",
	}
	for name, yml := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := loadYAML(t, yml, "", ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestErrorPosition(t *testing.T) {
	yml := minimalHead + "servers:\n  web:\n    hosts: 1.1.1.1\n"
	_, err := loadYAML(t, yml, "", "")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v", err)
	}
	if ce.Line != 7 || !strings.HasSuffix(ce.File, "config/deploy.yml") {
		t.Errorf("position %s:%d, want config/deploy.yml:7", ce.File, ce.Line)
	}
	if !strings.HasSuffix(err.Error(), "config/deploy.yml:7: servers/web/hosts: should be an array") {
		t.Errorf("Error() = %q", err.Error())
	}

	// unknown keys point at the key
	_, err = loadYAML(t, baseYAML+"\n\nfoo: 1\n", "", "")
	if !errors.As(err, &ce) || ce.Line != 15 {
		t.Errorf("unknown key line: %v", err)
	}

	// errors in the destination file name that file
	_, err = loadYAML(t, baseYAML, "staging", "servers:\n  web:\n    hosts: oops\n")
	if !errors.As(err, &ce) || !strings.HasSuffix(ce.File, "config/deploy.staging.yml") || ce.Line != 3 {
		t.Errorf("destination position: %v", err)
	}
}

func TestTraefikHooks(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"config/deploy.yml":         baseYAML + "hooks_path: HOOKS\n",
		"hooks/pre-traefik-reboot":  "#!/bin/sh\n",
		"hooks/post-traefik-reboot": "#!/bin/sh\n",
	})
	yml := strings.Replace(baseYAML+"hooks_path: HOOKS\n", "HOOKS", filepath.Join(dir, "hooks"), 1)
	if err := os.WriteFile(filepath.Join(dir, "config/deploy.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(LoadOptions{ConfigFile: filepath.Join(dir, "config/deploy.yml"), Version: "1", LookupEnv: envOf(nil)})
	want := "Found pre-traefik-reboot, post-traefik-reboot, these should be renamed to (pre|post)-proxy-reboot"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}
