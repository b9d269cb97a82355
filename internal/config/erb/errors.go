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

// exceptionClasses are the Ruby exception classes raise accepts.
var exceptionClasses = map[string]bool{
	"StandardError": true, "RuntimeError": true, "ArgumentError": true, "KeyError": true,
	"NameError": true, "NoMethodError": true, "TypeError": true, "IndexError": true,
	"RangeError": true, "ZeroDivisionError": true, "NotImplementedError": true, "IOError": true,
	"FloatDomainError": true, "FrozenError": true, "SecurityError": true, "Exception": true,
}
