package erb

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// requirable lists the libraries "require" accepts; their constants are
// always available, as they are in Kamal's process.
var requirable = map[string]bool{
	"json": true, "uri": true, "dotenv": true, "yaml": true, "erb": true, "time": true,
	"socket": true, "dotenv/load": true, "date": true, "securerandom": true, "base64": true,
	"shellwords": true, "digest": true, "digest/md5": true, "digest/sha1": true, "digest/sha2": true,
	"digest/sha256": true, "ostruct": true, "psych": true, "active_support": true,
	"active_support/all": true, "active_support/core_ext": true,
}

// kernel handles calls without a receiver: raise, require, __dir__, URI(),
// Integer(), String(), and undefined names.
func (ev *evaluator) kernel(n *callNode, sc *scope) (Value, error) {
	plain := len(n.args) == 0 && !n.parens && n.block == nil && n.blockSym == ""
	if m, ok := ev.methods[n.name]; ok {
		return ev.callWithBlock(n, sc, func(args []Value, blk *block) (Value, error) {
			return ev.invoke(m, args, blk, n)
		})
	}
	switch n.name {
	case "lambda", "proc":
		if len(n.args) != 0 || n.block == nil {
			return nil, unsupported(n)
		}
		lambda := n.name == "lambda"
		return &Proc{blk: ev.blockOf(n.block, sc, lambda), lambda: lambda, arity: arity(n.block.params, lambda)}, nil
	case "loop":
		if len(n.args) != 0 || n.block == nil {
			return nil, unsupported(n)
		}
		blk := ev.blockOf(n.block, sc, false)
		for {
			if err := ev.tick(n); err != nil {
				return nil, err
			}
			if _, err := blk.fn(nil); err != nil {
				if j, ok := asJump(err, "break"); ok {
					return j.val, nil
				}
				return nil, err
			}
		}
	case "puts", "print", "p", "pp", "warn":
		if n.block != nil {
			return nil, unsupported(n)
		}
		args, err := ev.evalArgs(n.args, sc)
		if err != nil {
			return nil, err
		}
		s := ev.stdout()
		if n.name == "warn" {
			s = ev.stderr()
		}
		return printMethod(s, n.name, args, n)
	case "block_given?":
		for c := sc; c != nil; c = c.parent {
			if c.method {
				return c.block != nil, nil
			}
		}
		return false, nil
	case "__dir__":
		if !plain {
			return nil, unsupported(n)
		}
		// Kamal renders with ERB#result, which evals under the file name
		// "(erb)", so Ruby's __dir__ is File.dirname("(erb)"): "." — paths
		// built on it resolve against the working directory (project root).
		return ".", nil
	case "raise", "fail":
		if n.block != nil {
			return nil, unsupported(n)
		}
		args, err := ev.evalArgs(n.args, sc)
		if err != nil {
			return nil, err
		}
		// Like Ruby's error printer, an empty message reads "unhandled exception".
		raised := func(class, msg string) error {
			if msg == "" {
				msg = "unhandled exception"
			}
			return raiseAt(n, class, "%s", msg)
		}
		switch len(args) {
		case 0:
			if ev.current != nil {
				return nil, raised(ev.current.class, ev.current.msg) // re-raise in a rescue
			}
			return nil, raised("RuntimeError", "")
		case 1, 2:
			if e, ok := args[0].(*exception); ok {
				msg := e.msg
				if len(args) == 2 {
					msg = toS(args[1])
				}
				return nil, raised(e.class, msg)
			}
			m, isClass := args[0].(module)
			switch {
			case isClass && exceptionClasses[string(m)]:
				msg := string(m)
				if len(args) == 2 {
					msg = toS(args[1])
				}
				return nil, raised(string(m), msg)
			case isClass:
				return nil, typeErr(n, "exception class/object expected")
			case len(args) == 1:
				if s, ok := args[0].(string); ok {
					return nil, raised("RuntimeError", s)
				}
				return nil, typeErr(n, "exception class/object expected")
			}
		}
		return nil, unsupported(n)
	case "require":
		if len(n.args) != 1 || n.block != nil {
			return nil, unsupported(n)
		}
		args, err := ev.evalArgs(n.args, sc)
		if err != nil {
			return nil, err
		}
		name, ok := args[0].(string)
		if !ok || !requirable[name] && !strings.HasPrefix(name, "active_support/core_ext/") {
			return nil, unsupported(n)
		}
		if name == "dotenv/load" {
			if _, err := ev.dotenv("load", nil, n); err != nil {
				return nil, err
			}
		}
		return true, nil
	case "format", "sprintf":
		if len(n.args) == 0 || n.block != nil {
			return nil, unsupported(n)
		}
		args, err := ev.evalArgs(n.args, sc)
		if err != nil {
			return nil, err
		}
		f, ok := args[0].(string)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
		}
		return ev.sprintf(f, args[1:], n)
	case "URI", "Integer", "String", "Array", "Float":
		if len(n.args) != 1 || n.block != nil {
			return nil, unsupported(n)
		}
		args, err := ev.evalArgs(n.args, sc)
		if err != nil {
			return nil, err
		}
		switch n.name {
		case "URI":
			return uriParse(args[0], n)
		case "String":
			return toS(args[0]), nil
		case "Array":
			switch x := args[0].(type) {
			case nil:
				return &Array{}, nil
			case *Array:
				return x, nil
			case *Hash:
				return ev.hashMethod(x, "to_a", nil, nil, n)
			}
			return &Array{elems: []Value{args[0]}}, nil
		case "Float":
			f, err := floatArg(args[0], n)
			if err != nil {
				return nil, err
			}
			return f, nil
		}
		switch x := args[0].(type) {
		case int64:
			return x, nil
		case float64:
			return floatToInt(x, n)
		case string:
			// Base prefixes as in Ruby: 0x, 0b, 0o and a leading 0 for octal.
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 0, 64); err == nil {
				return i, nil
			}
			return nil, argErr(n, "invalid value for Integer(): %s", inspectString(x))
		case nil:
			return nil, typeErr(n, "can't convert nil into Integer")
		}
		return nil, unsupported(n)
	}
	if plain && !strings.HasSuffix(n.name, "?") && !strings.HasSuffix(n.name, "!") {
		return nil, raiseAt(n, "NameError", "undefined local variable or method '%s' for main", n.name)
	}
	return nil, unsupported(n)
}

