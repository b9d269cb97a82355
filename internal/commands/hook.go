package commands

import (
	"path/filepath"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// Hooks builds the local commands that run user hooks from hooks_path.
type Hooks struct {
	dir string
}

// NewHooks returns the hook builder for cfg.
func NewHooks(cfg *config.Config) Hooks {
	dir := cfg.HooksPath
	if dir == "" {
		dir = config.DefaultHooksPath
	}
	return Hooks{dir: dir}
}

// File is the path of the hook called name. A path starting with "-" gets
// "./" in front, so that env never reads it as an option (-S splits and
// runs its argument).
func (h Hooks) File(name string) string {
	p := filepath.Join(h.dir, name)
	if strings.HasPrefix(p, "-") {
		p = "./" + p
	}
	return p
}

// Run runs the hook as `/usr/bin/env <path>`, the way Kamal logs it. The
// path is quoted, so a hooks_path with spaces works.
func (h Hooks) Run(name string) Cmd { return New("/usr/bin/env", shell.Quote(h.File(name))) }

// SecretHooks are the hooks that receive every secret in their environment.
var SecretHooks = map[string]bool{"pre-connect": true, "pre-deploy": true, "post-deploy": true}

// HookEnv turns tags into the hook environment: KAMAL_<KEY>=value, keys
// upper-cased, in tag order; tags without a value are left out.
func HookEnv(tags ...Tag) []string {
	env := make([]string, 0, len(tags))
	for _, t := range tags {
		if t.Value == "" {
			continue
		}
		env = append(env, "KAMAL_"+strings.ToUpper(t.Key)+"="+t.Value)
	}
	return env
}
