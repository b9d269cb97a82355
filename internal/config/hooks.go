package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// hooks_path and hooks_output: where hooks live and how much of their
// output is shown.

// DefaultHooksPath is where hooks live when hooks_path is not set.
const DefaultHooksPath = ".kamal/hooks"

// HookOutput returns "quiet", "verbose" or "" (default) for hook name.
func (c *Config) HookOutput(name string) string {
	if v, ok := c.HooksOutput[name]; ok {
		return v
	}
	return c.HooksOutput["*"]
}

// buildHooksOutput maps hook names to levels; "*" holds a single level
// given for all hooks.
func buildHooksOutput(n *rubyyaml.Node) map[string]string {
	out := map[string]string{}
	switch {
	case n == nil:
	case n.Kind == rubyyaml.Map:
		for _, k := range n.Keys {
			out[k] = n.Vals[k].Text()
		}
	case !n.IsNull():
		out["*"] = n.Text()
	}
	return out
}

// checkHooksOutput accepts only the levels quiet and verbose.
func (c *Config) checkHooksOutput() {
	ho := c.root.Get("hooks_output")
	check := func(level, hook string) {
		if level == "quiet" || level == "verbose" {
			return
		}
		ctx := ""
		if hook != "" {
			ctx = fmt.Sprintf(" for hook '%s'", hook)
		}
		raise(ho, KindConfiguration, "Invalid hooks_output '%s'%s, must be one of: quiet, verbose", level, ctx)
	}
	switch {
	case ho == nil:
	case ho.Kind == rubyyaml.Map:
		for _, k := range ho.Keys {
			check(ho.Vals[k].Text(), k)
		}
	case !ho.IsNull():
		check(ho.Text(), "")
	}
}

// checkTraefikHooks rejects hooks named for Traefik, Kamal 1's proxy.
func (c *Config) checkTraefikHooks() {
	var traefik []string
	for _, h := range []string{"pre-traefik-reboot", "post-traefik-reboot"} {
		if _, err := os.Stat(filepath.Join(c.HooksPath, h)); err == nil {
			traefik = append(traefik, h)
		}
	}
	if len(traefik) > 0 {
		raise(nil, KindConfiguration, "Found %s, these should be renamed to (pre|post)-proxy-reboot", strings.Join(traefik, ", "))
	}
}