// callWithBlock evaluates a call's arguments and block and runs fn; a
// break in the call's own block ends the call with its value.
func (ev *evaluator) callWithBlock(n *callNode, sc *scope, fn func([]Value, *block) (Value, error)) (Value, error) {
	args, err := ev.evalArgs(n.args, sc)
	if err != nil {
		return nil, err
	}
	blk, err := ev.makeBlock(n, sc)
	if err != nil {
		return nil, err
	}
	v, err := fn(args, blk)
	if j, ok := asJump(err, "break"); ok && n.block != nil {
		return j.val, nil
	}
	return v, err
}

// constant resolves a constant reference.
func (ev *evaluator) constant(n *constNode) (Value, error) {
	if c, ok := ev.consts[n.name]; ok {
		return c.val, nil
	}
	if isClass(n.name) {
		return module(n.name), nil
	}
	switch n.name {
	case "Digest::MD5", "Digest::SHA1", "Digest::SHA2", "Digest::SHA256", "Digest::SHA384", "Digest::SHA512":
		return module(n.name), nil
	case "STDOUT":
		return ev.stdout(), nil
	case "STDERR":
		return ev.stderr(), nil
	case "Float::INFINITY":
		return math.Inf(1), nil
	case "Float::NAN":
		return math.NaN(), nil
	case "Float::EPSILON":
		return 2.220446049250313e-16, nil
	case "Float::MAX":
		return math.MaxFloat64, nil
	case "Float::MIN":
		return 2.2250738585072014e-308, nil
	}
	switch n.name {
	case "ENV", "File", "Dir", "URI", "Dotenv", "JSON", "Time", "Socket", "YAML", "ERB", "Date",
		"Base64", "Shellwords", "SecureRandom", "Digest", "Psych":
		return module(n.name), nil
	case "RUBY_ENGINE":
		return "ruby", nil
	case "RUBY_ENGINE_VERSION", "RUBY_VERSION":
		v, err := ev.findRubyVersion()
		if err != nil {
			return nil, errAt(n, "%s is not known: set RBENV_VERSION or add a .ruby-version file (%v)", n.name, err)
		}
		return v, nil
	case "String", "Integer", "Array", "Hash", "Symbol", "NilClass", "TrueClass", "FalseClass":
		return module(n.name), nil // only useful with is_a?
	}
	if exceptionClasses[n.name] {
		return module(n.name), nil // only useful as raise's first argument
	}
	switch n.name {
	case "String", "Integer", "Array", "Hash", "Symbol", "NilClass", "TrueClass", "FalseClass":
		return module(n.name), nil // only useful with is_a?
	}
	return nil, unsupported(n)
}

// findRubyVersion reads .ruby-version next to the config or one folder
// up (the project root), else asks an installed ruby.
func (ev *evaluator) findRubyVersion() (string, error) {
	if ev.rubyVersion != "" {
		return ev.rubyVersion, nil
	}
	dir := ev.opts.Dir
	if dir == "" {
		dir = "."
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		data, err := os.ReadFile(filepath.Join(d, ".ruby-version"))
		if err != nil {
			continue
		}
		v := strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0])
		v = strings.TrimPrefix(v, "ruby-")
		if v != "" {
			ev.rubyVersion = v
			return v, nil
		}
	}
	path, err := exec.LookPath("ruby")
	if err != nil {
		return "", errors.New("no .ruby-version found and ruby is not installed")
	}
	out, err := exec.Command(path, "-v").Output()
	if err != nil {
		return "", fmt.Errorf("ruby -v: %v", err)
	}
	// "ruby 3.4.1 (2024-12-25 revision 48d4efcb85) +PRISM [x86_64-linux]", or "ruby 2.7.2p137 (...)".
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != "ruby" {
		return "", fmt.Errorf("unexpected output of ruby -v: %q", strings.TrimSpace(string(out)))
	}
	v := f[1]
	if i := strings.IndexByte(v, 'p'); i > 0 {
		v = v[:i]
	}
	ev.rubyVersion = v
	return v, nil
}

