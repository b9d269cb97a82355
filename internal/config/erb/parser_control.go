package erb

import "strconv"

// This file parses control structures: case, while/until/for, break,
// next and return, def, lambdas, ranges, constants and defined?.

// params parses a parameter list up to (not including) the token for
// which end reports true: a, b = 1, *rest, key:, key: 1, &blk. In a
// block's |...| a default stops before "|". Each name is declared in the
// innermost scope, shadowing outer variables.
func (p *parser) params(end func() bool, pipes bool) *paramList {
	pl := &paramList{}
	declare := func(name string) { (*p.scopes)[len(*p.scopes)-1][name] = true }
	for !end() {
		t := p.next()
		switch {
		case t.kind == tIdent && p.isOp("="):
			p.i++
			var def node
			if pipes {
				def = p.binary(5) // "|" would end the list
			} else {
				def = p.ternary()
			}
			pl.optional = append(pl.optional, t.val)
			pl.defaults = append(pl.defaults, def)
			declare(t.val)
		case t.kind == tIdent:
			if len(pl.optional) > 0 || pl.rest != "" {
				p.fail(t) // required parameters after optional ones
			}
			pl.required = append(pl.required, t.val)
			declare(t.val)
		case t.kind == tOp && t.val == "(":
			// A destructured parameter: |(key, value), index|
			sub := p.params(func() bool { return p.isOp(")") }, false)
			p.i++
			name := "(" + strconv.Itoa(len(pl.required))
			if pl.nested == nil {
				pl.nested = map[string]*paramList{}
			}
			pl.nested[name] = sub
			pl.required = append(pl.required, name)
		case t.kind == tOp && t.val == "*" && pl.rest == "":
			pl.rest = "*"
			if n := p.peek(); n.kind == tIdent {
				p.i++
				pl.rest = n.val
				declare(n.val)
			}
		case t.kind == tLabel:
			pl.keys = append(pl.keys, t.val)
			declare(t.val)
			if n := p.peek(); n.kind == tOp && (n.val == "," || n.val == "|" || n.val == ")") || n.kind == tNewline {
				pl.keyDefs = append(pl.keyDefs, nil)
			} else if pipes {
				pl.keyDefs = append(pl.keyDefs, p.binary(5))
			} else {
				pl.keyDefs = append(pl.keyDefs, p.ternary())
			}
		case t.kind == tOp && t.val == "&" && p.peek().kind == tIdent:
			pl.block = p.next().val
			declare(pl.block)
		default:
			p.fail(t)
		}
		if end() {
			break
		}
		if !p.isOp(",") {
			p.fail(p.peek())
		}
		p.i++
		p.skipNewlines()
	}
	return pl
}

// rangeOp parses "a..b", "a...b" and the endless "a..".
func (p *parser) rangeOp(start int) node {
	from := p.binary(0)
	if !p.isOp("..") && !p.isOp("...") {
		return from
	}
	excl := p.next().val == "..."
	r := &rangeNode{from: from, excl: excl}
	if p.startsValue() {
		r.to = p.binary(0)
	}
	r.position = p.span(start)
	return r
}

// startsValue reports whether the next token can begin an expression
// (after "..", "break", "return"...).
func (p *parser) startsValue() bool {
	t := p.peek()
	switch t.kind {
	case tEOF, tNewline, tText, tOutputEnd, tOutputBegin, tLabel:
		return false
	case tKeyword:
		switch t.val {
		case "if", "unless", "while", "until", "end", "then", "do", "else", "elsif", "when", "and", "or", "rescue", "ensure", "in":
			return false
		}
	case tOp:
		switch t.val {
		case "(", "[", "-", "!", "->", "::", "..", "...", "{", "~":
			return true
		}
		return false
	}
	return true
}

