package config

import (
	"fmt"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// Each section declares its keys as a schema, as Kamal does with its
// documentation examples: the example value of a key decides the accepted
// type. Keys are kept in documentation order.

type stype int

const (
	tString      stype = iota // string, symbol, number or boolean
	tInt                      // integer
	tBool                     // true/false
	tSection                  // "...": a hash validated by its own section rules
	tServers                  // "..." for servers: array or hash
	tStringArray              // array of strings
	tHash                     // nested hash validated against fields
	tAnyHash                  // options/args: any hash
	tLabels                   // hash of strings
	tSSL                      // bool or hash
	tHooksOutput              // string/symbol or hash of them
	tHosts                    // list of "host" or {host: tag|[tags]}
	tArch                     // string or array of strings
	tSSHConfig                // bool, string or array of strings
	tPaths                    // list of strings or {local, remote, mode, owner, options}
)

type field struct {
	name   string
	typ    stype
	fields []field // for tHash
}

func f(name string, t stype) field { return field{name: name, typ: t} }

func h(name string, fields ...field) field { return field{name: name, typ: tHash, fields: fields} }

func lookupField(fields []field, name string) (field, bool) {
	for _, fl := range fields {
		if fl.name == name {
			return fl, true
		}
	}
	return field{}, false
}

// validator walks the parsed tree with a context path
// ("servers/web/hosts") that prefixes its messages, failing on the first
// problem like Kamal does.
type validator struct {
	ctx []string
}

func (v *validator) context() string { return strings.Join(v.ctx, "/") }

func (v *validator) with(key string, fn func()) {
	if key == "" {
		fn()
		return
	}
	v.ctx = append(v.ctx, key)
	defer func() { v.ctx = v.ctx[:len(v.ctx)-1] }()
	fn()
}

// withContext runs fn with a fresh context (section validators start at
// their own path, e.g. "servers/web/env").
func (v *validator) withContext(ctx string, fn func()) {
	old := v.ctx
	v.ctx = nil
	if ctx != "" {
		v.ctx = strings.Split(ctx, "/")
	}
	defer func() { v.ctx = old }()
	fn()
}

func (v *validator) fail(n *rubyyaml.Node, msg string) {
	if c := v.context(); c != "" {
		msg = c + ": " + msg
	}
	panic(checkFailed{errorAt(n, msg, KindConfiguration)})
}

var typeNames = map[string]string{
	"string": "a string", "integer": "an integer", "array": "an array",
	"hash": "a hash", "boolean": "a boolean", "symbol": "a symbol",
}

func (v *validator) typeError(n *rubyyaml.Node, types ...string) {
	descs := make([]string, 0, len(types))
	seen := map[string]bool{}
	for _, t := range types {
		d := typeNames[t]
		if !seen[d] {
			seen[d] = true
			descs = append(descs, d)
		}
	}
	v.fail(n, "should be "+strings.Join(descs, " or "))
}

// stringish reports whether Kamal's validator accepts n where a string is
// expected: strings, symbols, numbers and booleans.
func stringish(n *rubyyaml.Node) bool {
	switch n.Kind {
	case rubyyaml.String, rubyyaml.Symbol, rubyyaml.Int, rubyyaml.Float, rubyyaml.Bool:
		return true
	}
	return false
}

func isType(n *rubyyaml.Node, t string) bool {
	if n == nil {
		return false
	}
	switch t {
	case "string":
		return stringish(n)
	case "integer":
		return n.Kind == rubyyaml.Int
	case "boolean":
		return n.Kind == rubyyaml.Bool
	case "hash":
		return n.Kind == rubyyaml.Map
	case "array":
		return n.Kind == rubyyaml.Seq
	case "symbol":
		return n.Kind == rubyyaml.Symbol
	}
	return false
}

func (v *validator) validateType(n *rubyyaml.Node, types ...string) {
	for _, t := range types {
		if isType(n, t) {
			return
		}
	}
	v.typeError(n, types...)
}

func (v *validator) validateArrayOf(n *rubyyaml.Node, t string) {
	v.validateType(n, "array")
	for i, item := range n.Items {
		v.with(fmt.Sprint(i), func() { v.validateType(item, t) })
	}
}

func (v *validator) validateHashOf(n *rubyyaml.Node, t string) {
	v.validateType(n, "hash")
	for _, k := range n.Keys {
		v.with(k, func() { v.validateType(n.Vals[k], t) })
	}
}

// checkKeys fails on the keys of n that allowed rejects, naming them all.
func (v *validator) checkKeys(n *rubyyaml.Node, allowed func(key string) bool) {
	var unknown []string
	var first *rubyyaml.Node
	for _, k := range n.Keys {
		if allowed(k) {
			continue
		}
		if first == nil {
			first = n.KeyNodes[k]
		}
		unknown = append(unknown, k)
	}
	switch len(unknown) {
	case 0:
	case 1:
		v.fail(first, "unknown key: "+unknown[0])
	default:
		v.fail(first, "unknown keys: "+strings.Join(unknown, ", "))
	}
}

// validateAgainst checks a hash against the schema fields; allowExtensions
// lets `x-` keys through (the root only).
func (v *validator) validateAgainst(n *rubyyaml.Node, fields []field, allowExtensions bool) {
	v.validateType(n, "hash")
	v.checkKeys(n, func(k string) bool {
		_, ok := lookupField(fields, k)
		return ok || (allowExtensions && strings.HasPrefix(k, "x-"))
	})
	for _, k := range n.Keys {
		if strings.HasPrefix(k, "x-") {
			continue
		}
		fl, _ := lookupField(fields, k)
		val := n.Vals[k]
		v.with(k, func() { v.validateField(fl, val) })
	}
}

func (v *validator) validateField(fl field, val *rubyyaml.Node) {
	switch fl.typ {
	case tString:
		v.validateType(val, "string")
	case tInt:
		v.validateType(val, "integer")
	case tBool:
		v.validateType(val, "boolean")
	case tSection:
		if fl.name == "proxy" && val.Kind == rubyyaml.Bool {
			return
		}
		v.validateType(val, "hash")
	case tServers:
		v.validateType(val, "array", "hash")
	case tStringArray:
		v.validateArrayOf(val, "string")
	case tHash:
		v.validateAgainst(val, fl.fields, false)
	case tAnyHash:
		v.validateType(val, "hash")
	case tLabels:
		v.validateHashOf(val, "string")
	case tSSL:
		v.validateType(val, "boolean", "hash")
	case tHooksOutput:
		if val.Kind == rubyyaml.Map {
			for _, k := range val.Keys {
				v.with(k, func() { v.validateType(val.Vals[k], "string", "symbol") })
			}
		} else {
			v.validateType(val, "string", "symbol")
		}
	case tHosts:
		v.validateHosts(val)
	case tArch:
		if val.Kind == rubyyaml.Seq {
			for _, item := range val.Items {
				if !stringish(item) {
					v.typeError(val, "array", "string")
				}
			}
		} else if !stringish(val) {
			v.typeError(val, "array", "string")
		}
	case tSSHConfig:
		switch {
		case val.Kind == rubyyaml.Seq:
			v.validateArrayOf(val, "string")
		case val.Kind == rubyyaml.Bool || val.Kind == rubyyaml.String:
		default:
			v.typeError(val, "boolean", "string", "array")
		}
	case tPaths:
		v.validatePaths(val)
	}
}