// send calls a method on a receiver.
func (ev *evaluator) send(recv Value, name string, args []Value, blk *block, n node) (Value, error) {
	// Methods every object has.
	switch name {
	case "==", "eql?", "equal?":
		if len(args) == 1 {
			return equal(recv, args[0]), nil
		}
	case "nil?":
		if len(args) == 0 {
			return recv == nil, nil
		}
	case "blank?":
		if len(args) == 0 {
			return blank(recv), nil
		}
	case "present?":
		if len(args) == 0 {
			return !blank(recv), nil
		}
	case "presence":
		if len(args) == 0 {
			if blank(recv) {
				return nil, nil
			}
			return recv, nil
		}
	case "inspect":
		if len(args) == 0 {
			return inspect(recv), nil
		}
	case "to_yaml":
		if len(args) == 0 {
			return ev.toYAML(recv, n)
		}
	case "to_json":
		if len(args) == 0 {
			s, err := toJSON(recv)
			if err != nil {
				return nil, raiseAt(n, "JSON::GeneratorError", "%v", err)
			}
			return s, nil
		}
	case "freeze", "dup", "clone", "itself", "then":
		if len(args) == 0 && name != "then" && blk == nil {
			return recv, nil
		}
		if name == "then" && blk != nil && len(args) == 0 {
			return blk.fn([]Value{recv})
		}
	case "class":
		if len(args) == 0 && blk == nil {
			return module(className(recv)), nil
		}
	case "<=>":
		if len(args) == 1 {
			if c, ok := compare(recv, args[0]); ok {
				return int64(c), nil
			}
			if equal(recv, args[0]) {
				return int64(0), nil
			}
			return nil, nil
		}
	case "is_a?", "kind_of?", "instance_of?":
		if len(args) == 1 {
			if m, ok := args[0].(module); ok && isClass(string(m)) {
				if name == "instance_of?" {
					return className(recv) == string(m), nil
				}
				return isA(recv, string(m)), nil
			}
			if m, ok := args[0].(module); ok && exceptionClasses[string(m)] {
				e, isExc := recv.(*exception)
				if name == "instance_of?" {
					return isExc && e.class == string(m), nil
				}
				return isExc && exceptionIsA(e.class, string(m)), nil
			}
			return nil, typeErr(n, "class or module required")
		}
	case "===":
		if len(args) == 1 {
			return ev.caseEq(recv, args[0], n)
		}
	case "<", ">", "<=", ">=", "between?":
		switch recv.(type) {
		case *Time, *Date:
			return comparableMethod(recv, name, args, n)
		}
	}
	switch r := recv.(type) {
	case nil:
		return nilMethod(name, args, blk, n)
	case bool:
		if name == "to_s" && len(args) == 0 {
			return toS(r), nil
		}
		if name == "!" && len(args) == 0 {
			return !r, nil
		}
	case int64, float64:
		return ev.numMethod(r, name, args, blk, n)
	case string:
		return ev.stringMethod(r, name, args, blk, n)
	case Symbol:
		switch name {
		case "to_s", "id2name", "name":
			if len(args) == 0 {
				return string(r), nil
			}
		case "to_sym":
			return r, nil
		case "length", "size", "upcase", "downcase", "start_with?", "end_with?", "empty?":
			v, err := ev.stringMethod(string(r), name, args, blk, n)
			if s, ok := v.(string); ok && err == nil {
				return Symbol(s), nil
			}
			return v, err
		}
	case *Array:
		return ev.arrayMethod(r, name, args, blk, n)
	case *Hash:
		return ev.hashMethod(r, name, args, blk, n)
	case *Regexp:
		switch name {
		case "match?", "=~", "match":
			if len(args) == 1 {
				if s, ok := args[0].(string); ok {
					return ev.stringMethod(s, name, []Value{r}, nil, n)
				}
				if sym, ok := args[0].(Symbol); ok {
					return ev.stringMethod(string(sym), name, []Value{r}, nil, n)
				}
				if args[0] == nil {
					ev.lastMatch = nil
					if name == "match?" {
						return false, nil
					}
					return nil, nil
				}
			}
		case "source":
			return r.src, nil
		case "to_s":
			return nil, unsupported(n)
		case "inspect":
			return inspect(r), nil
		}
	case *Range:
		return ev.rangeMethod(r, name, args, blk, n)
	case *Proc:
		return ev.procMethod(r, name, args, blk, n)
	case *match:
		return matchMethod(r, name, args, n)
	case *URI:
		return uriMethod(r, name, args, n)
	case *Time:
		return timeMethod(r, name, args, n)
	case *Date:
		return dateMethod(r, name, args, n)
	case *processStatus:
		return statusMethod(r, name, args, n)
	case *ioStream:
		return printMethod(r, name, args, n)
	case *OpenStruct:
		return ev.openStructMethod(r, name, args, blk, n)
	case *enumerator:
		return ev.enumeratorMethod(r, name, args, blk, n)
	case *StringInquirer:
		return ev.inquirerMethod(r, name, args, blk, n)
	case *exception:
		return exceptionMethod(r, name, args, n)
	case module:
		return ev.moduleMethod(r, name, args, blk, n)
	}
	return nil, unsupported(n)
}

