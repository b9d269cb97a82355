package erb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// Options configures Render.
type Options struct {
	File      string                      // path shown in errors, e.g. "config/deploy.yml"
	Dir       string                      // the config file's folder (where .ruby-version is looked for)
	LookupEnv func(string) (string, bool) // nil: os.LookupEnv
	Environ   func() []string             // "KEY=value" pairs for ENV.to_h and kin; nil: os.Environ
	SetEnv    func(key, value string)     // used by Dotenv.load/overload; nil: os.Setenv
	// Shell runs backticks and %x() and returns the command's standard
	// output. An error with an ExitCode() int method (as *exec.ExitError
	// has) is a command that ran and failed: as in Ruby, rendering goes on
	// with its output and $? holds the status. nil: sh -c, stderr to Stderr.
	Shell  func(cmd string) (string, error)
	Now    func() time.Time // nil: time.Now
	Stdout io.Writer        // puts, print, p; nil: os.Stdout
	Stderr io.Writer        // warn, $stderr, a command's standard error; nil: os.Stderr
}

// Render evaluates an ERB template written in the subset of Ruby that
// Kamal configs use and returns the rendered text. Constructs outside the
// subset fail with "<File>:<LINE>: unsupported Ruby in ERB: <snippet>".
func Render(src []byte, opts Options) (out []byte, err error) {
	var ev *evaluator
	defer func() {
		// A bug here must not take the whole command down with a stack
		// trace; FuzzRender treats this error as a failure.
		if r := recover(); r != nil {
			if lp, ok := r.(limitPanic); ok && ev != nil {
				out, err = nil, &Error{File: opts.File, Line: max(ev.line, 1), Class: "RuntimeError", Message: lp.msg}
				return
			}
			out, err = nil, fmt.Errorf("%s: internal error while rendering ERB: %v", opts.File, r)
		}
	}()
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	if opts.SetEnv == nil {
		opts.SetEnv = func(k, v string) { _ = os.Setenv(k, v) }
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.File == "" {
		opts.File = "(erb)"
	}
	toks, codes, serr := compileTemplate(string(src))
	if serr != nil {
		return nil, &Error{File: opts.File, Line: serr.line, Message: "unsupported Ruby in ERB: " + serr.snippet}
	}
	prog, serr := parseProgram(toks, codes)
	if serr != nil {
		return nil, &Error{File: opts.File, Line: serr.line, Message: "unsupported Ruby in ERB: " + serr.snippet}
	}
	ev = &evaluator{opts: opts, env: map[string]string{}, methods: map[string]*method{}, consts: map[string]constant{}}
	if _, err := ev.eval(prog, &scope{vars: map[string]Value{}}); err != nil {
		var j *jump
		if errors.As(err, &j) {
			err = raiseAt(j.n, "LocalJumpError", "unexpected %s", j.kind)
		}
		var re *rubyError
		if errors.As(err, &re) {
			return nil, &Error{File: opts.File, Line: re.line, Class: re.class, Message: re.msg}
		}
		return nil, fmt.Errorf("%s: %w", opts.File, err)
	}
	return []byte(ev.out.String()), nil
}

// maxOutput bounds the rendered text and any single string built while
// rendering, so a runaway template fails instead of eating memory.
const maxOutput = 16 << 20

type scope struct {
	vars   map[string]Value
	parent *scope
	method bool   // the scope of a method body (def)
	block  *block // the block given to that method, for yield
}

func (s *scope) inMethod() bool {
	for c := s; c != nil; c = c.parent {
		if c.method {
			return true
		}
	}
	return false
}

func (s *scope) lookup(name string) (Value, bool) {
	for c := s; c != nil; c = c.parent {
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// assign sets a variable in the scope where the parser declared it, up
// block scopes from s, as Ruby does: a block assigning a variable of the
// enclosing code changes that variable.
func (s *scope) assign(name string, v Value, up int) {
	c := s
	for ; up > 0 && c.parent != nil; up-- {
		c = c.parent
	}
	c.vars[name] = v
}

type evaluator struct {
	opts        Options
	out         strings.Builder
	env         map[string]string // variables set while rendering (Dotenv, ENV[]=)
	rubyVersion string
	steps       int
	status      *processStatus // $?, the last backtick command's status
	methods     map[string]*method
	consts      map[string]constant
	depth       int        // method and lambda calls in progress
	lastMatch   *match     // $~, set by =~, match and case/when
	line        int        // line of the node being evaluated, for limitPanic
	current     *exception // $!, the exception being rescued
}

// maxSteps bounds evaluation work (each, times ...).
const maxSteps = 1_000_000

func (ev *evaluator) lookupEnv(k string) (string, bool) {
	if v, ok := ev.env[k]; ok {
		return v, true
	}
	return ev.opts.LookupEnv(k)
}

func (ev *evaluator) setEnv(k, v string) {
	ev.env[k] = v
	ev.opts.SetEnv(k, v)
}

func (ev *evaluator) eval(n node, sc *scope) (Value, error) {
	ev.line = n.pos().line
	ev.steps++
	if ev.steps > maxSteps {
		return nil, limitErr(n, "template does too much work (more than %d steps)", maxSteps)
	}
	switch n := n.(type) {
	case *seqNode:
		var last Value
		for _, s := range n.stmts {
			v, err := ev.eval(s, sc)
			if err != nil {
				return nil, err
			}
			last = v
		}
		return last, nil
	case *textNode:
		ev.out.WriteString(n.text)
		if ev.out.Len() > maxOutput {
			return nil, limitErr(n, "rendered template is larger than %d bytes", maxOutput)
		}
		return nil, nil
	case *outputNode:
		v, err := ev.eval(n.expr, sc)
		if err != nil {
			return nil, err
		}
		s, err := render(v, n)
		if err != nil {
			return nil, err
		}
		ev.out.WriteString(s)
		if ev.out.Len() > maxOutput {
			return nil, limitErr(n, "rendered template is larger than %d bytes", maxOutput)
		}
		return nil, nil
	case *nilNode:
		return nil, nil
	case *boolNode:
		return n.val, nil
	case *intNode:
		return n.val, nil
	case *floatNode:
		return n.val, nil
	case *selfNode:
		return module("main"), nil
	case *strNode:
		s, err := ev.interpolate(n.parts, sc)
		if err != nil {
			return nil, err
		}
		switch n.kind {
		case tSymbol:
			return Symbol(s), nil
		case tXString:
			return ev.backtick(s, n)
		}
		return s, nil
	case *regexpNode:
		s, err := ev.interpolate(n.parts, sc)
		if err != nil {
			return nil, err
		}
		return compileRegexp(s, n.flags, n)
	case *arrayNode:
		arr := &Array{elems: make([]Value, 0, len(n.elems))}
		for _, e := range n.elems {
			v, err := ev.eval(e, sc)
			if err != nil {
				return nil, err
			}
			arr.elems = append(arr.elems, v)
		}
		return arr, nil
	case *hashNode:
		h := newHash()
		for i := range n.keys {
			k, err := ev.eval(n.keys[i], sc)
			if err != nil {
				return nil, err
			}
			v, err := ev.eval(n.vals[i], sc)
			if err != nil {
				return nil, err
			}
			if !h.set(k, v) {
				return nil, unsupported(n.keys[i])
			}
		}
		return h, nil
	case *localNode:
		v, _ := sc.lookup(n.name) // declared but never assigned: nil, as in Ruby
		return v, nil
	case *assignNode:
		v, err := ev.eval(n.value, sc)
		if err != nil {
			return nil, err
		}
		sc.assign(n.name, v, n.up)
		return v, nil
	case *opAssignNode:
		return ev.opAssign(n, sc)
	case *indexAssignNode:
		recv, err := ev.eval(n.recv, sc)
		if err != nil {
			return nil, err
		}
		args, err := ev.evalArgs(n.args, sc)
		if err != nil {
			return nil, err
		}
		v, err := ev.eval(n.value, sc)
		if err != nil {
			return nil, err
		}
		if err := ev.indexSet(recv, args, v, n); err != nil {
			return nil, err
		}
		return v, nil
	case *constNode:
		return ev.constant(n)
	case *globalNode:
		return ev.global(n)
	case *andNode:
		l, err := ev.eval(n.left, sc)
		if err != nil || !truthy(l) {
			return l, err
		}
		return ev.eval(n.right, sc)
	case *orNode:
		l, err := ev.eval(n.left, sc)
		if err != nil || truthy(l) {
			return l, err
		}
		return ev.eval(n.right, sc)
	case *notNode:
		v, err := ev.eval(n.expr, sc)
		if err != nil {
			return nil, err
		}
		return !truthy(v), nil
	case *ifNode:
		c, err := ev.eval(n.cond, sc)
		if err != nil {
			return nil, err
		}
		if truthy(c) != n.negate {
			return ev.eval(n.then, sc)
		}
		if n.els != nil {
			return ev.eval(n.els, sc)
		}
		return nil, nil
	case *callNode:
		return ev.call(n, sc)
	}
	return ev.evalControl(n, sc)
}

func render(v Value, n node) (string, error) {
	switch v.(type) {
	case *Regexp, *Proc:
		return "", unsupported(n) // Regexp#to_s prints (?-mix:...) and a Proc its address: nobody means these
	}
	return toS(v), nil
}

func (ev *evaluator) interpolate(parts []strNodePart, sc *scope) (string, error) {
	if len(parts) == 1 && parts[0].expr == nil {
		return parts[0].lit, nil
	}
	var b strings.Builder
	for _, p := range parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := ev.eval(p.expr, sc)
		if err != nil {
			return "", err
		}
		s, err := render(v, p.expr)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		if b.Len() > maxOutput {
			return "", limitErr(p.expr, "string is larger than %d bytes", maxOutput)
		}
	}
	return b.String(), nil
}

// evalArgs evaluates a call's arguments, spreading *splats; a &block
// argument is left to makeBlock.
func (ev *evaluator) evalArgs(args []node, sc *scope) ([]Value, error) {
	vals := make([]Value, 0, len(args))
	for _, a := range args {
		switch x := a.(type) {
		case *blockPassNode:
			continue
		case *splatNode:
			v, err := ev.eval(x.expr, sc)
			if err != nil {
				return nil, err
			}
			switch s := v.(type) {
			case nil:
			case *Array:
				vals = append(vals, s.elems...)
			case *Range:
				elems, err := ev.rangeElems(s, x)
				if err != nil {
					return nil, err
				}
				vals = append(vals, elems...)
			default:
				vals = append(vals, v)
			}
			continue
		}
		v, err := ev.eval(a, sc)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}

func (ev *evaluator) opAssign(n *opAssignNode, sc *scope) (Value, error) {
	var cur Value
	var recv Value
	var args []Value
	var err error
	switch t := n.target.(type) {
	case *localNode:
		cur, _ = sc.lookup(t.name)
	case *callNode:
		if recv, err = ev.eval(t.recv, sc); err != nil {
			return nil, err
		}
		if args, err = ev.evalArgs(t.args, sc); err != nil {
			return nil, err
		}
		if cur, err = ev.send(recv, "[]", args, nil, t); err != nil {
			return nil, err
		}
	default:
		return nil, unsupported(n)
	}
	var v Value
	switch n.op {
	case "||":
		if truthy(cur) {
			return cur, nil
		}
		v, err = ev.eval(n.value, sc)
	case "&&":
		if !truthy(cur) {
			return cur, nil
		}
		v, err = ev.eval(n.value, sc)
	default:
		var rhs Value
		if rhs, err = ev.eval(n.value, sc); err != nil {
			return nil, err
		}
		v, err = ev.send(cur, n.op, []Value{rhs}, nil, n)
	}
	if err != nil {
		return nil, err
	}
	switch t := n.target.(type) {
	case *localNode:
		sc.assign(t.name, v, t.up)
	case *callNode:
		if err := ev.indexSet(recv, args, v, n); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (ev *evaluator) indexSet(recv Value, args []Value, v Value, n node) error {
	switch r := recv.(type) {
	case module:
		if r == "ENV" && len(args) == 1 {
			k, ok := args[0].(string)
			if !ok {
				return unsupported(n)
			}
			if v == nil {
				return unsupported(n) // deleting variables is outside the subset
			}
			s, ok := v.(string)
			if !ok {
				return typeErr(n, "no implicit conversion of %s into String", className(v))
			}
			ev.setEnv(k, s)
			return nil
		}
	case *Hash:
		if len(args) == 1 && r.set(args[0], v) {
			return nil
		}
	case *Array:
		if len(args) == 1 {
			if i, ok := args[0].(int64); ok {
				if i < 0 {
					i += int64(len(r.elems))
				}
				if i < 0 {
					return raiseAt(n, "IndexError", "index %d too small for array", i-int64(len(r.elems)))
				}
				if i >= int64(len(r.elems)) {
					if i > maxOutput {
						return unsupported(n)
					}
					for int64(len(r.elems)) <= i {
						r.elems = append(r.elems, nil)
					}
				}
				r.elems[i] = v
				return nil
			}
		}
	}
	return unsupported(n)
}

func (ev *evaluator) call(n *callNode, sc *scope) (Value, error) {
	if n.recv == nil {
		return ev.kernel(n, sc)
	}
	recv, err := ev.eval(n.recv, sc)
	if err != nil {
		if _, isConst := n.recv.(*constNode); isConst && isUnsupported(err) {
			return nil, unsupported(n) // name the whole call, not just the constant
		}
		return nil, err
	}
	if n.safe && recv == nil {
		return nil, nil
	}
	return ev.callWithBlock(n, sc, func(args []Value, blk *block) (Value, error) {
		return ev.send(recv, n.name, args, blk, n)
	})
}

// compileRegexp translates a Ruby regexp to Go's RE2 syntax where the two
// agree; anything else (lookaround, backreferences, possessive) fails.
func compileRegexp(src, flags string, n node) (*Regexp, error) {
	prefix := ""
	for _, f := range flags {
		switch f {
		case 'i':
			prefix += "i"
		case 'm':
			prefix += "s" // Ruby's /m makes . match newlines
		case 'x':
			return nil, unsupported(n)
		default:
			return nil, unsupported(n)
		}
	}
	// Ruby's ^ and $ are line anchors; \A, \z, \Z string anchors.
	goSrc := strings.NewReplacer(`\z`, `\z`, `\Z`, `(?:\n?\z)`, `\h`, `[0-9a-fA-F]`).Replace(src)
	goSrc = "(?m" + prefix + ")" + goSrc
	re, err := regexp.Compile(goSrc)
	if err != nil {
		return nil, unsupported(n)
	}
	return &Regexp{re: re, src: src}, nil
}