// keywordExpr parses the constructs that start with a keyword.
func (p *parser) keywordExpr(t token, start int) node {
	switch t.val {
	case "case":
		return p.caseExpr(start)
	case "while", "until":
		cond, body := p.loop(start)
		return &whileNode{position: p.span(start), cond: cond, body: body, until: t.val == "until"}
	case "for":
		var vars []*localNode
		for {
			v := p.next()
			if v.kind != tIdent {
				p.fail(v)
			}
			p.declare(v.val)
			vars = append(vars, &localNode{position: position{line: v.line, src: v.val}, name: v.val, up: p.scopeDepth(v.val)})
			if !p.isOp(",") {
				break
			}
			p.i++
		}
		if !p.isKw("in") {
			p.fail(p.peek())
		}
		p.i++
		iter, body := p.loop(start)
		return &forNode{position: p.span(start), vars: vars, iter: iter, body: body}
	case "break", "next", "return":
		j := &jumpNode{kind: t.val}
		if p.startsValue() {
			j.val = p.expr()
			if p.isOp(",") {
				p.fail(p.peek())
			}
		}
		j.position = p.span(start)
		return j
	case "def":
		return p.defExpr(start)
	case "yield":
		y := &yieldNode{}
		if p.isOp("(") && !p.peek().space {
			p.i++
			y.args, _ = p.argList(")")
		} else if p.startsValue() {
			y.args, _ = p.commandArgs()
		}
		y.position = p.span(start)
		return y
	case "defined?":
		var e node
		if p.isOp("(") {
			p.i++
			p.skipNewlines()
			e = p.exprStmt()
			p.skipNewlines()
			p.expectOp(")")
		} else {
			e = p.expr()
		}
		return &definedNode{position: p.span(start), expr: e}
	case "begin":
		body := p.bodyWithRescue(start)
		if p.isKw("while") || p.isKw("until") {
			p.fail(p.peek()) // begin ... end while: runs the body first
		}
		return body
	case "__FILE__":
		return &strNode{position: p.span(start), parts: []strNodePart{{lit: "(erb)"}}, kind: tString}
	case "__LINE__":
		return &intNode{position: p.span(start), val: int64(t.line)}
	}
	p.i--
	p.fail(t)
	return nil
}

// loop parses the rest of a while, until or for: "expr [do] body end".
// A "do" after the expression belongs to the loop, not to a call in it.
func (p *parser) loop(start int) (head, body node) {
	p.noDo++
	head = p.exprStmt()
	p.noDo--
	if p.isKw("do") {
		p.i++
	} else {
		p.afterCond()
	}
	body = p.stmts(func(t token) bool { return t.kind == tKeyword && t.val == "end" })
	p.closeEnd(start)
	return head, body
}

// closeEnd consumes the "end" of a construct opened at token start.
func (p *parser) closeEnd(start int) {
	if !p.isKw("end") {
		p.unclosed(start)
	}
	p.i++
}

func (p *parser) caseExpr(start int) node {
	stmtStart := p.stmt
	c := &caseNode{}
	if p.peek().kind != tNewline && !p.isKw("when") {
		c.subject = p.exprStmt()
	}
	p.skipNewlines()
	isEnd := func(t token) bool {
		return t.kind == tKeyword && (t.val == "when" || t.val == "else" || t.val == "end")
	}
	for p.isKw("when") {
		p.i++
		var w whenClause
		for {
			p.skipNewlines()
			splat := p.isOp("*")
			if splat {
				p.i++
			}
			p.noDo++
			w.vals = append(w.vals, p.ternary())
			p.noDo--
			w.splat = append(w.splat, splat)
			if !p.isOp(",") {
				break
			}
			p.i++
		}
		p.afterCond()
		w.body = p.stmts(isEnd)
		c.whens = append(c.whens, w)
	}
	if len(c.whens) == 0 {
		p.fail(p.peek()) // "case ... in" pattern matching, or text before the first when
	}
	if p.isKw("else") {
		p.i++
		c.els = p.stmts(func(t token) bool { return t.kind == tKeyword && t.val == "end" })
	}
	if !p.isKw("end") {
		p.stmt = stmtStart
		p.unclosed(start)
	}
	p.i++
	c.position = p.span(start)
	return c
}

