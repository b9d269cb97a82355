package erb

import (
	"errors"
	"strconv"
	"strings"
)

// maxParseDepth bounds parser recursion (each nesting level of an
// expression uses about a dozen frames).
const maxParseDepth = 2000

// syntaxError is anything the parser does not take; it is reported as
// unsupported Ruby at the given line.
type syntaxError struct {
	line    int
	snippet string
}

// compileTemplate turns a template into one token stream: text segments
// become tText tokens, <%= %> tags are bracketed by tOutputBegin/End, and
// every <% %> tag ends with a statement separator. Blocks may therefore
// span tags and contain text.
func compileTemplate(src string) ([]token, []string, *syntaxError) {
	segs, terr := splitTemplate(src)
	if terr != nil {
		return nil, nil, &syntaxError{line: terr.line, snippet: snippetOf(terr.snippet)}
	}
	var toks []token
	var codes []string
	for _, s := range segs {
		switch s.kind {
		case segText:
			toks = append(toks, token{kind: tText, val: s.text, line: s.line, seg: -1})
		case segCode, segOutput:
			idx := len(codes)
			codes = append(codes, s.text)
			ct, lerr := lexCode(s.text, s.line, idx, &codes)
			if lerr != nil {
				return nil, nil, &syntaxError{line: lerr.line, snippet: lerr.snippet}
			}
			if s.kind == segOutput {
				toks = append(toks, token{kind: tOutputBegin, line: s.line, seg: idx})
				toks = append(toks, ct...)
				toks = append(toks, token{kind: tOutputEnd, line: s.line, seg: idx, off: len(s.text)})
			} else {
				toks = append(toks, ct...)
				toks = append(toks, token{kind: tNewline, line: s.line, seg: idx, off: len(s.text)})
			}
		}
	}
	return toks, codes, nil
}

type parser struct {
	toks   []token
	i      int
	codes  []string
	scopes *[]map[string]bool
	depth  int
	noDo   int // >0 while parsing command arguments: "do" belongs to the outer call
	stmt   int // index of the first token of the current statement
	// implicit tracks, for each block being parsed without |params|, the
	// implicit parameters its body uses (_1, _2 ... or it).
	implicit *[]*implicitParams
}

type implicitParams struct {
	numbered int  // the highest _N used
	it       bool // "it" used
}

func parseProgram(toks []token, codes []string) (node, *syntaxError) {
	scopes := []map[string]bool{{}}
	p := &parser{toks: toks, codes: codes, scopes: &scopes, implicit: &[]*implicitParams{}}
	var perr *syntaxError
	body := p.safeStmts(&perr, func(t token) bool { return false })
	if perr != nil {
		return nil, perr
	}
	if p.peek().kind != tEOF {
		return nil, p.errAt(p.peek())
	}
	return body, nil
}

// bail carries a syntax error up through the recursive descent.
type bail struct{ err *syntaxError }

func (p *parser) safeStmts(out **syntaxError, stop func(token) bool) (n node) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			*out = b.err
			n = nil
		}
	}()
	return p.stmts(stop)
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	t := token{kind: tEOF, seg: -1}
	if len(p.toks) > 0 {
		last := p.toks[len(p.toks)-1]
		t.line, t.seg, t.off = last.line, last.seg, last.end
	}
	return t
}

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return token{kind: tEOF, seg: -1}
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *parser) isOp(v string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == v
}

func (p *parser) isKw(v string) bool {
	t := p.peek()
	return t.kind == tKeyword && t.val == v
}

func (p *parser) skipNewlines() {
	for p.peek().kind == tNewline {
		p.i++
	}
}

func (p *parser) expectOp(v string) {
	if !p.isOp(v) {
		p.fail(p.peek())
	}
	p.i++
}

