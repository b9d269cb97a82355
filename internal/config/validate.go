package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Error kinds, named as the Ruby exception classes Kamal reports
// (`ERROR (Kamal::ConfigurationError): ...`).
const (
	KindConfiguration = "Kamal::ConfigurationError"
	KindArgument      = "ArgumentError"
	KindRuntime       = "RuntimeError"
)

// Error is a configuration error: Kamal's message, and the file and line
// where our YAML parser knows the offending value.
type Error struct {
	File    string
	Line    int
	Message string // e.g. "servers/web/hosts: should be an array"
	kind    string
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Message)
	}
	return e.Message
}

// Kind is the Ruby exception class Kamal would raise.
func (e *Error) Kind() string {
	if e.kind == "" {
		return KindConfiguration
	}
	return e.kind
}

// validator walks a node tree with a context path ("servers/web/hosts"),
// failing on the first problem like Kamal does.
type validator struct {
	ctx []string
}

type validationPanic struct{ err *Error }

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

func (v *validator) fail(n *node, msg string) {
	if c := v.context(); c != "" {
		msg = c + ": " + msg
	}
	panic(validationPanic{errorAt(n, msg, KindConfiguration)})
}

func errorAt(n *node, msg, kind string) *Error {
	e := &Error{Message: msg, kind: kind}
	if n != nil {
		e.File, e.Line = n.file, n.line
	}
	return e
}

// raise fails with a message that has no context prefix (the ensure_* checks).
func raise(n *node, kind, format string, args ...any) {
	panic(validationPanic{errorAt(n, fmt.Sprintf(format, args...), kind)})
}

var typeNames = map[string]string{
	"string": "a string", "integer": "an integer", "array": "an array",
	"hash": "a hash", "boolean": "a boolean", "symbol": "a symbol",
}