// defExpr parses "def name(params) body end" and "def name(params) = expr".
// The body sees only its parameters: a method has its own local variables.
func (p *parser) defExpr(start int) node {
	name := p.next()
	if name.kind != tIdent && name.kind != tConst && !(name.kind == tKeyword) {
		p.fail(name)
	}
	if p.isOp(".") {
		p.fail(p.peek()) // def self.x
	}
	saved := *p.scopes
	*p.scopes = []map[string]bool{{}}
	defer func() { *p.scopes = saved }()
	d := &defNode{name: name.val}
	switch {
	case p.isOp("(") && !p.peek().space:
		p.i++
		p.skipNewlines()
		d.params = p.params(func() bool { p.skipNewlines(); return p.isOp(")") }, false)
		p.i++
	case p.peek().kind == tIdent || p.peek().kind == tLabel || p.isOp("*") || p.isOp("&"):
		d.params = p.params(func() bool { return p.peek().kind == tNewline }, false)
	default:
		d.params = &paramList{}
	}
	if p.isOp("=") {
		// Endless method: def twice(x) = x * 2
		p.i++
		p.skipNewlines()
		d.body = p.stmt1()
		d.position = p.span(start)
		return d
	}
	d.body = p.bodyWithRescue(start)
	d.position = p.span(start)
	return d
}

// bodyWithRescue parses statements up to "end", with optional rescue
// clauses, else and ensure (in begin ... end and method bodies).
func (p *parser) bodyWithRescue(start int) node {
	stop := func(words ...string) func(token) bool {
		return func(t token) bool { return t.kind == tKeyword && contains(words, t.val) }
	}
	body := p.stmts(stop("rescue", "else", "ensure", "end"))
	if !p.isKw("rescue") && !p.isKw("ensure") {
		p.closeEnd(start)
		return body
	}
	r := &rescueNode{body: body}
	for p.isKw("rescue") {
		p.i++
		var c rescueClause
		for p.startsValue() && !p.isOp("=>") {
			c.classes = append(c.classes, p.ternary())
			if !p.isOp(",") {
				break
			}
			p.i++
		}
		if p.isOp("=>") {
			p.i++
			v := p.next()
			if v.kind != tIdent {
				p.fail(v)
			}
			p.declare(v.val)
			c.bind = &localNode{position: position{line: v.line, src: v.val}, name: v.val, up: p.scopeDepth(v.val)}
		}
		p.afterCond()
		c.body = p.stmts(stop("rescue", "else", "ensure", "end"))
		r.clauses = append(r.clauses, c)
	}
	if p.isKw("else") {
		p.i++
		r.els = p.stmts(stop("ensure", "end"))
	}
	if p.isKw("ensure") {
		p.i++
		r.ensure = p.stmts(stop("end"))
	}
	p.closeEnd(start)
	r.position = p.span(start)
	return r
}

// lambda parses "->(params) { body }" or "-> x do body end" after "->".
func (p *parser) lambda(start int) node {
	outer := p.stmt
	p.pushScope()
	defer p.popScope()
	b := &blockNode{params: &paramList{}}
	switch {
	case p.isOp("("):
		p.i++
		p.skipNewlines()
		b.params = p.params(func() bool { p.skipNewlines(); return p.isOp(")") }, false)
		p.i++
	case p.peek().kind == tIdent || p.peek().kind == tLabel || p.isOp("*") || p.isOp("&"):
		b.params = p.params(func() bool { return p.isOp("{") || p.isKw("do") }, false)
	}
	closer := "}"
	switch {
	case p.isOp("{"):
	case p.isKw("do"):
		closer = "end"
	default:
		p.fail(p.peek())
	}
	open := p.i
	saved := p.noDo
	p.noDo = 0
	p.i++
	b.body = p.stmts(func(t token) bool {
		if closer == "}" {
			return t.kind == tOp && t.val == "}"
		}
		return t.kind == tKeyword && t.val == "end"
	})
	p.noDo = saved
	if closer == "}" && !p.isOp("}") || closer == "end" && !p.isKw("end") {
		p.stmt = outer
		p.unclosed(open)
	}
	p.i++
	b.position = p.span(start)
	return &lambdaNode{position: b.position, block: b, lambda: true}
}
