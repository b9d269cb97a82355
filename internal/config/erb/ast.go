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
		params []string
		body   node
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