// nilMethod implements NilClass; anything else is Ruby's NoMethodError,
// since nil's methods are few and known.
func nilMethod(name string, args []Value, blk *block, n node) (Value, error) {
	if len(args) == 0 && blk == nil {
		switch name {
		case "to_s":
			return "", nil
		case "to_a":
			return &Array{}, nil
		case "to_h":
			return newHash(), nil
		case "to_i":
			return int64(0), nil
		case "to_f":
			return 0.0, nil
		case "!":
			return true, nil
		}
	}
	if name == "&" && len(args) == 1 {
		return false, nil
	}
	if name == "|" && len(args) == 1 {
		return truthy(args[0]), nil
	}
	if name == "try" {
		return nil, nil
	}
	return nil, raiseAt(n, "NoMethodError", "undefined method '%s' for nil", name)
}

// coerceName is how Ruby names the operand in "X can't be coerced into Integer".
func coerceName(v Value) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return toS(v)
	}
	return className(v)
}

func (ev *evaluator) tick(n node) error { return ev.charge(1, n) }

// charge counts k steps of work, such as copying k elements.
func (ev *evaluator) charge(k int, n node) error {
	ev.steps += k
	if ev.steps > maxSteps {
		return limitErr(n, "template does too much work (more than %d steps)", maxSteps)
	}
	return nil
}

// contains reports whether list holds v. Each comparison counts against
// the step budget: callers loop over it, which is quadratic.
func (ev *evaluator) contains(list []Value, v Value, n node) (bool, error) {
	for _, o := range list {
		if err := ev.tick(n); err != nil {
			return false, err
		}
		if equal(o, v) {
			return true, nil
		}
	}
	return false, nil
}

