package erb

import (
	"errors"
	"fmt"
	"strings"
)

// jump carries break, next and return up to the loop, block or method
// that ends it.
type jump struct {
	kind string
	val  Value
	n    node
}

func (j *jump) Error() string { return j.kind + " outside of a loop, block or method" }

// asJump reports whether err is a jump of the given kind.
func asJump(err error, kind string) (*jump, bool) {
	var j *jump
	if errors.As(err, &j) && j.kind == kind {
		return j, true
	}
	return nil, false
}

// Proc is a lambda or a proc.
type Proc struct {
	blk    *block
	lambda bool
	arity  int
}

// method is a method defined with def.
type method struct {
	def *defNode
}

// block is a callable block: a do/{} block, &:sym, or a proc passed with &.
type block struct {
	fn     func(args []Value) (Value, error)
	params *paramList
	proc   *Proc // set when the block is a proc passed with &
}

func (ev *evaluator) makeBlock(n *callNode, sc *scope) (*block, error) {
	if n.blockSym != "" {
		name := n.blockSym
		return &block{fn: func(args []Value) (Value, error) {
			if len(args) == 0 {
				return nil, argErr(n, "no receiver given")
			}
			return ev.send(args[0], name, args[1:], nil, n)
		}}, nil
	}
	if len(n.args) > 0 {
		if bp, ok := n.args[len(n.args)-1].(*blockPassNode); ok {
			v, err := ev.eval(bp.expr, sc)
			if err != nil {
				return nil, err
			}
			return ev.toBlock(v, bp)
		}
	}
	if n.block == nil {
		return nil, nil
	}
	return ev.blockOf(n.block, sc, false), nil
}

// toBlock turns the value passed with & into a block.
func (ev *evaluator) toBlock(v Value, n node) (*block, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *Proc:
		return &block{fn: x.blk.fn, params: x.blk.params, proc: x}, nil
	case Symbol:
		name := string(x)
		return &block{fn: func(args []Value) (Value, error) {
			if len(args) == 0 {
				return nil, argErr(n, "no receiver given")
			}
			return ev.send(args[0], name, args[1:], nil, n)
		}}, nil
	case *method:
		return &block{fn: func(args []Value) (Value, error) { return ev.invoke(x, args, nil, n) }, params: x.def.params}, nil
	}
	return nil, typeErr(n, "wrong argument type %s (expected Proc)", className(v))
}

// blockOf makes a block from a block literal evaluated in sc. A lambda
// checks its arguments and ends at return and break; a plain block spreads
// a single array over its parameters and ends at next.
func (ev *evaluator) blockOf(b *blockNode, sc *scope, lambda bool) *block {
	blk := &block{params: b.params}
	blk.fn = func(args []Value) (Value, error) {
		inner := &scope{vars: map[string]Value{}, parent: sc}
		if err := ev.bind(b.params, args, nil, inner, lambda, b); err != nil {
			return nil, err
		}
		v, err := ev.eval(b.body, inner)
		if j, ok := asJump(err, "next"); ok {
			return j.val, nil
		}
		if lambda {
			if j, ok := asJump(err, "return"); ok {
				return j.val, nil
			}
			if j, ok := asJump(err, "break"); ok {
				return j.val, nil
			}
		}
		return v, err
	}
	return blk
}

