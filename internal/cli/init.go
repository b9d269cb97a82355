package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func newInitCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create a starter config/deploy.yml, .kamal/secrets and sample hooks",
		Long: "Create config/deploy.yml, .kamal/secrets and sample hooks in .kamal/hooks.\n" +
			"Existing files are never overwritten.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.initProject(".") },
	}
}

// initProject writes the starter files under dir, skipping any that exist.
func (a *App) initProject(dir string) error {
	deploy := filepath.Join(dir, "config", "deploy.yml")
	if exists(deploy) {
		fmt.Fprintln(a.Stdout, "Config file already exists in config/deploy.yml (remove first to create a new one)")
	} else {
		if err := writeNew(deploy, starterDeploy, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout, "Created configuration file in config/deploy.yml")
	}

	secretsFile := filepath.Join(dir, ".kamal", "secrets")
	if !exists(secretsFile) {
		if err := writeNew(secretsFile, starterSecrets, 0o600); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout, "Created .kamal/secrets file")
	}

	hooks := filepath.Join(dir, ".kamal", "hooks")
	if !exists(hooks) {
		if err := os.MkdirAll(hooks, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", hooks, err)
		}
		for _, h := range sampleHooks {
			if err := writeNew(filepath.Join(hooks, h.name+".sample"), hookScript(h), 0o755); err != nil {
				return err
			}
		}
		fmt.Fprintln(a.Stdout, "Created sample hooks in .kamal/hooks")
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

// writeNew creates path (and its folder) only if it does not exist yet.
func writeNew(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Chmod is not subject to the umask, so hooks end up executable.
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}

const starterDeploy = `# Deploy configuration. Run ` + "`kamal docs`" + ` for every option,
# ` + "`kamal docs <section>`" + ` for one section, and ` + "`kamal config`" + ` to see the result.

# Name of the app; containers are called <service>-<role>-<version>.
service: my-app

# Image to build and deploy (without the registry host).
image: my-user/my-app

# Hosts to deploy to. A plain list puts every host in the "web" role.
servers:
  web:
    - 192.168.0.1
  # job:
  #   hosts:
  #     - 192.168.0.1
  #   cmd: bin/jobs

# kamal-proxy sits in front of the web role and switches traffic to a new
# container once it answers its health check (GET /up by default).
proxy:
  ssl: true
  host: app.example.com
  # app_port: 3000

# Where images are pushed. The password names a secret from .kamal/secrets.
registry:
  # server: registry.example.com
  username: my-user
  password:
    - KAMAL_REGISTRY_PASSWORD

# Image build settings.
builder:
  arch: amd64
  # remote: ssh://docker@builder.example.com

# Environment of the app containers. Secret values come from .kamal/secrets.
env:
  secret:
    - RAILS_MASTER_KEY
  # clear:
  #   DB_HOST: 192.168.0.2

# Shortcuts: ` + "`kamal console`" + ` runs the command below.
# aliases:
#   console: app exec --interactive --reuse "bin/rails console"

# Persistent storage for the app containers.
# volumes:
#   - "app_storage:/app/storage"

# Serve fingerprinted assets of the previous and the new version during a deploy.
# asset_path: /app/public/assets

# Services next to the app, booted with ` + "`kamal accessory boot <name>`" + `.
# accessories:
#   db:
#     image: postgres:16
#     host: 192.168.0.2
#     port: "127.0.0.1:5432:5432"
#     env:
#       secret:
#         - POSTGRES_PASSWORD
#     directories:
#       - data:/var/lib/postgresql/data
`

const starterSecrets = `# Secrets for the deploy, in dotenv syntax. Read by kamal on the machine you
# deploy from; values are sent to the hosts in env files, never in commands.
# Do not commit real secret values: fetch them from the environment, a
# command, or a password manager instead.

# 1. From an environment variable of the shell running kamal:
KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD

# 2. From the output of a command:
RAILS_MASTER_KEY=$(cat config/master.key)

# 3. From a password manager, through a vault adapter:
# SECRETS=$(kamal secrets fetch --adapter 1password --account my-account --from Vault/Item KAMAL_REGISTRY_PASSWORD RAILS_MASTER_KEY)
# KAMAL_REGISTRY_PASSWORD=$(kamal secrets extract KAMAL_REGISTRY_PASSWORD $SECRETS)
# RAILS_MASTER_KEY=$(kamal secrets extract RAILS_MASTER_KEY $SECRETS)
`

type sampleHook struct{ name, when string }

var sampleHooks = []sampleHook{
	{"docker-setup", "after Docker has been installed on the hosts by `kamal server bootstrap`"},
	{"post-app-boot", "after each group of hosts has booted the new app containers"},
	{"post-deploy", "after a deploy, redeploy or rollback has finished"},
	{"post-proxy-reboot", "after kamal-proxy has been rebooted on a group of hosts"},
	{"pre-app-boot", "before each group of hosts boots the new app containers"},
	{"pre-build", "before the image is built; a failing hook stops the build"},
	{"pre-connect", "before kamal first connects to the hosts"},
	{"pre-deploy", "before a deploy, redeploy or rollback starts; a failing hook stops it"},
	{"pre-proxy-reboot", "before kamal-proxy is rebooted on a group of hosts"},
}

func hookScript(h sampleHook) string {
	return fmt.Sprintf(`#!/bin/sh

# Sample %[1]s hook. Rename this file to %[1]s to enable it.
#
# Runs on this machine %[2]s.
# A non-zero exit status aborts the command.
#
# Available environment (among others):
#   KAMAL_SERVICE          service name
#   KAMAL_VERSION          version being deployed
#   KAMAL_HOSTS            comma-separated hosts the command targets
#   KAMAL_DESTINATION      destination, when -d is used
#   KAMAL_PERFORMER        who runs the command
#   KAMAL_COMMAND          the kamal command, e.g. deploy
#   KAMAL_SUBCOMMAND       the subcommand, if any
#   KAMAL_RECORDED_AT      UTC timestamp

echo "%[1]s: $KAMAL_SERVICE $KAMAL_VERSION on $KAMAL_HOSTS"
`, h.name, h.when)
}