func (ev *evaluator) arrayMethod(a *Array, name string, args []Value, blk *block, n node) (Value, error) {
	elems := a.elems
	if blk != nil {
		switch name {
		case "each", "each_with_index", "map", "collect", "select", "filter", "reject", "find", "detect",
			"filter_map", "flat_map", "any?", "all?", "none?", "count", "sum":
			if len(args) != 0 {
				break
			}
			snapshot := append([]Value(nil), elems...)
			var out []Value
			for i, e := range snapshot {
				if err := ev.tick(n); err != nil {
					return nil, err
				}
				callArgs := []Value{e}
				if name == "each_with_index" {
					callArgs = append(callArgs, int64(i))
				}
				v, err := blk.fn(callArgs)
				if err != nil {
					return nil, err
				}
				switch name {
				case "map", "collect":
					out = append(out, v)
				case "select", "filter":
					if truthy(v) {
						out = append(out, e)
					}
				case "reject":
					if !truthy(v) {
						out = append(out, e)
					}
				case "filter_map":
					if truthy(v) {
						out = append(out, v)
					}
				case "flat_map":
					if inner, ok := v.(*Array); ok {
						out = append(out, inner.elems...)
					} else {
						out = append(out, v)
					}
				case "find", "detect":
					if truthy(v) {
						return e, nil
					}
				case "any?":
					if truthy(v) {
						return true, nil
					}
				case "all?":
					if !truthy(v) {
						return false, nil
					}
				case "none?":
					if truthy(v) {
						return false, nil
					}
				case "count":
					if truthy(v) {
						out = append(out, e)
					}
				case "sum":
					out = append(out, v)
				}
			}
			switch name {
			case "each", "each_with_index":
				return a, nil
			case "find", "detect":
				return nil, nil
			case "any?":
				return false, nil
			case "all?", "none?":
				return true, nil
			case "count":
				return int64(len(out)), nil
			case "sum":
				return ev.sum(out, int64(0), n)
			}
			return &Array{elems: out}, nil
		}
		if v, ok, err := ev.enumMethod(elems, name, args, blk, n); ok {
			return v, err
		}
		return nil, unsupported(n)
	}
	switch len(args) {
	case 0:
		switch name {
		case "to_s", "inspect":
			return inspect(a), nil
		case "length", "size", "count":
			return int64(len(elems)), nil
		case "empty?":
			return len(elems) == 0, nil
		case "any?":
			for _, e := range elems {
				if truthy(e) {
					return true, nil
				}
			}
			return false, nil
		case "first":
			if len(elems) == 0 {
				return nil, nil
			}
			return elems[0], nil
		case "last":
			if len(elems) == 0 {
				return nil, nil
			}
			return elems[len(elems)-1], nil
		case "join":
			return ev.join(a, "", n, 0)
		case "compact":
			var out []Value
			for _, e := range elems {
				if e != nil {
					out = append(out, e)
				}
			}
			return &Array{elems: out}, nil
		case "uniq":
			var out []Value
			seen := newHash()
			for _, e := range elems {
				if _, ok := keyOf(e); ok {
					if _, dup := seen.get(e); dup {
						continue
					}
					seen.set(e, true)
					out = append(out, e)
					continue
				}
				dup, err := ev.contains(out, e, n)
				if err != nil {
					return nil, err
				}
				if !dup {
					out = append(out, e)
				}
			}
			return &Array{elems: out}, nil
		case "flatten":
			var out []Value
			var walk func([]Value, int) error
			walk = func(list []Value, depth int) error {
				if depth > maxNesting {
					return unsupported(n)
				}
				for _, e := range list {
					if err := ev.tick(n); err != nil {
						return err
					}
					if inner, ok := e.(*Array); ok {
						if err := walk(inner.elems, depth+1); err != nil {
							return err
						}
						continue
					}
					out = append(out, e)
				}
				return nil
			}
			if err := walk(elems, 0); err != nil {
				return nil, err
			}
			return &Array{elems: out}, nil
		case "reverse":
			out := make([]Value, len(elems))
			for i, e := range elems {
				out[len(elems)-1-i] = e
			}
			return &Array{elems: out}, nil
		case "sort":
			out := append([]Value(nil), elems...)
			if !sortValues(out) {
				return nil, unsupported(n)
			}
			return &Array{elems: out}, nil
		case "to_a", "entries":
			return a, nil
		case "shelljoin":
			return shellwordsMethod("join", []Value{a}, n)
		case "sum":
			return ev.sum(elems, int64(0), n)
		case "min", "max":
			if len(elems) == 0 {
				return nil, nil
			}
			best := elems[0]
			for _, e := range elems[1:] {
				c, ok := compare(e, best)
				if !ok {
					return nil, unsupported(n)
				}
				if name == "min" && c < 0 || name == "max" && c > 0 {
					best = e
				}
			}
			if _, ok := compare(best, best); !ok {
				return nil, unsupported(n)
			}
			return best, nil
		}
	case 1:
		arg := args[0]
		switch name {
		case "join":
			if arg == nil {
				return ev.join(a, "", n, 0)
			}
			sep, ok := arg.(string)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into String", className(arg))
			}
			return ev.join(a, sep, n, 0)
		case "include?", "member?":
			for _, e := range elems {
				if equal(e, arg) {
					return true, nil
				}
			}
			return false, nil
		case "first", "last", "take":
			k, ok := arg.(int64)
			if !ok {
				return nil, unsupported(n)
			}
			if k < 0 {
				return nil, argErr(n, "negative array size")
			}
			if k > int64(len(elems)) {
				k = int64(len(elems))
			}
			if name == "last" {
				return &Array{elems: append([]Value(nil), elems[int64(len(elems))-k:]...)}, nil
			}
			return &Array{elems: append([]Value(nil), elems[:k]...)}, nil
		case "[]", "at", "dig", "slice":
			if r, ok := arg.(*Range); ok && name != "at" && name != "dig" {
				start, length, ok := r.bounds(int64(len(elems)))
				if !ok {
					return nil, nil
				}
				return &Array{elems: append([]Value(nil), elems[start:start+length]...)}, nil
			}
			k, ok := arg.(int64)
			if !ok {
				if name == "dig" || arg != nil {
					return nil, unsupported(n)
				}
				return nil, typeErr(n, "no implicit conversion from nil to integer")
			}
			if k < 0 {
				k += int64(len(elems))
			}
			if k < 0 || k >= int64(len(elems)) {
				return nil, nil
			}
			return elems[k], nil
		case "+", "concat":
			other, ok := arg.(*Array)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into Array", coerceName(arg))
			}
			if err := ev.charge(len(other.elems)+len(elems), n); err != nil {
				return nil, err
			}
			if name == "concat" {
				a.elems = append(a.elems, other.elems...)
				return a, nil
			}
			return &Array{elems: append(append([]Value(nil), elems...), other.elems...)}, nil
		case "-":
			other, ok := arg.(*Array)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into Array", coerceName(arg))
			}
			var out []Value
			for _, e := range elems {
				removed, err := ev.contains(other.elems, e, n)
				if err != nil {
					return nil, err
				}
				if !removed {
					out = append(out, e)
				}
			}
			return &Array{elems: out}, nil
		case "<<", "push", "append":
			if len(a.elems) >= maxOutput {
				return nil, unsupported(n)
			}
			a.elems = append(a.elems, arg)
			return a, nil
		case "index", "find_index":
			for i, e := range elems {
				if equal(e, arg) {
					return int64(i), nil
				}
			}
			return nil, nil
		case "count":
			c := int64(0)
			for _, e := range elems {
				if equal(e, arg) {
					c++
				}
			}
			return c, nil
		}
	}
	if (name == "[]" || name == "slice") && len(args) == 2 {
		start, ok1 := args[0].(int64)
		length, ok2 := args[1].(int64)
		if !ok1 || !ok2 {
			return nil, unsupported(n)
		}
		size := int64(len(elems))
		if start < 0 {
			start += size
		}
		if start < 0 || start > size || length < 0 {
			return nil, nil
		}
		if start+length > size {
			length = size - start
		}
		return &Array{elems: append([]Value(nil), elems[start:start+length]...)}, nil
	}
	if name == "push" || name == "append" {
		if len(a.elems)+len(args) > maxOutput {
			return nil, unsupported(n)
		}
		a.elems = append(a.elems, args...)
		return a, nil
	}
	if v, ok, err := ev.moreArrayMethods(a, name, args, n); ok {
		return v, err
	}
	if v, ok, err := ev.enumMethod(elems, name, args, blk, n); ok {
		return v, err
	}
	return nil, unsupported(n)
}