// bind assigns arguments to parameters in sc. strict (methods and
// lambdas) checks their number as Ruby does; a block takes what it gets.
func (ev *evaluator) bind(pl *paramList, args []Value, blk *block, sc *scope, strict bool, n node) error {
	if pl == nil {
		if strict && len(args) > 0 {
			return argErr(n, "wrong number of arguments (given %d, expected 0)", len(args))
		}
		return nil
	}
	var kw *Hash
	if len(pl.keys) > 0 && len(args) > 0 {
		if h, ok := args[len(args)-1].(*Hash); ok && allSymbolKeys(h) {
			kw, args = h, args[:len(args)-1]
		}
	}
	positional := pl.positional()
	if !strict && len(args) == 1 && (positional > 1 || positional > 0 && pl.rest != "") {
		if a, ok := args[0].(*Array); ok {
			args = a.elems
		}
	}
	if strict {
		req := len(pl.required)
		if len(args) < req || pl.rest == "" && len(args) > positional {
			want := fmt.Sprint(req)
			switch {
			case pl.rest != "":
				want += "+"
			case len(pl.optional) > 0:
				want += fmt.Sprintf("..%d", positional)
			}
			return argErr(n, "wrong number of arguments (given %d, expected %s)", len(args), want)
		}
	}
	at := func(i int) Value {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	for i, name := range pl.required {
		if sub, ok := pl.nested[name]; ok {
			v := at(i)
			parts := []Value{v}
			if a, isArray := v.(*Array); isArray {
				parts = a.elems
			}
			if err := ev.bind(sub, parts, nil, sc, false, n); err != nil {
				return err
			}
			continue
		}
		sc.vars[name] = at(i)
	}
	k := len(pl.required)
	for i, name := range pl.optional {
		if k < len(args) {
			sc.vars[name] = args[k]
		} else {
			v, err := ev.eval(pl.defaults[i], sc)
			if err != nil {
				return err
			}
			sc.vars[name] = v
		}
		k++
	}
	if pl.rest != "" {
		rest := &Array{}
		if k < len(args) {
			rest.elems = append(rest.elems, args[k:]...)
		}
		if pl.rest != "*" {
			sc.vars[pl.rest] = rest
		}
	}
	used := 0
	var missing []string
	for i, name := range pl.keys {
		if kw != nil {
			if v, ok := kw.get(Symbol(name)); ok {
				sc.vars[name] = v
				used++
				continue
			}
		}
		if pl.keyDefs[i] == nil {
			missing = append(missing, ":"+name)
			continue
		}
		v, err := ev.eval(pl.keyDefs[i], sc)
		if err != nil {
			return err
		}
		sc.vars[name] = v
	}
	if len(missing) > 0 {
		word := "keyword"
		if len(missing) > 1 {
			word = "keywords"
		}
		return argErr(n, "missing %s: %s", word, strings.Join(missing, ", "))
	}
	if kw != nil && used < len(kw.keys) {
		for _, key := range kw.keys {
			if !contains(pl.keys, string(key.(Symbol))) {
				return argErr(n, "unknown keyword: %s", inspect(key))
			}
		}
	}
	if pl.block != "" {
		if blk == nil {
			sc.vars[pl.block] = nil
		} else if blk.proc != nil {
			sc.vars[pl.block] = blk.proc
		} else {
			sc.vars[pl.block] = &Proc{blk: blk, arity: arity(blk.params, false)}
		}
	}
	return nil
}

func allSymbolKeys(h *Hash) bool {
	for _, k := range h.keys {
		if _, ok := k.(Symbol); !ok {
			return false
		}
	}
	return true
}

// arity is Proc#arity: the number of required arguments, or -n-1 when
// more may be given (a lambda's optional arguments count, a proc's not).
func arity(pl *paramList, lambda bool) int {
	if pl == nil {
		return 0
	}
	req := len(pl.required)
	reqKey := false
	for _, d := range pl.keyDefs {
		if d == nil {
			reqKey = true
		}
	}
	if reqKey {
		req++
	}
	if pl.rest != "" || lambda && (len(pl.optional) > 0 || len(pl.keys) > 0 && !reqKey) {
		return -req - 1
	}
	return req
}

// invoke calls a method defined with def.
func (ev *evaluator) invoke(m *method, args []Value, blk *block, n node) (Value, error) {
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > maxCallDepth {
		return nil, raiseAt(n, "SystemStackError", "stack level too deep")
	}
	sc := &scope{vars: map[string]Value{}, block: blk, method: true}
	if err := ev.bind(m.def.params, args, blk, sc, true, n); err != nil {
		return nil, err
	}
	v, err := ev.eval(m.def.body, sc)
	if j, ok := asJump(err, "return"); ok {
		return j.val, nil
	}
	return v, err
}

// maxCallDepth bounds recursion of methods and lambdas.
const maxCallDepth = 200

// callProc calls a lambda or proc.
func (ev *evaluator) callProc(p *Proc, args []Value, n node) (Value, error) {
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > maxCallDepth {
		return nil, raiseAt(n, "SystemStackError", "stack level too deep")
	}
	return p.blk.fn(args) // a lambda's block checks its arguments itself
}

func (ev *evaluator) procMethod(p *Proc, name string, args []Value, blk *block, n node) (Value, error) {
	switch name {
	case "call", "()", "yield", "[]", "===":
		return ev.callProc(p, args, n)
	case "to_proc":
		return p, nil
	case "lambda?":
		return p.lambda, nil
	case "arity":
		return int64(p.arity), nil
	case "parameters":
		return nil, unsupported(n)
	}
	return nil, unsupported(n)
}

// evalControl evaluates the control-flow nodes.
func (ev *evaluator) evalControl(n node, sc *scope) (Value, error) {
	switch n := n.(type) {
	case *whileNode:
		for {
			if err := ev.tick(n); err != nil {
				return nil, err
			}
			c, err := ev.eval(n.cond, sc)
			if err != nil {
				return nil, err
			}
			if truthy(c) == n.until {
				return nil, nil
			}
			_, err = ev.eval(n.body, sc)
			if j, ok := asJump(err, "break"); ok {
				return j.val, nil
			}
			if _, ok := asJump(err, "next"); ok {
				continue
			}
			if err != nil {
				return nil, err
			}
		}
	case *forNode:
		iter, err := ev.eval(n.iter, sc)
		if err != nil {
			return nil, err
		}
		blk := &block{fn: func(args []Value) (Value, error) {
			if len(n.vars) > 1 && len(args) == 1 {
				if a, ok := args[0].(*Array); ok {
					args = a.elems
				}
			}
			for i, v := range n.vars {
				var val Value
				if i < len(args) {
					val = args[i]
				}
				sc.assign(v.name, val, v.up)
			}
			_, err := ev.eval(n.body, sc)
			if j, ok := asJump(err, "next"); ok {
				return j.val, nil
			}
			return nil, err
		}}
		v, err := ev.send(iter, "each", nil, blk, n)
		if j, ok := asJump(err, "break"); ok {
			return j.val, nil
		}
		return v, err
	case *jumpNode:
		var v Value
		if n.val != nil {
			var err error
			if v, err = ev.eval(n.val, sc); err != nil {
				return nil, err
			}
		}
		return nil, &jump{kind: n.kind, val: v, n: n}
	case *caseNode:
		return ev.evalCase(n, sc)
	case *rescueNode:
		return ev.rescue(n, sc)
	case *defNode:
		ev.methods[n.name] = &method{def: n}
		return Symbol(n.name), nil
	case *constAssignNode:
		return ev.assignConst(n, sc)
	case *lambdaNode:
		return &Proc{blk: ev.blockOf(n.block, sc, n.lambda), lambda: n.lambda, arity: arity(n.block.params, n.lambda)}, nil
	case *yieldNode:
		var blk *block
		for c := sc; c != nil; c = c.parent {
			if c.method {
				blk = c.block
				break
			}
		}
		if blk == nil {
			return nil, raiseAt(n, "LocalJumpError", "no block given (yield)")
		}
		args, err := ev.evalArgs(n.args, sc)
		if err != nil {
			return nil, err
		}
		return blk.fn(args)
	case *definedNode:
		return ev.defined(n.expr, sc)
	case *rangeNode:
		r := &Range{excl: n.excl}
		var err error
		if n.from != nil {
			if r.first, err = ev.eval(n.from, sc); err != nil {
				return nil, err
			}
		}
		if n.to != nil {
			if r.last, err = ev.eval(n.to, sc); err != nil {
				return nil, err
			}
		}
		if !rangeable(r.first, r.last) {
			return nil, argErr(n, "bad value for range")
		}
		return r, nil
	case *splatNode, *blockPassNode:
		return nil, unsupported(n)
	}
	return nil, unsupported(n)
}

// evalCase runs case/when, comparing with === as Ruby does.
func (ev *evaluator) evalCase(n *caseNode, sc *scope) (Value, error) {
	var subject Value
	if n.subject != nil {
		v, err := ev.eval(n.subject, sc)
		if err != nil {
			return nil, err
		}
		subject = v
	}
	for _, w := range n.whens {
		for i, vn := range w.vals {
			v, err := ev.eval(vn, sc)
			if err != nil {
				return nil, err
			}
			candidates := []Value{v}
			if w.splat[i] {
				if a, ok := v.(*Array); ok {
					candidates = a.elems
				}
			}
			for _, c := range candidates {
				var hit bool
				if n.subject == nil {
					hit = truthy(c)
				} else {
					r, err := ev.caseEq(c, subject, vn)
					if err != nil {
						return nil, err
					}
					hit = r
				}
				if hit {
					return ev.eval(w.body, sc)
				}
			}
		}
	}
	if n.els != nil {
		return ev.eval(n.els, sc)
	}
	return nil, nil
}

// caseEq is pattern === value: a class matches its instances, a range
// what it covers, a regexp a matching string, a proc what it accepts.
func (ev *evaluator) caseEq(pattern, v Value, n node) (bool, error) {
	switch p := pattern.(type) {
	case module:
		if isClass(string(p)) {
			return isA(v, string(p)), nil
		}
	case *Range:
		return p.cover(v), nil
	case *Regexp:
		s, ok := v.(string)
		if sym, isSym := v.(Symbol); isSym {
			s, ok = string(sym), true
		}
		if !ok {
			return false, nil
		}
		return ev.matchRegexp(p, s) != nil, nil
	case *Proc:
		r, err := ev.callProc(p, []Value{v}, n)
		return truthy(r), err
	}
	return equal(pattern, v), nil
}

// assignConst defines a constant; redefining one warns as Ruby does.
func (ev *evaluator) assignConst(n *constAssignNode, sc *scope) (Value, error) {
	if sc.inMethod() {
		return nil, unsupported(n) // Ruby: dynamic constant assignment
	}
	prev, defined := ev.consts[n.name]
	if n.op != "" {
		if !defined {
			if n.op != "||" {
				return nil, raiseAt(n, "NameError", "uninitialized constant %s", n.name)
			}
		} else if n.op == "||" && truthy(prev.val) || n.op == "&&" && !truthy(prev.val) {
			return prev.val, nil
		}
	}
	v, err := ev.eval(n.value, sc)
	if err != nil {
		return nil, err
	}
	if n.op != "" && n.op != "||" && n.op != "&&" {
		if v, err = ev.send(prev.val, n.op, []Value{v}, nil, n); err != nil {
			return nil, err
		}
	}
	if defined {
		fmt.Fprintf(ev.opts.Stderr, "%s:%d: warning: already initialized constant %s\n", erbFile, n.line, n.name)
		fmt.Fprintf(ev.opts.Stderr, "%s:%d: warning: previous definition of %s was here\n", erbFile, prev.line, n.name)
	}
	ev.consts[n.name] = constant{val: v, line: n.line}
	return v, nil
}

// erbFile is the file name Ruby gives code evaluated by ERB#result, as
// Kamal renders: warnings and __FILE__ say "(erb)".
const erbFile = "(erb)"

type constant struct {
	val  Value
	line int
}

// defined is defined?(expr).
func (ev *evaluator) defined(e node, sc *scope) (Value, error) {
	switch x := e.(type) {
	case *localNode:
		return "local-variable", nil
	case *assignNode, *opAssignNode, *indexAssignNode, *constAssignNode:
		return "assignment", nil
	case *nilNode, *boolNode, *selfNode:
		return "expression", nil
	case *constNode:
		if _, err := ev.constant(x); err != nil {
			return nil, nil
		}
		return "constant", nil
	case *globalNode:
		// $stdout is always there; $?, $~, $! and $1 only once set.
		if v, err := ev.global(x); err != nil || v == nil {
			return nil, nil
		}
		return "global-variable", nil
	case *yieldNode:
		for c := sc; c != nil; c = c.parent {
			if c.method && c.block != nil {
				return "yield", nil
			}
		}
		return nil, nil
	case *callNode:
		if x.recv == nil {
			if _, ok := ev.methods[x.name]; ok || kernelMethods[x.name] {
				return "method", nil
			}
			return nil, nil
		}
		if _, err := ev.eval(x.recv, sc); err != nil {
			return nil, nil
		}
		return "method", nil
	case *seqNode:
		if len(x.stmts) == 1 {
			return ev.defined(x.stmts[0], sc)
		}
	}
	return "expression", nil
}

// kernelMethods are the receiver-less methods defined? reports.
var kernelMethods = map[string]bool{
	"puts": true, "print": true, "p": true, "pp": true, "warn": true, "format": true, "sprintf": true,
	"require": true, "raise": true, "fail": true, "loop": true, "lambda": true, "proc": true,
	"Integer": true, "Float": true, "String": true, "Array": true, "Hash": true, "URI": true,
	"__dir__": true, "block_given?": true, "rand": true, "sleep": true, "binding": true,
}
