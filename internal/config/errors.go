package config

import (
	"fmt"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
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

// YAMLError is a YAML syntax error with its position.
type YAMLError = rubyyaml.SyntaxError

// errorAt is an Error of kind pointing at n (when known).
func errorAt(n *rubyyaml.Node, msg, kind string) *Error {
	e := &Error{Message: msg, kind: kind}
	if n != nil {
		e.File, e.Line = n.File, n.Line
	}
	return e
}

// checkFailed carries the first problem found up to catchCheck; checks stop
// at the first problem, as Kamal's do.
type checkFailed struct{ err *Error }

// raise fails a check with a message that has no context prefix (Kamal's
// ensure_* checks).
func raise(n *rubyyaml.Node, kind, format string, args ...any) {
	panic(checkFailed{errorAt(n, fmt.Sprintf(format, args...), kind)})
}

// catchCheck turns a raised check failure into *err; use it deferred.
func catchCheck(err *error) {
	if r := recover(); r != nil {
		cf, ok := r.(checkFailed)
		if !ok {
			panic(r)
		}
		*err = cf.err
	}
}
