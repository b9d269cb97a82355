package config

import (
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The env section (root, role or accessory): a hash of clear values, or
// clear/secret/tags (tags only in the root env).

// Env is an env section: clear values, secret names, and (root only) tags.
type Env struct {
	Clear      map[string]string
	ClearOrder []string    // keys of Clear in order
	Secrets    []SecretRef // in order
	Tags       map[string]Env
	TagsOrder  []string
}

// SecretRef names an env var filled from a secret: NAME, or NAME:KEY where
// KEY is the secret to read.
type SecretRef struct{ Name, Key string }

// SecretKey is the name of the secret to look up.
func (s SecretRef) SecretKey() string {
	if s.Key != "" {
		return s.Key
	}
	return s.Name
}

// String gives the config form, NAME or NAME:KEY.
func (s SecretRef) String() string {
	if s.Key != "" {
		return s.Name + ":" + s.Key
	}
	return s.Name
}

// Merge returns e with o over it: clear values merge (o wins, first position
// kept), secrets are a union in order. Tags are not merged.
func (e Env) Merge(o Env) Env {
	out := Env{Clear: map[string]string{}}
	for _, k := range e.ClearOrder {
		out.Clear[k] = e.Clear[k]
		out.ClearOrder = append(out.ClearOrder, k)
	}
	for _, k := range o.ClearOrder {
		if _, ok := out.Clear[k]; !ok {
			out.ClearOrder = append(out.ClearOrder, k)
		}
		out.Clear[k] = o.Clear[k]
	}
	seen := map[string]bool{}
	for _, s := range append(append([]SecretRef{}, e.Secrets...), o.Secrets...) {
		if !seen[s.String()] {
			seen[s.String()] = true
			out.Secrets = append(out.Secrets, s)
		}
	}
	return out
}

func (e Env) withoutTags() Env { e.Tags, e.TagsOrder = nil, nil; return e }

// RoleEnv returns the env of role on host: root env, then the role env, then
// the env of each tag of the host (in the host's tag order), later winning.
func (c *Config) RoleEnv(role *Role, host string) Env {
	env := c.Env.withoutTags().Merge(role.Env)
	for _, tag := range role.HostTags[host] {
		if t, ok := c.Env.Tags[tag]; ok {
			env = env.Merge(t)
		}
	}
	return env
}

func (v *validator) validateRootEnv(n *rubyyaml.Node) {
	if n != nil {
		v.withContext("env", func() { v.validateEnv(n, true) })
	}
}

// validateEnv checks an env section; root says whether tags are allowed.
func (v *validator) validateEnv(n *rubyyaml.Node, root bool) {
	v.validateType(n, "hash")
	complex := n.Has("clear") || n.Has("secret") || n.Has("tags")
	if !complex {
		v.validateHashOf(n, "string")
		return
	}
	v.checkKeys(n, func(k string) bool { return k == "clear" || k == "secret" || k == "tags" })
	if n.Has("clear") {
		v.with("clear", func() { v.validateHashOf(n.Get("clear"), "string") })
	}
	if n.Has("secret") {
		v.with("secret", func() { v.validateArrayOf(n.Get("secret"), "string") })
	}
	if n.Has("tags") {
		if !root {
			v.fail(n.KeyNodes["tags"], "tags are only allowed in the root env")
		}
		tags := n.Get("tags")
		v.with("tags", func() {
			v.validateType(tags, "hash")
			for _, tag := range tags.Keys {
				v.with(tag, func() {
					v.validateType(tags.Vals[tag], "hash")
					v.validateEnv(tags.Vals[tag], false)
				})
			}
		})
	}
}

func buildEnv(n *rubyyaml.Node) Env {
	e := Env{Clear: map[string]string{}}
	if n == nil || n.Kind != rubyyaml.Map {
		return e
	}
	clear := n
	if n.Has("clear") || n.Has("secret") || n.Has("tags") {
		clear = n.Get("clear")
	}
	e.Clear, e.ClearOrder = stringMap(clear)
	for _, s := range stringList(n.Get("secret")) {
		name, key, _ := strings.Cut(s, ":")
		e.Secrets = append(e.Secrets, SecretRef{Name: name, Key: key})
	}
	if tags := n.Get("tags"); tags != nil && tags.Kind == rubyyaml.Map {
		e.Tags = map[string]Env{}
		for _, t := range tags.Keys {
			e.Tags[t] = buildEnv(tags.Vals[t])
			e.TagsOrder = append(e.TagsOrder, t)
		}
	}
	return e
}
