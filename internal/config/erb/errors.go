package erb

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Error is what Render returns when a template cannot be rendered: Ruby
// code that raised, or code outside the supported subset. Class is the
// Ruby exception class Kamal would report (NoMethodError, KeyError ...).
type Error struct {
	File    string
	Line    int
	Class   string // "" for code outside the subset
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message) }

// Kind is the class kamal prints in its `ERROR (<Class>)` line. Code
// outside the subset, and Ruby's plain raise, are RuntimeErrors.
func (e *Error) Kind() string {
	if e.Class == "" {
		return "RuntimeError"
	}
	return e.Class
}

// rubyError is an exception raised while evaluating, at a template line.
type rubyError struct {
	line  int
	class string
	msg   string
}

func (e *rubyError) Error() string { return fmt.Sprintf("line %d: %s (%s)", e.line, e.msg, e.class) }

// raiseAt raises an exception of a Ruby class at n's line.
func raiseAt(n node, class, format string, args ...any) error {
	return &rubyError{line: n.pos().line, class: class, msg: fmt.Sprintf(format, args...)}
}

// errAt raises a RuntimeError, Ruby's class for a plain `raise "message"`.
func errAt(n node, format string, args ...any) error {
	return raiseAt(n, "RuntimeError", format, args...)
}

func typeErr(n node, format string, args ...any) error {
	return raiseAt(n, "TypeError", format, args...)
}

func argErr(n node, format string, args ...any) error {
	return raiseAt(n, "ArgumentError", format, args...)
}

// limitErr stops a render that does too much work or builds too much
// text. Like code outside the subset, it is not a Ruby exception: rescue
// does not catch it.
func limitErr(n node, format string, args ...any) error {
	return &rubyError{line: n.pos().line, msg: fmt.Sprintf(format, args...)}
}

// unsupported reports code outside the subset.
func unsupported(n node) error {
	return &rubyError{line: n.pos().line, msg: "unsupported Ruby in ERB: " + snippetOf(n.pos().src)}
}

func isUnsupported(err error) bool {
	var re *rubyError
	return errors.As(err, &re) && re.class == "" && strings.HasPrefix(re.msg, "unsupported Ruby")
}

// fileErr raises a file error as Ruby's Errno classes word it.
func fileErr(n node, err error, path string) error {
	class := "IOError"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		class = "Errno::ENOENT"
	case errors.Is(err, fs.ErrPermission):
		class = "Errno::EACCES"
	case isDirErr(err):
		class = "Errno::EISDIR"
	}
	return raiseAt(n, class, "%s", fileError(err, path))
}

// exceptionParents gives each exception class its superclass, for
// rescue: StandardError catches what Ruby's StandardError catches.
var exceptionParents = map[string]string{
	"NoMemoryError": "Exception", "ScriptError": "Exception", "NotImplementedError": "ScriptError",
	"SecurityError": "Exception", "SystemExit": "Exception", "SystemStackError": "Exception",
	"StandardError": "Exception", "ArgumentError": "StandardError", "Date::Error": "ArgumentError",
	"EncodingError": "StandardError", "FiberError": "StandardError", "IOError": "StandardError",
	"IndexError": "StandardError", "KeyError": "IndexError", "StopIteration": "IndexError",
	"LocalJumpError": "StandardError", "NameError": "StandardError", "NoMethodError": "NameError",
	"RangeError": "StandardError", "FloatDomainError": "RangeError", "RegexpError": "StandardError",
	"RuntimeError": "StandardError", "FrozenError": "RuntimeError", "SystemCallError": "StandardError",
	"ThreadError": "StandardError", "TypeError": "StandardError", "ZeroDivisionError": "StandardError",
	"Errno::ENOENT": "SystemCallError", "Errno::EACCES": "SystemCallError", "Errno::EISDIR": "SystemCallError",
	"JSON::JSONError": "StandardError", "JSON::ParserError": "JSON::JSONError", "JSON::GeneratorError": "JSON::JSONError",
	"Psych::Exception": "RuntimeError", "Psych::SyntaxError": "Psych::Exception", "Psych::DisallowedClass": "Psych::Exception",
	"URI::Error": "StandardError", "URI::InvalidURIError": "URI::Error",
}

// exceptionClasses are the exception classes known by name.
var exceptionClasses = func() map[string]bool {
	m := map[string]bool{"Exception": true}
	for k := range exceptionParents {
		m[k] = true
	}
	return m
}()

// exceptionIsA reports whether class is target or inherits from it.
func exceptionIsA(class, target string) bool {
	for c := class; c != ""; c = exceptionParents[c] {
		if c == target {
			return true
		}
	}
	return false
}

// exception is a Ruby exception object: what rescue => e binds, and what
// SomeError.new("message") makes.
type exception struct {
	class, msg string
}

func (e *exception) inspect() string {
	if e.msg == "" || e.msg == e.class {
		return e.class
	}
	return "#<" + e.class + ": " + e.msg + ">"
}

func exceptionMethod(e *exception, name string, args []Value, n node) (Value, error) {
	if len(args) != 0 {
		return nil, unsupported(n)
	}
	switch name {
	case "message", "to_s", "full_message", "detailed_message":
		return e.msg, nil
	case "inspect":
		return e.inspect(), nil
	case "class":
		return module(e.class), nil
	case "backtrace", "cause":
		return nil, nil
	}
	return nil, unsupported(n)
}

// rescue runs a begin/rescue/else/ensure.
func (ev *evaluator) rescue(r *rescueNode, sc *scope) (Value, error) {
	v, err := ev.eval(r.body, sc)
	var re *rubyError
	switch {
	case err == nil:
		if r.els != nil {
			v, err = ev.eval(r.els, sc)
		}
	case errors.As(err, &re) && re.class != "":
		for _, c := range r.clauses {
			ok, merr := ev.rescues(c, re.class, sc)
			if merr != nil {
				v, err = nil, merr
				break
			}
			if !ok {
				continue
			}
			exc := &exception{class: re.class, msg: re.msg}
			if c.bind != nil {
				sc.assign(c.bind.name, exc, c.bind.up)
			}
			saved := ev.current
			ev.current = exc
			v, err = ev.eval(c.body, sc)
			ev.current = saved
			break
		}
	}
	if r.ensure != nil {
		if _, eerr := ev.eval(r.ensure, sc); eerr != nil {
			return nil, eerr
		}
	}
	return v, err
}

// rescues reports whether a rescue clause catches an exception class.
func (ev *evaluator) rescues(c rescueClause, class string, sc *scope) (bool, error) {
	if len(c.classes) == 0 {
		return exceptionIsA(class, "StandardError"), nil
	}
	for _, cn := range c.classes {
		v, err := ev.eval(cn, sc)
		if err != nil {
			return false, err
		}
		targets := []Value{v}
		if a, ok := v.(*Array); ok {
			targets = a.elems
		}
		for _, t := range targets {
			m, ok := t.(module)
			if !ok || !exceptionClasses[string(m)] {
				return false, typeErr(cn, "class or module required for rescue clause")
			}
			if exceptionIsA(class, string(m)) {
				return true, nil
			}
		}
	}
	return false, nil
}