// sum is Array#sum: Integers exactly, Floats with Kahan-Babuska
// compensation as Ruby does ([0.1, 0.2, 0.3].sum is 0.6), anything else
// with +.
func (ev *evaluator) sum(elems []Value, total Value, n node) (Value, error) {
	k := 0
	for ; k < len(elems); k++ {
		a, ok1 := total.(int64)
		b, ok2 := elems[k].(int64)
		if !ok1 || !ok2 {
			break
		}
		v, err := intArith(a, b, "+", n)
		if err != nil {
			return nil, err
		}
		total = v
	}
	if k < len(elems) && isNumber(total) && isNumber(elems[k]) {
		f, c := toFloat(total), 0.0
		for ; k < len(elems) && isNumber(elems[k]); k++ {
			x := toFloat(elems[k])
			t := f + x
			if math.IsInf(t, 0) || math.IsNaN(t) {
				c = 0
			} else if math.Abs(f) >= math.Abs(x) {
				c += (f - t) + x
			} else {
				c += (x - t) + f
			}
			f = t
		}
		total = f + c
	}
	for ; k < len(elems); k++ {
		v, err := ev.send(total, "+", []Value{elems[k]}, nil, n)
		if err != nil {
			return nil, err
		}
		total = v
	}
	return total, nil
}

// join is Array#join: nested arrays are joined recursively, nil is "".
func (ev *evaluator) join(a *Array, sep string, n node, depth int) (Value, error) {
	if depth > maxNesting {
		return nil, unsupported(n)
	}
	var b strings.Builder
	for i, e := range a.elems {
		if err := ev.tick(n); err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(sep)
		}
		if inner, ok := e.(*Array); ok {
			s, err := ev.join(inner, sep, n, depth+1)
			if err != nil {
				return nil, err
			}
			b.WriteString(s.(string))
		} else {
			b.WriteString(toS(e))
		}
		if b.Len() > maxOutput {
			return nil, limitErr(n, "string is larger than %d bytes", maxOutput)
		}
	}
	return b.String(), nil
}