// errAt builds the error for an unexpected token. Tokens outside code
// (template text, tag ends) are reported with the statement being parsed.
func (p *parser) errAt(t token) *syntaxError {
	if t.seg >= 0 && t.kind != tNewline && t.kind != tOutputEnd && t.kind != tOutputBegin && t.kind != tEOF {
		return &syntaxError{line: t.line, snippet: snippetOf(p.codes[t.seg][t.off:])}
	}
	if p.stmt < len(p.toks) {
		s := p.toks[p.stmt]
		if s.seg >= 0 && s.kind != tText && s.kind != tOutputBegin {
			return &syntaxError{line: s.line, snippet: snippetOf(p.codes[s.seg][s.off:])}
		}
		if s.kind == tOutputBegin {
			return &syntaxError{line: s.line, snippet: snippetOf(p.codes[s.seg])}
		}
	}
	return &syntaxError{line: t.line, snippet: snippetOf(t.val)}
}

func (p *parser) fail(t token) { panic(bail{p.errAt(t)}) }

// failNode reports a construct that parsed but is outside the subset.
func (p *parser) failAt(line int, snippet string) {
	panic(bail{&syntaxError{line: line, snippet: snippetOf(snippet)}})
}

// span gives the position of the tokens from index start to the last one consumed.
func (p *parser) span(start int) position {
	if start >= len(p.toks) {
		start = len(p.toks) - 1
	}
	if start < 0 {
		return position{}
	}
	first := p.toks[start]
	last := first
	if p.i-1 > start && p.i-1 < len(p.toks) {
		last = p.toks[p.i-1]
	}
	pos := position{line: first.line}
	if first.seg >= 0 && first.kind != tText {
		code := p.codes[first.seg]
		if last.seg == first.seg && last.end > first.off && last.end <= len(code) {
			pos.src = strings.TrimSpace(code[first.off:last.end])
		} else if first.off <= len(code) {
			pos.src = snippetOf(code[first.off:])
		}
	}
	return pos
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxParseDepth {
		p.fail(p.peek())
	}
}

func (p *parser) leave() { p.depth-- }

// declare makes name a local variable of the innermost scope unless an
// enclosing scope already has it.
func (p *parser) declare(name string) {
	if p.isLocal(name) {
		return
	}
	s := *p.scopes
	s[len(s)-1][name] = true
}

func (p *parser) isLocal(name string) bool {
	for _, s := range *p.scopes {
		if s[name] {
			return true
		}
	}
	return false
}

// scopeDepth says how many block scopes up a local variable is declared.
func (p *parser) scopeDepth(name string) int {
	s := *p.scopes
	for i := len(s) - 1; i >= 0; i-- {
		if s[i][name] {
			return len(s) - 1 - i
		}
	}
	return 0
}

func (p *parser) pushScope() { *p.scopes = append(*p.scopes, map[string]bool{}) }
func (p *parser) popScope()  { *p.scopes = (*p.scopes)[:len(*p.scopes)-1] }

// stmts parses statements until stop says the next token ends the list
// (the stopping token is not consumed) or input ends.
func (p *parser) stmts(stop func(token) bool) node {
	p.enter()
	defer p.leave()
	start := p.i
	seq := &seqNode{}
	for {
		p.skipNewlines()
		t := p.peek()
		if t.kind == tEOF || stop(t) {
			break
		}
		st := p.stmt1()
		seq.stmts = append(seq.stmts, st)
		t = p.peek()
		_, isText := st.(*textNode)
		_, isOutput := st.(*outputNode)
		switch {
		case t.kind == tNewline:
			p.i++
		case isText || isOutput: // a tag boundary separates statements
		case t.kind == tEOF || t.kind == tText || t.kind == tOutputBegin || stop(t):
		default:
			p.fail(t)
		}
	}
	seq.position = p.span(start)
	return seq
}

