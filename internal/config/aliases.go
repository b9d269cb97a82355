package config

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The aliases section: `kamal <alias>` runs the command line it names.

var aliasNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// BuiltinCommands are the top-level kamal commands an alias may not shadow.
// The cli package may extend it at init time.
var BuiltinCommands = []string{
	"accessory", "app", "audit", "build", "config", "deploy", "details", "docs", "help", "init",
	"lock", "proxy", "prune", "redeploy", "registry", "remove", "rollback", "secrets", "server",
	"setup", "upgrade", "version",
}

func (v *validator) validateAliases(n *rubyyaml.Node) {
	if n == nil || n.Kind != rubyyaml.Map {
		return
	}
	for _, name := range n.Keys {
		v.withContext("aliases/"+name, func() { v.validateAlias(name, n.Vals[name]) })
	}
}

func (v *validator) validateAlias(name string, n *rubyyaml.Node) {
	v.validateType(n, "string")
	if !aliasNameRE.MatchString(name) {
		v.fail(n, fmt.Sprintf("Invalid alias name: '%s'. Must only contain lowercase letters, alphanumeric, hyphens and underscores.", name))
	}
	if slices.Contains(BuiltinCommands, name) {
		v.fail(n, fmt.Sprintf("Alias '%s' conflicts with a built-in command.", name))
	}
}

func buildAliases(n *rubyyaml.Node) map[string]string {
	aliases := map[string]string{}
	if n != nil && n.Kind == rubyyaml.Map {
		for _, name := range n.Keys {
			aliases[name] = n.Vals[name].Text()
		}
	}
	return aliases
}

// Alias returns the command line of alias name, if the raw config has one.
func (r *RawConfig) Alias(name string) (string, bool) {
	a := r.root.Get("aliases")
	if a == nil || a.Kind != rubyyaml.Map {
		return "", false
	}
	v, ok := a.Vals[name]
	if !ok || !stringish(v) {
		return "", false
	}
	return v.Text(), true
}