func (ev *evaluator) hashMethod(h *Hash, name string, args []Value, blk *block, n node) (Value, error) {
	if blk != nil {
		switch name {
		case "each", "each_pair", "map", "collect", "select", "filter", "reject", "any?", "filter_map":
			if len(args) != 0 {
				return nil, unsupported(n)
			}
			keys, vals := append([]Value(nil), h.keys...), append([]Value(nil), h.vals...)
			var out []Value
			res := newHash()
			for i := range keys {
				if err := ev.tick(n); err != nil {
					return nil, err
				}
				v, err := blk.fn([]Value{&Array{elems: []Value{keys[i], vals[i]}}})
				if err != nil {
					return nil, err
				}
				switch name {
				case "map", "collect":
					out = append(out, v)
				case "filter_map":
					if truthy(v) {
						out = append(out, v)
					}
				case "select", "filter":
					if truthy(v) {
						res.set(keys[i], vals[i])
					}
				case "reject":
					if !truthy(v) {
						res.set(keys[i], vals[i])
					}
				case "any?":
					if truthy(v) {
						return true, nil
					}
				}
			}
			switch name {
			case "each", "each_pair":
				return h, nil
			case "select", "filter", "reject":
				return res, nil
			case "any?":
				return false, nil
			}
			return &Array{elems: out}, nil
		case "fetch":
			if len(args) == 1 {
				if v, ok := h.get(args[0]); ok {
					return v, nil
				}
				return blk.fn(args)
			}
		}
		if v, ok, err := ev.moreHashMethods(h, name, args, blk, n); ok {
			return v, err
		}
		return nil, unsupported(n)
	}
	switch name {
	case "to_s", "inspect":
		return inspect(h), nil
	case "to_h":
		return h, nil
	case "length", "size", "count":
		if len(args) == 0 {
			return int64(len(h.keys)), nil
		}
	case "empty?":
		return len(h.keys) == 0, nil
	case "any?":
		return len(h.keys) > 0, nil
	case "keys":
		return &Array{elems: append([]Value(nil), h.keys...)}, nil
	case "values":
		return &Array{elems: append([]Value(nil), h.vals...)}, nil
	case "to_a":
		out := make([]Value, len(h.keys))
		for i := range h.keys {
			out[i] = &Array{elems: []Value{h.keys[i], h.vals[i]}}
		}
		return &Array{elems: out}, nil
	case "[]":
		if len(args) == 1 {
			v, _ := h.get(args[0])
			return v, nil
		}
	case "key?", "has_key?", "include?", "member?":
		if len(args) == 1 {
			_, ok := h.get(args[0])
			return ok, nil
		}
	case "fetch":
		if len(args) == 1 || len(args) == 2 {
			if v, ok := h.get(args[0]); ok {
				return v, nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return nil, raiseAt(n, "KeyError", "key not found: %s", inspect(args[0]))
		}
	case "dig":
		if len(args) >= 1 {
			var cur Value = h
			for _, k := range args {
				switch c := cur.(type) {
				case nil:
					return nil, nil
				case *Hash:
					cur, _ = c.get(k)
				case *Array:
					v, err := ev.arrayMethod(c, "dig", []Value{k}, nil, n)
					if err != nil {
						return nil, err
					}
					cur = v
				default:
					return nil, unsupported(n)
				}
			}
			return cur, nil
		}
	}
	if v, ok, err := ev.moreHashMethods(h, name, args, blk, n); ok {
		return v, err
	}
	return nil, unsupported(n)
}

// moduleMethod implements the methods of ENV, File, Dir, URI, Dotenv,
// JSON, Time, Date, Socket, the libraries and the exception classes.
func (ev *evaluator) moduleMethod(m module, name string, args []Value, blk *block, n node) (Value, error) {
	if newHash, ok := digests[string(m)]; ok {
		return digestMethod(newHash, name, args, n)
	}
	if exceptionClasses[string(m)] && (name == "new" || name == "exception") && len(args) <= 1 {
		msg := string(m)
		if len(args) == 1 {
			msg = toS(args[0])
		}
		return &exception{class: string(m), msg: msg}, nil
	}
	switch m {
	case "ENV":
		return ev.envMethod(name, args, blk, n)
	case "File":
		return ev.fileMethod(name, args, n)
	case "Dir":
		switch {
		case name == "pwd" && len(args) == 0:
			wd, err := os.Getwd()
			if err != nil {
				return nil, errAt(n, "%v", err)
			}
			return wd, nil
		case (name == "exist?") && len(args) == 1:
			p, ok := args[0].(string)
			if !ok {
				return nil, unsupported(n)
			}
			st, err := os.Stat(p)
			return err == nil && st.IsDir(), nil
		}
	case "URI":
		if name == "parse" && len(args) == 1 {
			return uriParse(args[0], n)
		}
	case "Dotenv":
		return ev.dotenv(name, args, n)
	case "JSON":
		switch {
		case (name == "generate" || name == "dump") && len(args) == 1:
			s, err := toJSON(args[0])
			if err != nil {
				return nil, raiseAt(n, "JSON::GeneratorError", "%v", err)
			}
			return s, nil
		case name == "parse" && len(args) == 1:
			s, ok := args[0].(string)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
			}
			v, err := parseJSON(s)
			if err != nil {
				return nil, raiseAt(n, "JSON::ParserError", "%v", err)
			}
			return v, nil
		}
	case "Time":
		return ev.timeModule(name, args, n)
	case "Base64":
		return base64Method(name, args, n)
	case "YAML", "Psych":
		return ev.yamlModule(name, args, n)
	case "Shellwords":
		return shellwordsMethod(name, args, n)
	case "SecureRandom":
		return securerandomMethod(name, args, n)
	case "OpenStruct":
		if name == "new" {
			return newOpenStruct(args, n)
		}
	case "Date":
		return ev.dateModule(name, args, n)
	case "Socket":
		if name == "gethostname" && len(args) == 0 {
			h, err := os.Hostname()
			if err != nil {
				return nil, errAt(n, "%v", err)
			}
			return h, nil
		}
	}
	return nil, unsupported(n)
}

func (ev *evaluator) envMethod(name string, args []Value, blk *block, n node) (Value, error) {
	switch name {
	case "to_h", "to_hash", "keys", "values", "values_at", "slice", "select", "filter", "reject",
		"each", "each_pair", "map", "filter_map", "any?", "empty?", "size", "length", "count", "to_a", "find", "sort_by", "inspect":
		h := ev.envHash()
		v, err := ev.hashMethod(h, name, args, blk, n)
		if r, ok := v.(*Hash); ok && r == h && (name == "each" || name == "each_pair") {
			return module("ENV"), err // each returns ENV itself
		}
		return v, err
	}
	if len(args) == 0 {
		return nil, unsupported(n)
	}
	key, ok := args[0].(string)
	if !ok {
		return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
	}
	v, found := ev.lookupEnv(key)
	switch name {
	case "[]":
		if len(args) == 1 {
			if !found {
				return nil, nil
			}
			return v, nil
		}
	case "fetch":
		if len(args) > 2 {
			return nil, unsupported(n)
		}
		if found {
			return v, nil
		}
		if blk != nil {
			return blk.fn([]Value{key})
		}
		if len(args) == 2 {
			return args[1], nil
		}
		return nil, raiseAt(n, "KeyError", "key not found: %s", inspectString(key))
	case "key?", "has_key?", "include?", "member?":
		if len(args) == 1 {
			return found, nil
		}
	}
	return nil, unsupported(n)
}