// stmt1 parses one statement with its trailing if/unless modifiers.
func (p *parser) stmt1() node {
	p.stmt = p.i
	t := p.peek()
	switch t.kind {
	case tText:
		p.i++
		return &textNode{position: position{line: t.line}, text: t.val}
	case tOutputBegin:
		p.i++
		body := p.stmts(func(t token) bool { return t.kind == tOutputEnd })
		if p.peek().kind != tOutputEnd {
			p.fail(p.peek())
		}
		p.i++
		return &outputNode{position: position{line: t.line, src: snippetOf(p.codes[t.seg])}, expr: body}
	}
	start := p.i
	n := p.exprStmt()
	for {
		switch {
		case p.isKw("if") || p.isKw("unless"):
			neg := p.next().val == "unless"
			cond := p.exprStmt()
			n = &ifNode{position: p.span(start), cond: cond, then: n, negate: neg}
			continue
		case p.isKw("while") || p.isKw("until"):
			until := p.next().val == "until"
			cond := p.exprStmt()
			n = &whileNode{position: p.span(start), cond: cond, body: n, until: until}
			continue
		case p.isKw("rescue"):
			// "x = expr rescue value" rescues expr, not the assignment.
			p.i++
			fallback := p.exprStmt()
			wrap := func(body node) node {
				return &rescueNode{position: p.span(start), body: body, clauses: []rescueClause{{body: fallback}}}
			}
			switch a := n.(type) {
			case *assignNode:
				a.value = wrap(a.value)
			case *opAssignNode:
				a.value = wrap(a.value)
			case *constAssignNode:
				a.value = wrap(a.value)
			default:
				n = wrap(n)
			}
			continue
		}
		return n
	}
}

// exprStmt: not / and / or, the lowest-precedence operators.
func (p *parser) exprStmt() node {
	start := p.i
	left := p.notExpr()
	for p.isKw("and") || p.isKw("or") {
		op := p.next().val
		p.skipNewlines()
		right := p.notExpr()
		if op == "and" {
			left = &andNode{position: p.span(start), left: left, right: right}
		} else {
			left = &orNode{position: p.span(start), left: left, right: right}
		}
	}
	return left
}

func (p *parser) notExpr() node {
	start := p.i
	if p.isKw("not") {
		p.i++
		e := p.notExpr()
		return &notNode{position: p.span(start), expr: e}
	}
	return p.expr()
}

var opAssigns = map[string]string{"||=": "||", "&&=": "&&", "+=": "+", "-=": "-", "*=": "*"}

// expr: assignment (right associative) or a ternary expression.
func (p *parser) expr() node {
	p.enter()
	defer p.leave()
	start := p.i
	t := p.peek()
	if n := p.peekAt(1); t.kind == tConst && n.kind == tOp && (n.val == "=" || opAssigns[n.val] != "") {
		p.i += 2
		p.skipNewlines()
		v := p.exprRHS()
		return &constAssignNode{position: p.span(start), name: t.val, op: opAssigns[n.val], value: v}
	}
	if t.kind == tIdent && !strings.HasSuffix(t.val, "?") && !strings.HasSuffix(t.val, "!") {
		n := p.peekAt(1)
		if n.kind == tOp && n.val == "=" {
			p.i += 2
			p.declare(t.val)
			p.skipNewlines()
			v := p.exprRHS()
			return &assignNode{position: p.span(start), name: t.val, value: v, up: p.scopeDepth(t.val)}
		}
		if n.kind == tOp && opAssigns[n.val] != "" {
			p.i += 2
			p.declare(t.val)
			p.skipNewlines()
			v := p.exprRHS()
			target := &localNode{position: position{line: t.line, src: t.val}, name: t.val, up: p.scopeDepth(t.val)}
			return &opAssignNode{position: p.span(start), target: target, op: opAssigns[n.val], value: v}
		}
		if n.kind == tOp && n.val == "," && p.i == p.stmt {
			p.fail(t) // multiple assignment
		}
		if n.kind == tOp && (strings.HasSuffix(n.val, "=") && n.val != "==" && n.val != "=~" && n.val != "!=" && n.val != "<=" && n.val != ">=" && n.val != "===") && p.isLocal(t.val) {
			p.fail(t) // multiple assignment and other compound assignments
		}
	}
	left := p.ternary()
	if p.isOp("=") || opAssigns[p.peek().val] != "" && p.peek().kind == tOp {
		op := p.next().val
		call, ok := left.(*callNode)
		if !ok || call.name != "[]" || call.recv == nil {
			p.failAt(left.pos().line, p.span(start).src)
		}
		p.skipNewlines()
		v := p.exprRHS()
		if op == "=" {
			return &indexAssignNode{position: p.span(start), recv: call.recv, args: call.args, value: v}
		}
		return &opAssignNode{position: p.span(start), target: call, op: opAssigns[op], value: v}
	}
	return left
}

