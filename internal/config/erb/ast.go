package erb

// node is an expression or statement of the compiled template program.
// Every node knows the template line it starts on and a short source
// snippet for error messages.
type node interface{ pos() position }

type position struct {
	line int
	src  string // source snippet, for "unsupported Ruby in ERB: <src>"
}

func (p position) pos() position { return p }

type (
	// seqNode runs statements in order; its value is the last one's.
	seqNode struct {
		position
		stmts []node
	}
	textNode struct {
		position
		text string
	}
	outputNode struct {
		position
		expr node
	}
	nilNode  struct{ position }
	boolNode struct {
		position
		val bool
	}
	intNode struct {
		position
		val int64
	}
	floatNode struct {
		position
		val float64
	}
	selfNode struct{ position }
	// strNode is a string, symbol or backtick literal with interpolation.
	strNode struct {
		position
		parts []strNodePart
		kind  tokKind // tString, tXString, tSymbol
	}
	regexpNode struct {
		position
		parts []strNodePart
		flags string
	}
	arrayNode struct {
		position
		elems []node
	}
	hashNode struct {
		position
		keys, vals []node
	}
	localNode struct {
		position
		name string
		up   int // block scopes between the use and the declaration (for assignment)
	}
	globalNode struct {
		position
		name string // "$?", "$stderr"
	}
	constNode struct {
		position
		name string
	}
	assignNode struct {
		position
		name  string
		value node
		up    int // block scopes between the assignment and the variable's declaration
	}
	// opAssignNode is "target op= value" for a local or an index target.
	opAssignNode struct {
		position
		target node // *localNode or *callNode named "[]"
		op     string
		value  node
	}
	indexAssignNode struct {
		position
		recv  node
		args  []node
		value node
	}
	// callNode is a method call; recv is nil for a call on self
	// (raise, require, __dir__ ...). Binary operators are calls too.
	callNode struct {
		position
		recv     node
		name     string
		args     []node
		block    *blockNode
		blockSym string // &:sym
		safe     bool   // &.
		parens   bool
	}
	blockNode struct {
		position
		params *paramList
		body   node
	}
	// rangeNode is a..b or a...b; from or to is nil when open.
	rangeNode struct {
		position
		from, to node
		excl     bool
	}
	caseNode struct {
		position
		subject node // nil for "case" without a value
		whens   []whenClause
		els     node // may be nil
	}
	// whileNode is while/until, as a block or a modifier.
	whileNode struct {
		position
		cond, body node
		until      bool
	}
	forNode struct {
		position
		vars []*localNode
		iter node
		body node
	}
	// jumpNode is break, next or return with an optional value.
	jumpNode struct {
		position
		kind string
		val  node // may be nil
	}
	defNode struct {
		position
		name   string
		params *paramList
		body   node
	}
	constAssignNode struct {
		position
		name  string
		op    string // "" for =, else "||" / "+" ...
		value node
	}
	// lambdaNode is ->(x) { }, lambda { |x| } or proc { |x| }.
	lambdaNode struct {
		position
		block  *blockNode
		lambda bool
	}
	// rescueNode is begin/rescue/else/ensure/end, or "expr rescue value".
	rescueNode struct {
		position
		body    node
		clauses []rescueClause
		els     node // may be nil
		ensure  node // may be nil
	}
	// splatNode is *list in arguments; blockPassNode &callable.
	splatNode struct {
		position
		expr node
	}
	blockPassNode struct {
		position
		expr node
	}
	yieldNode struct {
		position
		args []node
	}
	definedNode struct {
		position
		expr node
	}
	andNode struct {
		position
		left, right node
	}
	orNode struct {
		position
		left, right node
	}
	notNode struct {
		position
		expr node
	}
	ifNode struct {
		position
		cond      node
		then, els node // els may be nil
		negate    bool // unless
	}
)

type strNodePart struct {
	lit  string
	expr node // nil for literal text
}

type whenClause struct {
	vals  []node
	splat []bool // *list: each element is a value
	body  node
}

// paramList is the parameters of a method, block or lambda.
type paramList struct {
	required []string
	optional []string
	defaults []node
	rest     string // *rest ("*" alone is "*")
	keys     []string
	keyDefs  []node // nil: a required keyword
	block    string // &blk
	// nested holds the parts of a destructured parameter, |(k, v), i|,
	// under the name that stands for it in required.
	nested map[string]*paramList
}

// positional is how many positional parameters a block spreads an array over.
func (pl *paramList) positional() int {
	if pl == nil {
		return 0
	}
	return len(pl.required) + len(pl.optional)
}

type rescueClause struct {
	classes []node // none: StandardError
	bind    *localNode
	body    node
}