func (ev *evaluator) fileMethod(name string, args []Value, n node) (Value, error) {
	strs := make([]string, 0, len(args))
	for _, a := range args {
		if name == "join" {
			if arr, ok := a.(*Array); ok {
				for _, e := range arr.elems {
					s, ok := e.(string)
					if !ok {
						return nil, unsupported(n)
					}
					strs = append(strs, s)
				}
				continue
			}
		}
		s, ok := a.(string)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(a))
		}
		strs = append(strs, s)
	}
	switch {
	case name == "read" && len(strs) == 1:
		data, err := readFile(strs[0])
		if err != nil {
			return nil, fileErr(n, err, strs[0])
		}
		return string(data), nil
	case (name == "exist?") && len(strs) == 1:
		_, err := os.Stat(strs[0])
		return err == nil, nil
	case name == "file?" && len(strs) == 1:
		st, err := os.Stat(strs[0])
		return err == nil && st.Mode().IsRegular(), nil
	case name == "directory?" && len(strs) == 1:
		st, err := os.Stat(strs[0])
		return err == nil && st.IsDir(), nil
	case name == "expand_path" && (len(strs) == 1 || len(strs) == 2):
		p, err := ev.expandPath(strs...)
		if err != nil {
			return nil, errAt(n, "%v", err)
		}
		return p, nil
	case name == "join":
		return joinPath(strs), nil
	case name == "basename" && (len(strs) == 1 || len(strs) == 2):
		b := filepath.Base(strs[0])
		if strs[0] == "" {
			b = ""
		}
		if len(strs) == 2 {
			if strs[1] == ".*" {
				b = strings.TrimSuffix(b, filepath.Ext(b))
			} else if b != strs[1] {
				b = strings.TrimSuffix(b, strs[1])
			}
		}
		return b, nil
	case name == "dirname" && len(strs) == 1:
		return filepath.Dir(strs[0]), nil
	case name == "extname" && len(strs) == 1:
		b := filepath.Base(strs[0])
		if strings.HasPrefix(b, ".") && strings.Count(b, ".") == 1 {
			return "", nil
		}
		return filepath.Ext(b), nil
	}
	return nil, unsupported(n)
}

// readFile reads a regular file of reasonable size; devices and FIFOs
// (which could block or never end) are refused.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("is a directory")}
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	if st.Size() > maxOutput {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("file is larger than %d bytes", maxOutput)}
	}
	return io.ReadAll(io.LimitReader(f, maxOutput+1))
}

// fileError words a file error like Ruby's Errno exceptions.
func fileError(err error, path string) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory @ rb_sysopen - " + path
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied @ rb_sysopen - " + path
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if strings.Contains(pe.Err.Error(), "is a directory") {
			return "Is a directory @ io_fread - " + path
		}
		return pe.Err.Error() + " - " + path
	}
	return err.Error()
}

// expandPath is File.expand_path: "~" is the home directory, relative paths
// are taken from dir (itself expanded) or the working directory.
func (ev *evaluator) expandPath(parts ...string) (string, error) {
	p := parts[0]
	home := func() (string, error) {
		if h, ok := ev.lookupEnv("HOME"); ok && h != "" {
			return h, nil
		}
		h, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("couldn't find login name -- expanding '~'")
		}
		return h, nil
	}
	if strings.HasPrefix(p, "~") {
		if len(p) > 1 && p[1] != '/' {
			return "", fmt.Errorf("user %s doesn't exist", strings.SplitN(p[1:], "/", 2)[0])
		}
		h, err := home()
		if err != nil {
			return "", err
		}
		return filepath.Clean(h + p[1:]), nil
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	base := ""
	if len(parts) == 2 && parts[1] != "" {
		b, err := ev.expandPath(parts[1])
		if err != nil {
			return "", err
		}
		base = b
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		base = wd
	}
	return filepath.Join(base, p), nil
}

// joinPath is File.join: parts joined by one "/".
func joinPath(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			prevSlash := strings.HasSuffix(b.String(), "/")
			curSlash := strings.HasPrefix(p, "/")
			switch {
			case prevSlash && curSlash:
				p = strings.TrimLeft(p, "/")
			case !prevSlash && !curSlash:
				b.WriteByte('/')
			}
		}
		b.WriteString(p)
	}
	return b.String()
}

// comparableMethod implements Comparable's operators with compare.
func comparableMethod(recv Value, name string, args []Value, n node) (Value, error) {
	cmp := func(o Value) (int, error) {
		c, ok := compare(recv, o)
		if !ok {
			return 0, argErr(n, "comparison of %s with %s failed", className(recv), inspectOrClass(o))
		}
		return c, nil
	}
	if name == "between?" && len(args) == 2 {
		lo, err := cmp(args[0])
		if err != nil {
			return nil, err
		}
		hi, err := cmp(args[1])
		if err != nil {
			return nil, err
		}
		return lo >= 0 && hi <= 0, nil
	}
	if len(args) != 1 {
		return nil, unsupported(n)
	}
	c, err := cmp(args[0])
	if err != nil {
		return nil, err
	}
	switch name {
	case "<":
		return c < 0, nil
	case ">":
		return c > 0, nil
	case "<=":
		return c <= 0, nil
	}
	return c >= 0, nil
}

// envHash is ENV.to_h: the variables Environ names, with the values
// ENV[] gives, then those set while rendering.
func (ev *evaluator) envHash() *Hash {
	h := newHash()
	for _, kv := range ev.opts.Environ() {
		// The names come from Environ, the values from the same lookup as ENV[].
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := ev.lookupEnv(k); ok {
			h.set(k, v)
		}
	}
	keys := make([]string, 0, len(ev.env))
	for k := range ev.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, seen := h.get(k); !seen {
			h.set(k, ev.env[k])
		}
	}
	return h
}
