package config

import (
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The registry section (root or accessory): where images are pushed and
// pulled, and the credentials for it. A server of localhost:PORT is a local
// registry that Kamal runs and forwards to the hosts over SSH.

// Registry is the registry section (root or accessory).
type Registry struct {
	Server    string
	Username  Value
	Password  Value
	Local     bool // server is localhost:<port>: a local registry is run and port-forwarded
	LocalPort int  // the port of a local registry
}

// Value is a registry credential: a literal, or the name of a secret (given
// in the config as a one-element list).
type Value struct {
	Literal string
	Secret  string // secret name when set
}

// IsSecret reports whether the value comes from a secret.
func (v Value) IsSecret() bool { return v.Secret != "" }

// IsZero reports whether nothing was configured.
func (v Value) IsZero() bool { return v.Literal == "" && v.Secret == "" }

// Resolve returns the literal, or the secret looked up with lookup.
func (v Value) Resolve(lookup func(name string) (string, error)) (string, error) {
	if v.Secret == "" {
		return v.Literal, nil
	}
	return lookup(v.Secret)
}

// username and password are checked separately (string or [SECRET]).
var registrySchema = []field{
	f("server", tString),
}

// validateRegistry checks a registry section; username and password are
// required unless the registry is a local one (localhost:PORT).
func (v *validator) validateRegistry(n *rubyyaml.Node) {
	filtered := &rubyyaml.Node{Kind: rubyyaml.Map, File: n.File, Line: n.Line}
	if n.Kind == rubyyaml.Map {
		for _, k := range n.Keys {
			if k != "username" && k != "password" {
				filtered.Set(k, n.KeyNodes[k], n.Vals[k])
			}
		}
	} else {
		filtered = n
	}
	v.validateAgainst(filtered, registrySchema, false)
	local := isLocalRegistry(n.Get("server"))
	for _, key := range []string{"username", "password"} {
		v.with(key, func() {
			if local {
				return
			}
			val := n.Get(key)
			if !val.Present() {
				at := val
				if at == nil {
					at = n
				}
				v.fail(at, "is required")
			}
			ok := val.Kind == rubyyaml.String || val.Kind == rubyyaml.Symbol ||
				(val.Kind == rubyyaml.Seq && len(val.Items) == 1 && (val.Items[0].Kind == rubyyaml.String || val.Items[0].Kind == rubyyaml.Symbol))
			if !ok {
				v.fail(val, "should be a string or an array with one string (for secret lookup)")
			}
		})
	}
}

func isLocalRegistry(server *rubyyaml.Node) bool {
	if server == nil || (server.Kind != rubyyaml.String && server.Kind != rubyyaml.Symbol) {
		return false
	}
	return strings.HasPrefix(server.Str, "localhost:") || strings.HasPrefix(server.Str, "localhost$")
}

func buildRegistry(n *rubyyaml.Node) Registry {
	r := Registry{Server: n.Get("server").Text()}
	r.Username = credential(n.Get("username"))
	r.Password = credential(n.Get("password"))
	if isLocalRegistry(n.Get("server")) {
		r.Local = true
		_, port, _ := strings.Cut(r.Server, ":")
		r.LocalPort, _ = strconv.Atoi(port)
	}
	return r
}

func credential(n *rubyyaml.Node) Value {
	if n == nil {
		return Value{}
	}
	if n.Kind == rubyyaml.Seq {
		if len(n.Items) > 0 {
			return Value{Secret: n.Items[0].Text()}
		}
		return Value{}
	}
	return Value{Literal: n.Text()}
}