// exprRHS is the right-hand side of an assignment; "a = raise 'x'" and
// "a = b = c" are allowed, "a = 1, 2" is not.
func (p *parser) exprRHS() node {
	v := p.expr()
	if p.isOp(",") {
		p.fail(p.peek())
	}
	return v
}

func (p *parser) ternary() node {
	start := p.i
	cond := p.rangeOp(start)
	if p.isOp("?") {
		p.i++
		p.skipNewlines()
		a := p.ternary()
		p.skipNewlines()
		if p.peek().kind == tLabel {
			// "x ? a :b" lexed oddly; not worth supporting.
			p.fail(p.peek())
		}
		p.expectOp(":")
		p.skipNewlines()
		b := p.ternary()
		return &ifNode{position: p.span(start), cond: cond, then: a, els: b}
	}
	return cond
}

// Binary operator precedence levels, loosest first.
var binLevels = [][]string{
	{"||"},
	{"&&"},
	{"==", "!=", "=~", "!~", "===", "<=>"},
	{"<", "<=", ">", ">="},
	{"|", "^"},
	{"&"},
	{"<<", ">>"},
	{"+", "-"},
	{"*", "/", "%"},
}

func (p *parser) binary(level int) node {
	if level >= len(binLevels) {
		return p.unary()
	}
	p.enter()
	defer p.leave()
	start := p.i
	left := p.binary(level + 1)
	for {
		t := p.peek()
		if t.kind != tOp || !contains(binLevels[level], t.val) {
			return left
		}
		p.i++
		p.skipNewlines()
		right := p.binary(level + 1)
		pos := p.span(start)
		switch t.val {
		case "||":
			left = &orNode{position: pos, left: left, right: right}
		case "&&":
			left = &andNode{position: pos, left: left, right: right}
		case "!=":
			left = &notNode{position: pos, expr: &callNode{position: pos, recv: left, name: "==", args: []node{right}}}
		case "!~":
			left = &notNode{position: pos, expr: &callNode{position: pos, recv: left, name: "=~", args: []node{right}}}
		default:
			left = &callNode{position: pos, recv: left, name: t.val, args: []node{right}}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// unary parses unary minus, which binds less tightly than ** (-2 ** 2
// is -4) but a negative literal is one value (-2.abs is 2).
func (p *parser) unary() node {
	p.enter()
	defer p.leave()
	start := p.i
	switch {
	case p.isOp("-"):
		p.i++
		if t := p.peek(); (t.kind == tInt || t.kind == tFloat) && !t.space {
			if n := p.peekAt(1); n.kind == tOp && n.val == "**" {
				base := p.primary()
				return &callNode{position: p.span(start), recv: p.pow(base, start), name: "-@"}
			}
			p.i++
			lit := p.numberLiteral(token{kind: t.kind, val: "-" + t.val, line: t.line, seg: t.seg, off: t.off, end: t.end}, start)
			return p.pow(p.postfix(lit, start), start)
		}
		e := p.unary()
		return &callNode{position: p.span(start), recv: e, name: "-@"}
	case p.isOp("!"):
		p.i++
		e := p.unary()
		return &notNode{position: p.span(start), expr: e}
	case p.isOp("..") || p.isOp("..."):
		// A beginless range: ..5
		excl := p.next().val == "..."
		to := p.binary(0)
		return &rangeNode{position: p.span(start), to: to, excl: excl}
	case p.isOp("->"):
		p.i++
		return p.postfix(p.lambda(start), start)
	case p.isOp("+"), p.isOp("~"), p.isOp("*"), p.isOp("&"), p.isOp("**"), p.isOp("::"):
		p.fail(p.peek())
	}
	return p.pow(p.postfix(p.primary(), start), start)
}

// pow parses "base ** exponent", right associative; the exponent may be
// negative (2 ** -1).
func (p *parser) pow(base node, start int) node {
	if !p.isOp("**") {
		return base
	}
	p.i++
	p.skipNewlines()
	exp := p.unary()
	return &callNode{position: p.span(start), recv: base, name: "**", args: []node{exp}}
}

func (p *parser) numberLiteral(t token, start int) node {
	if t.kind == tFloat {
		v, err := strconv.ParseFloat(t.val, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			p.fail(t)
		}
		return &floatNode{position: p.span(start), val: v}
	}
	v, err := strconv.ParseInt(t.val, 10, 64)
	if err != nil {
		p.fail(t)
	}
	return &intNode{position: p.span(start), val: v}
}

// postfix parses method calls and indexing after a primary expression.
func (p *parser) postfix(n node, start int) node {
	for {
		t := p.peek()
		switch {
		case t.kind == tOp && t.val == "." && p.peekAt(1).kind == tOp && p.peekAt(1).val == "(":
			// f.(x) is f.call(x)
			p.i++
			call := &callNode{recv: n, name: "call"}
			p.callArgs(call, false)
			call.position = p.span(start)
			n = call
		case t.kind == tOp && t.val == "::" && p.peekAt(1).kind == tConst:
			c, ok := n.(*constNode)
			if !ok {
				p.fail(t)
			}
			p.i++
			name := p.next()
			if p.isOp("(") && !p.peek().space {
				call := &callNode{recv: n, name: name.val}
				p.callArgs(call, false)
				call.position = p.span(start)
				n = call
				continue
			}
			n = &constNode{position: p.span(start), name: c.name + "::" + name.val}
		case t.kind == tOp && (t.val == "." || t.val == "&." || t.val == "::" && p.peekAt(1).kind == tIdent):
			p.i++
			p.skipNewlines()
			name := p.next()
			if name.kind != tIdent && name.kind != tConst && name.kind != tKeyword {
				if name.kind == tLabel {
					p.i--
				}
				p.fail(name)
			}
			if p.peek().kind == tOp && opAssigns[p.peek().val] != "" {
				p.fail(p.peek()) // attribute op-assignment
			}
			call := &callNode{recv: n, name: name.val, safe: t.val == "&."}
			if p.isOp("=") && !p.isOp("==") && name.kind == tIdent {
				// Attribute assignment: os.name = value
				p.i++
				p.skipNewlines()
				call.name += "="
				call.args = []node{p.exprRHS()}
				call.position = p.span(start)
				return call
			}
			p.callArgs(call, false)
			call.position = p.span(start)
			n = call
		case t.kind == tOp && t.val == "[" && !t.space:
			p.i++
			args, _ := p.argList("]")
			n = &callNode{position: p.span(start), recv: n, name: "[]", args: args}
		default:
			return n
		}
	}
}

// callArgs parses the arguments and block of a call whose name was just
// read: "(args)", command arguments ("raise 'x'"), "{ |x| }" or "do |x| end".
func (p *parser) callArgs(call *callNode, bare bool) {
	t := p.peek()
	switch {
	case t.kind == tOp && t.val == "(" && !t.space:
		p.i++
		call.args, call.blockSym = p.argList(")")
		call.parens = true
	case t.space && p.startsCommandArg(t, bare):
		p.noDo++
		call.args, call.blockSym = p.commandArgs()
		p.noDo--
	}
	if call.blockSym != "" {
		return
	}
	switch {
	case p.isOp("{"):
		call.block = p.block("}")
	case p.isKw("do") && p.noDo == 0:
		call.block = p.block("end")
	}
}

// startsCommandArg reports whether t, after a method name and a blank,
// begins an argument rather than continuing an expression.
func (p *parser) startsCommandArg(t token, bare bool) bool {
	switch t.kind {
	case tInt, tFloat, tString, tXString, tSymbol, tWords, tSymbols, tRegexp, tIdent, tConst, tLabel, tGlobal:
		return true
	case tKeyword:
		return t.val == "nil" || t.val == "true" || t.val == "false" || t.val == "self" || t.val == "__dir__"
	case tOp:
		n := p.peekAt(1)
		switch t.val {
		case "(":
			return true
		case "[":
			return bare
		case "!", "-", "&", "*", "::", "->":
			// "foo !x", "foo -1", "foo &:sym": an argument when glued to what follows.
			return !n.space && n.kind != tNewline && n.kind != tEOF
		}
	}
	return false
}

// callArgs collects a call's arguments: positional ones, then "key: v"
// pairs that become one trailing hash, and an optional &:sym.
type callArgs struct {
	start            int
	args, keys, vals []node
	sym              string
}

// add parses the next argument into c.
func (c *callArgs) add(p *parser) {
	a, k, blk := p.arg()
	switch {
	case blk != "":
		c.sym = blk
	case k != nil:
		c.keys, c.vals = append(c.keys, k), append(c.vals, a)
	default:
		if len(c.keys) > 0 {
			p.fail(p.peek())
		}
		c.args = append(c.args, a)
	}
}

func (c *callArgs) done(p *parser) ([]node, string) {
	if len(c.keys) > 0 {
		c.args = append(c.args, &hashNode{position: p.span(c.start), keys: c.keys, vals: c.vals})
	}
	return c.args, c.sym
}

func (p *parser) commandArgs() ([]node, string) {
	c := &callArgs{start: p.i}
	for {
		c.add(p)
		if !p.isOp(",") || c.sym != "" {
			break
		}
		p.i++
		p.skipNewlines()
	}
	return c.done(p)
}

// argList parses comma-separated arguments up to closer, with trailing
// "key: v" / "k => v" pairs gathered into a hash and an optional &:sym.
func (p *parser) argList(closer string) ([]node, string) {
	c := &callArgs{start: p.i}
	saved := p.noDo
	p.noDo = 0
	defer func() { p.noDo = saved }()
	p.skipNewlines()
	for !p.isOp(closer) {
		if c.sym != "" {
			p.fail(p.peek())
		}
		c.add(p)
		p.skipNewlines()
		if !p.isOp(",") {
			break
		}
		p.i++
		p.skipNewlines()
	}
	p.skipNewlines()
	p.expectOp(closer)
	return c.done(p)
}

// arg parses one argument: a value, a "key: v" or "k => v" pair (the key is
// returned), or "&:sym" (the symbol name is returned).
func (p *parser) arg() (val node, key node, blockSym string) {
	t := p.peek()
	if t.kind == tLabel {
		p.i++
		p.skipNewlines()
		key = &strNode{position: position{line: t.line, src: t.val}, parts: []strNodePart{{lit: t.val}}, kind: tSymbol}
		return p.expr(), key, ""
	}
	if t.kind == tOp && t.val == "&" {
		p.i++
		s := p.peek()
		if s.kind == tSymbol && len(s.parts) == 1 && !s.parts[0].isCode {
			p.i++
			return nil, nil, s.parts[0].lit
		}
		// &callable: a lambda or proc passed as the block.
		start := p.i
		e := p.ternary()
		return &blockPassNode{position: p.span(start), expr: e}, nil, ""
	}
	if t.kind == tOp && t.val == "*" {
		p.i++
		start := p.i
		e := p.ternary()
		return &splatNode{position: p.span(start), expr: e}, nil, ""
	}
	if t.kind == tOp && t.val == "**" {
		p.fail(t)
	}
	v := p.expr()
	if sn, ok := v.(*strNode); ok && sn.kind == tString && p.isOp(":") && !p.peek().space {
		// "key": value is a symbol key.
		p.i++
		p.skipNewlines()
		key := &strNode{position: sn.position, parts: sn.parts, kind: tSymbol}
		return p.expr(), key, ""
	}
	if p.isOp("=>") {
		p.i++
		p.skipNewlines()
		return p.expr(), v, ""
	}
	return v, nil, ""
}

// block parses "{ |params| body }" or "do |params| body end".
func (p *parser) block(closer string) *blockNode {
	start := p.i
	outer := p.stmt
	saved := p.noDo
	p.noDo = 0 // a block body is a fresh context for do ... end
	defer func() { p.noDo = saved }()
	p.i++ // "{" or "do"
	p.pushScope()
	defer p.popScope()
	b := &blockNode{}
	explicit := p.isOp("||") || p.isOp("|")
	if p.isOp("||") {
		p.i++
	} else if p.isOp("|") {
		p.i++
		b.params = p.params(func() bool { return p.isOp("|") }, true)
		p.i++
	}
	var uses *implicitParams
	if !explicit {
		uses = &implicitParams{}
		*p.implicit = append(*p.implicit, uses)
	}
	b.body = p.stmts(func(t token) bool {
		if closer == "}" {
			return t.kind == tOp && t.val == "}"
		}
		return t.kind == tKeyword && t.val == "end"
	})
	if uses != nil {
		*p.implicit = (*p.implicit)[:len(*p.implicit)-1]
		switch {
		case uses.numbered > 0:
			b.params = &paramList{}
			for k := 1; k <= uses.numbered; k++ {
				b.params.required = append(b.params.required, "_"+strconv.Itoa(k))
			}
		case uses.it:
			b.params = &paramList{required: []string{"it"}}
		}
	}
	if closer == "}" && !p.isOp("}") || closer == "end" && !p.isKw("end") {
		p.stmt = outer
		p.unclosed(start)
	}
	p.i++
	b.position = p.span(start)
	return b
}

// unclosed reports a block opened at token index start whose end is missing.
func (p *parser) unclosed(start int) {
	t := p.peek()
	if t.kind != tEOF {
		p.fail(t)
	}
	o := p.toks[start]
	code := p.codes[o.seg]
	from := o.off
	if p.stmt < len(p.toks) && p.toks[p.stmt].seg == o.seg && p.toks[p.stmt].off < from {
		from = p.toks[p.stmt].off
	}
	p.failAt(o.line, code[from:])
}

func (p *parser) primary() node {
	p.enter()
	defer p.leave()
	start := p.i
	t := p.next()
	switch t.kind {
	case tInt, tFloat:
		return p.numberLiteral(t, start)
	case tString, tXString, tSymbol:
		parts := p.strParts(t.parts)
		for t.kind == tString && p.peek().kind == tString {
			// Adjacent literals are one string: "a" 'b' is "ab".
			parts = append(parts, p.strParts(p.next().parts)...)
		}
		return &strNode{position: p.span(start), parts: parts, kind: t.kind}
	case tRegexp:
		return &regexpNode{position: p.span(start), parts: p.strParts(t.parts), flags: t.flags}
	case tWords, tSymbols:
		arr := &arrayNode{position: p.span(start)}
		kind := tString
		if t.kind == tSymbols {
			kind = tSymbol
		}
		for _, w := range t.words {
			arr.elems = append(arr.elems, &strNode{position: arr.position, parts: p.strParts(w), kind: kind})
		}
		return arr
	case tKeyword:
		switch t.val {
		case "nil":
			return &nilNode{position: p.span(start)}
		case "true", "false":
			return &boolNode{position: p.span(start), val: t.val == "true"}
		case "self":
			return &selfNode{position: p.span(start)}
		case "if", "unless":
			return p.ifBlock(start, t.val == "unless")
		}
		return p.keywordExpr(t, start)
	case tOp:
		switch t.val {
		case "(":
			saved := p.noDo
			p.noDo = 0
			defer func() { p.noDo = saved }()
			body := p.stmts(func(t token) bool { return t.kind == tOp && t.val == ")" })
			p.expectOp(")")
			return body
		case "[":
			args, sym := p.argList("]")
			if sym != "" {
				p.i--
				p.fail(p.peek())
			}
			return &arrayNode{position: p.span(start), elems: args}
		case "{":
			return p.hashLiteral(start)
		}
	case tGlobal:
		return &globalNode{position: p.span(start), name: t.val}
	case tConst:
		if p.isOp("(") && !p.peek().space {
			call := &callNode{name: t.val}
			p.callArgs(call, true)
			call.position = p.span(start)
			return call
		}
		return &constNode{position: p.span(start), name: t.val}
	case tIdent:
		nt := p.peek()
		if p.isLocal(t.val) && !(nt.kind == tOp && nt.val == "(" && !nt.space) {
			return &localNode{position: p.span(start), name: t.val}
		}
		if p.implicitParam(t.val) {
			return &localNode{position: p.span(start), name: t.val}
		}
		call := &callNode{name: t.val}
		p.callArgs(call, true)
		call.position = p.span(start)
		return call
	}
	p.i--
	p.fail(t)
	return nil
}

func (p *parser) hashLiteral(start int) node {
	h := &hashNode{}
	p.skipNewlines()
	for !p.isOp("}") {
		v, k, sym := p.arg()
		if k == nil || sym != "" {
			p.fail(p.toks[p.i-1])
		}
		h.keys, h.vals = append(h.keys, k), append(h.vals, v)
		p.skipNewlines()
		if !p.isOp(",") {
			break
		}
		p.i++
		p.skipNewlines()
	}
	p.expectOp("}")
	h.position = p.span(start)
	return h
}

// ifBlock parses the rest of "if cond [then] ... elsif ... else ... end".
func (p *parser) ifBlock(start int, negate bool) node {
	stmtStart := p.stmt
	cond := p.exprStmt()
	p.afterCond()
	isEnd := func(t token) bool {
		return t.kind == tKeyword && (t.val == "elsif" || t.val == "else" || t.val == "end")
	}
	n := &ifNode{cond: cond, negate: negate}
	n.then = p.stmts(isEnd)
	cur := n
	for {
		t := p.peek()
		if t.kind == tKeyword && t.val == "elsif" && !negate {
			elStart := p.i
			p.i++
			c := p.exprStmt()
			p.afterCond()
			el := &ifNode{cond: c}
			el.then = p.stmts(isEnd)
			el.position = p.span(elStart)
			cur.els = el
			cur = el
			continue
		}
		if t.kind == tKeyword && t.val == "else" {
			p.i++
			cur.els = p.stmts(func(t token) bool { return t.kind == tKeyword && t.val == "end" })
			t = p.peek()
		}
		if t.kind == tKeyword && t.val == "end" {
			p.i++
			n.position = p.span(start)
			return n
		}
		p.stmt = stmtStart
		p.unclosed(start)
	}
}

// afterCond consumes the "then" or line end after an if/elsif condition.
func (p *parser) afterCond() {
	switch t := p.peek(); {
	case t.kind == tKeyword && t.val == "then":
		p.i++
	case t.kind == tNewline:
		p.i++
	case t.kind == tText || t.kind == tOutputBegin:
	default:
		p.fail(t)
	}
}

// strParts parses the interpolations of a literal.
func (p *parser) strParts(parts []strPart) []strNodePart {
	out := make([]strNodePart, 0, len(parts))
	for _, sp := range parts {
		if !sp.isCode {
			out = append(out, strNodePart{lit: sp.lit})
			continue
		}
		sub := &parser{toks: sp.interp, codes: p.codes, scopes: p.scopes, depth: p.depth + 1, implicit: p.implicit}
		body := sub.stmts(func(token) bool { return false })
		if sub.peek().kind != tEOF {
			sub.fail(sub.peek())
		}
		out = append(out, strNodePart{expr: body})
	}
	return out
}

// implicitParam reports whether name is an implicit block parameter
// (_1 ... _9, or it) of the innermost block without |params|, and
// records its use.
func (p *parser) implicitParam(name string) bool {
	if len(*p.implicit) == 0 {
		return false
	}
	uses := (*p.implicit)[len(*p.implicit)-1]
	if name == "it" {
		if p.peek().kind == tOp && p.peek().val == "(" || p.startsValue() && p.peek().space && p.peek().kind != tOp {
			return false // it(...) or "it arg": a method call
		}
		uses.it = true
		return true
	}
	if len(name) == 2 && name[0] == '_' && name[1] >= '1' && name[1] <= '9' {
		uses.numbered = max(uses.numbered, int(name[1]-'0'))
		return true
	}
	return false
}