func (v *validator) typeError(n *node, types ...string) {
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

func isType(n *node, t string) bool {
	if n == nil {
		return false
	}
	switch t {
	case "string":
		return n.stringish()
	case "integer":
		return n.kind == kindInt
	case "boolean":
		return n.kind == kindBool
	case "hash":
		return n.kind == kindMap
	case "array":
		return n.kind == kindSeq
	case "symbol":
		return n.kind == kindSymbol
	}
	return false
}

func (v *validator) validateType(n *node, types ...string) {
	for _, t := range types {
		if isType(n, t) {
			return
		}
	}
	v.typeError(n, types...)
}

func (v *validator) validateArrayOf(n *node, t string) {
	v.validateType(n, "array")
	for i, item := range n.seq {
		v.with(fmt.Sprint(i), func() { v.validateType(item, t) })
	}
}

func (v *validator) validateHashOf(n *node, t string) {
	v.validateType(n, "hash")
	for _, k := range n.keys {
		v.with(k, func() { v.validateType(n.vals[k], t) })
	}
}

func (v *validator) checkUnknownKeys(n *node, fields []field, allowExtensions bool) {
	var unknown []string
	var first *node
	for _, k := range n.keys {
		if _, ok := lookupField(fields, k); ok {
			continue
		}
		if allowExtensions && strings.HasPrefix(k, "x-") {
			continue
		}
		if first == nil {
			first = n.knod[k]
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

// validateAgainst checks a hash against the schema fields.
func (v *validator) validateAgainst(n *node, fields []field, allowExtensions bool) {
	v.validateType(n, "hash")
	v.checkUnknownKeys(n, fields, allowExtensions)
	for _, k := range n.keys {
		if strings.HasPrefix(k, "x-") {
			continue
		}
		fl, _ := lookupField(fields, k)
		val := n.vals[k]
		v.with(k, func() { v.validateField(fl, val) })
	}
}

func (v *validator) validateField(fl field, val *node) {
	switch fl.typ {
	case tString:
		v.validateType(val, "string")
	case tInt:
		v.validateType(val, "integer")
	case tBool:
		v.validateType(val, "boolean")
	case tSection:
		if fl.name == "proxy" && val.kind == kindBool {
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
		if val.kind == kindMap {
			for _, k := range val.keys {
				v.with(k, func() { v.validateType(val.vals[k], "string", "symbol") })
			}
		} else {
			v.validateType(val, "string", "symbol")
		}
	case tHosts:
		v.validateServers(val)
	case tArch:
		if val.kind == kindSeq {
			for _, item := range val.seq {
				if !item.stringish() {
					v.typeError(val, "array", "string")
				}
			}
		} else if !val.stringish() {
			v.typeError(val, "array", "string")
		}
	case tSSHConfig:
		switch {
		case val.kind == kindSeq:
			v.validateArrayOf(val, "string")
		case val.kind == kindBool || val.kind == kindString:
		default:
			v.typeError(val, "boolean", "string", "array")
		}
	case tPaths:
		v.validateType(val, "array")
		for i, item := range val.seq {
			v.with(fmt.Sprint(i), func() {
				v.validateType(item, "string", "hash")
				if item.kind == kindMap {
					for _, k := range []string{"local", "remote", "mode", "owner", "options"} {
						if item.has(k) {
							v.with(k, func() { v.validateType(item.get(k), "string") })
						}
					}
				}
			})
		}
	}
}

// validateServers checks a host list: "host" or {host: tag | [tags]}.
func (v *validator) validateServers(n *node) {
	v.validateType(n, "array")
	for i, server := range n.seq {
		v.with(fmt.Sprint(i), func() {
			v.validateType(server, "string", "hash")
			if server.kind == kindMap {
				if len(server.keys) != 1 {
					v.fail(server, "multiple hosts found")
				}
				host := server.keys[0]
				tags := server.vals[host]
				v.with(host, func() {
					v.validateType(tags, "string", "array")
					if tags.kind == kindSeq {
						v.validateArrayOf(tags, "string")
					}
				})
			}
		})
	}
}

func (v *validator) validateLabels(labels *node) {
	if !labels.present() || labels.kind != kindMap {
		return
	}
	v.with("labels", func() {
		for _, k := range labels.keys {
			v.with(k, func() {
				switch k {
				case "destination", "role", "service":
					v.fail(labels.knod[k], "invalid label. destination, role, and service are reserved labels")
				}
			})
		}
	})
}

var restartPolicyRE = regexp.MustCompile(`^(?:no|always|unless-stopped|on-failure(?::\d+)?)$`)

func (v *validator) validateDockerOptions(options *node) {
	if options == nil || options.kind != kindMap {
		return
	}
	restart := options.get("restart")
	if restart == nil {
		return
	}
	v.with("options", func() {
		v.with("restart", func() {
			if restart.kind != kindString && restart.kind != kindSymbol {
				v.fail(restart, `should be a string. Use "no" to disable restarts`)
			}
			if !restartPolicyRE.MatchString(restart.str) {
				v.fail(restart, "should be no, always, unless-stopped, on-failure, or on-failure:N")
			}
		})
	})
}

// validateEnv checks an env section: a plain hash of strings, or
// clear/secret/tags (tags only in the root env).
func (v *validator) validateEnv(n *node, root bool) {
	v.validateType(n, "hash")
	complex := n.has("clear") || n.has("secret") || n.has("tags")
	if !complex {
		v.validateHashOf(n, "string")
		return
	}
	var unknown []string
	var first *node
	for _, k := range n.keys {
		if k != "clear" && k != "secret" && k != "tags" {
			if first == nil {
				first = n.knod[k]
			}
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 1 {
		v.fail(first, "unknown key: "+unknown[0])
	} else if len(unknown) > 1 {
		v.fail(first, "unknown keys: "+strings.Join(unknown, ", "))
	}
	if n.has("clear") {
		v.with("clear", func() { v.validateHashOf(n.get("clear"), "string") })
	}
	if n.has("secret") {
		v.with("secret", func() { v.validateArrayOf(n.get("secret"), "string") })
	}
	if n.has("tags") {
		if !root {
			v.fail(n.knod["tags"], "tags are only allowed in the root env")
		}
		tags := n.get("tags")
		v.with("tags", func() {
			v.validateType(tags, "hash")
			for _, tag := range tags.keys {
				v.with(tag, func() {
					v.validateType(tags.vals[tag], "hash")
					v.validateEnv(tags.vals[tag], false)
				})
			}
		})
	}
}

// validateProxy checks a proxy section (root, role or accessory).
func (v *validator) validateProxy(n *node) {
	if n.isNull() {
		return
	}
	v.validateAgainst(n, proxySchema, false)
	ssl := n.get("ssl")
	if ssl != nil && ssl.kind == kindMap {
		v.with("ssl", func() {
			v.validateAgainst(ssl, sslSchema, false)
			if ssl.get("certificate_pem").present() && !ssl.get("private_key_pem").present() {
				v.fail(ssl, "Missing private_key_pem setting (required when certificate_pem is present)")
			}
			if ssl.get("private_key_pem").present() && !ssl.get("certificate_pem").present() {
				v.fail(ssl, "Missing certificate_pem setting (required when private_key_pem is present)")
			}
		})
	}
	if !n.get("host").present() && !n.get("hosts").present() && ssl.present() {
		v.fail(ssl, "Must set a host to enable automatic SSL")
	}
	if n.has("host") && n.has("hosts") {
		v.fail(n.knod["hosts"], "Specify one of 'host' or 'hosts', not both")
	}
	if n.has("path_prefix") && n.has("path_prefixes") {
		v.fail(n.knod["path_prefixes"], "Specify one of 'path_prefix' or 'path_prefixes', not both")
	}
	if run := n.get("run"); run != nil && run.kind == kindMap {
		if p := run.get("publish"); p != nil && p.kind == kindBool && !p.b {
			if run.has("http_port") || run.has("https_port") || run.has("bind_ips") {
				v.with("run", func() { v.fail(run, "Cannot set http_port, https_port or bind_ips when publish is false") })
			}
		}
	}
}

// validateRegistry checks a registry section; username and password are
// required unless the registry is a local one (localhost:PORT).
func (v *validator) validateRegistry(n *node) {
	filtered := &node{kind: kindMap, file: n.file, line: n.line}
	if n.kind == kindMap {
		for _, k := range n.keys {
			if k != "username" && k != "password" {
				filtered.set(k, n.knod[k], n.vals[k])
			}
		}
	} else {
		filtered = n
	}
	v.validateAgainst(filtered, registrySchema, false)
	local := isLocalRegistry(n.get("server"))
	for _, key := range []string{"username", "password"} {
		v.with(key, func() {
			if local {
				return
			}
			val := n.get(key)
			if !val.present() {
				at := val
				if at == nil {
					at = n
				}
				v.fail(at, "is required")
			}
			ok := val.kind == kindString || val.kind == kindSymbol ||
				(val.kind == kindSeq && len(val.seq) == 1 && (val.seq[0].kind == kindString || val.seq[0].kind == kindSymbol))
			if !ok {
				v.fail(val, "should be a string or an array with one string (for secret lookup)")
			}
		})
	}
}

func isLocalRegistry(server *node) bool {
	if server == nil || (server.kind != kindString && server.kind != kindSymbol) {
		return false
	}
	return strings.HasPrefix(server.str, "localhost:") || strings.HasPrefix(server.str, "localhost$")
}

var aliasNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// BuiltinCommands are the top-level kamal commands an alias may not shadow.
// The cli package may extend it at init time.
var BuiltinCommands = []string{
	"accessory", "app", "audit", "build", "config", "deploy", "details", "docs", "help", "init",
	"lock", "proxy", "prune", "redeploy", "registry", "remove", "rollback", "secrets", "server",
	"setup", "upgrade", "version",
}

func (v *validator) validateAlias(name string, n *node) {
	v.validateType(n, "string")
	if !aliasNameRE.MatchString(name) {
		v.fail(n, fmt.Sprintf("Invalid alias name: '%s'. Must only contain lowercase letters, alphanumeric, hyphens and underscores.", name))
	}
	for _, c := range BuiltinCommands {
		if c == name {
			v.fail(n, fmt.Sprintf("Alias '%s' conflicts with a built-in command.", name))
		}
	}
}

var bootLimitRE = regexp.MustCompile(`^(?:[1-9][0-9]*|[0-9]+%)$`)

func (v *validator) validateBoot(n *node) {
	v.validateAgainst(n, bootSchema, false)
	if l := n.get("limit"); l != nil {
		v.with("limit", func() {
			if !bootLimitRE.MatchString(l.text()) {
				v.fail(l, "should be a number of hosts (N) or a percentage of hosts (N%)")
			}
		})
	}
}

func (v *validator) validateBuilder(n *node) {
	v.validateAgainst(n, builderSchema, false)
	if cache := n.get("cache"); cache != nil && cache.kind == kindMap {
		if t := cache.get("type"); t.present() {
			if s := t.text(); s != "gha" && s != "registry" {
				v.fail(t, "Invalid cache type: "+s)
			}
		}
	}
	if !n.get("arch").present() {
		v.fail(n, "Builder arch not set")
	}
	if l := n.get("local"); l != nil && l.kind == kindBool && !l.b && !n.get("remote").present() {
		v.fail(l, "Cannot disable local builds, no remote is set")
	}
}

func (v *validator) validateAccessory(n *node) {
	v.validateAgainst(n, accessorySchema, false)
	count := 0
	for _, k := range []string{"host", "hosts", "role", "roles", "tag", "tags"} {
		if n.has(k) {
			count++
		}
	}
	if count != 1 {
		v.fail(n, "specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
	}
	if n.has("labels") {
		v.validateLabels(n.get("labels"))
	}
	v.validateDockerOptions(n.get("options"))
}

func (v *validator) validateRole(n *node) {
	v.validateType(n, "array", "hash")
	if n.kind == kindMap && n.has("labels") {
		v.validateLabels(n.get("labels"))
	}
	if n.kind == kindSeq {
		v.validateServers(n)
		return
	}
	v.validateAgainst(n, roleSchema, false)
	v.validateDockerOptions(n.get("options"))
}
