package erb

import (
	"strconv"
	"strings"
)

type tokKind int

const (
	tEOF     tokKind = iota
	tNewline         // newline or ';' (statement separator)
	tIdent           // foo, foo?, foo!
	tConst           // Foo
	tLabel           // foo: (hash key / keyword argument)
	tInt
	tFloat
	tString  // '...', "...", %q, %Q
	tXString // `...`, %x()
	tWords   // %w[], %W[]
	tSymbols // %i[]
	tSymbol  // :foo, :"foo"
	tRegexp  // /.../, %r{}
	tGlobal  // $?, $stderr, $1
	tOp      // operators and punctuation
	tKeyword
	tText        // template text (synthesised from a text segment)
	tOutputBegin // start of <%= %>
	tOutputEnd   // end of <%= %>
)

var keywords = map[string]bool{
	"if": true, "unless": true, "elsif": true, "else": true, "end": true, "then": true,
	"do": true, "and": true, "or": true, "not": true, "nil": true, "true": true,
	"false": true, "self": true,
	// Recognised so they fail clearly instead of being taken for method calls.
	"while": true, "until": true, "case": true, "when": true, "def": true, "class": true,
	"module": true, "begin": true, "rescue": true, "ensure": true, "for": true, "in": true,
	"yield": true, "return": true, "break": true, "next": true, "redo": true, "retry": true,
	"super": true, "defined?": true, "alias": true, "undef": true, "BEGIN": true, "END": true,
	"__FILE__": true, "__LINE__": true, "__method__": true,
}

// strPart is a piece of a string literal: literal text, or the tokens of an
// interpolation "#{...}".
type strPart struct {
	lit    string
	interp []token
	isCode bool
}

type token struct {
	kind  tokKind
	val   string    // identifier/operator/keyword text, decoded literal for single strings, int text
	parts []strPart // string/xstring/regexp/dsymbol parts
	words [][]strPart
	flags string // regexp flags
	line  int
	seg   int // index of the code segment the token is in
	off   int // byte offsets of the token in its segment
	end   int
	space bool // whitespace directly before the token
}

// lexError is raised for input the lexer cannot take.
type lexError struct {
	line    int
	snippet string
}

type lexer struct {
	src   string
	pos   int
	line  int
	seg   int
	toks  []token
	depth int
	codes *[]string // the code of every segment; heredoc bodies are added
	// heredocEnd is where the code resumes after the heredoc bodies that
	// follow the current line (0: none pending).
	heredocEnd int
}

const maxNesting = 100

// lexCode tokenizes one code segment, starting at the given template line.
func lexCode(src string, line, seg int, codes *[]string) ([]token, *lexError) {
	lx := &lexer{src: src, line: line, seg: seg, codes: codes}
	if err := lx.run(false); err != nil {
		return nil, err
	}
	return lx.toks, nil
}

func (lx *lexer) fail(from int) *lexError {
	return &lexError{line: lx.line, snippet: snippetOf(lx.src[from:])}
}

// snippetOf shortens source text for an error message.
func snippetOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// valueEnd reports whether the last token ends a value, which decides
// whether '/', '%', '[', ':' and '?' start literals or are operators.
func (lx *lexer) valueEnd() bool {
	if len(lx.toks) == 0 {
		return false
	}
	t := lx.toks[len(lx.toks)-1]
	switch t.kind {
	case tIdent, tConst, tInt, tFloat, tString, tXString, tWords, tSymbols, tSymbol, tRegexp, tGlobal:
		return true
	case tKeyword:
		return t.val == "end" || t.val == "nil" || t.val == "true" || t.val == "false" || t.val == "self"
	case tOp:
		return t.val == ")" || t.val == "]" || t.val == "}"
	}
	return false
}

// commandArgStart reports whether the previous token is an identifier used
// as a command ("puts %w[a]", "foo /x/"), judged by spacing.
func (lx *lexer) commandArgStart(next byte) bool {
	if len(lx.toks) == 0 {
		return false
	}
	t := lx.toks[len(lx.toks)-1]
	return t.kind == tIdent && lx.pos > 0 && isSpace(lx.src[lx.pos-1]) && next != ' ' && next != '=' && next != '\t'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func (lx *lexer) emit(t token) {
	t.seg = lx.seg
	lx.toks = append(lx.toks, t)
}

// run lexes until the end of input or, when inInterp, the '}' closing an
// interpolation (which is consumed).
func (lx *lexer) run(inInterp bool) *lexError {
	braces := 0
	for {
		start := lx.pos
		space := false
		for lx.pos < len(lx.src) && (isSpace(lx.src[lx.pos]) || lx.src[lx.pos] == '\\' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '\n') {
			if lx.src[lx.pos] == '\\' {
				lx.pos++
				lx.line++
			}
			lx.pos++
			space = true
		}
		if lx.pos >= len(lx.src) {
			if inInterp {
				return lx.fail(start)
			}
			return nil
		}
		start = lx.pos
		c := lx.src[lx.pos]
		tok := token{line: lx.line, off: start, space: space}
		switch {
		case c == '#':
			// Comment: to the end of the line (or of the tag).
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
			continue
		case c == '\n' || c == ';':
			lx.pos++
			if c == '\n' && lx.heredocEnd > 0 {
				// Skip the bodies of the heredocs started on this line.
				lx.line += strings.Count(lx.src[lx.pos:lx.heredocEnd], "\n")
				lx.pos, lx.heredocEnd = lx.heredocEnd, 0
			}
			if c == '\n' {
				lx.line++
				// A line starting with ".foo" or "&.foo" continues the previous one.
				j := lx.pos
				for j < len(lx.src) && (isSpace(lx.src[j]) || lx.src[j] == '\n') {
					j++
				}
				if j < len(lx.src) && (lx.src[j] == '.' && (j+1 >= len(lx.src) || lx.src[j+1] != '.') || strings.HasPrefix(lx.src[j:], "&.")) {
					lx.line += strings.Count(lx.src[lx.pos:j], "\n")
					lx.pos = j
					continue
				}
			}
			if n := len(lx.toks); n > 0 && lx.toks[n-1].kind == tNewline {
				continue
			}
			tok.kind = tNewline
			tok.val = string(c)
		case c >= '0' && c <= '9':
			kind, val, ok := lx.number()
			if !ok {
				return lx.fail(start)
			}
			tok.kind, tok.val = kind, val
		case isIdentStart(c):
			for lx.pos < len(lx.src) && isIdentChar(lx.src[lx.pos]) {
				lx.pos++
			}
			if lx.pos < len(lx.src) && (lx.src[lx.pos] == '?' || lx.src[lx.pos] == '!') &&
				!(lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '=' && (lx.pos+2 >= len(lx.src) || lx.src[lx.pos+2] != '=')) {
				lx.pos++
			}
			word := lx.src[start:lx.pos]
			// "key:" label (not "key::" and not the ternary's ": " after a value).
			if lx.pos < len(lx.src) && lx.src[lx.pos] == ':' && (lx.pos+1 >= len(lx.src) || lx.src[lx.pos+1] != ':') &&
				!(len(lx.toks) > 0 && lx.toks[len(lx.toks)-1].kind == tOp && lx.toks[len(lx.toks)-1].val == "?") {
				last := word[len(word)-1]
				if last != '!' {
					lx.pos++
					tok.kind = tLabel
					tok.val = word
					break
				}
			}
			tok.val = word
			switch {
			case keywords[word] && !lx.afterDot():
				tok.kind = tKeyword
			case c >= 'A' && c <= 'Z':
				tok.kind = tConst
			default:
				tok.kind = tIdent
			}
		case c == '<' && lx.isHeredoc():
			if err := lx.heredoc(&tok); err != nil {
				return err
			}
		case c == '\'':
			s, err := lx.singleQuoted('\'', 0)
			if err != nil {
				return err
			}
			tok.kind = tString
			tok.parts = []strPart{{lit: s}}
		case c == '"' || c == '`':
			lx.pos++
			parts, err := lx.interpolated(c, 0, false)
			if err != nil {
				return err
			}
			tok.kind = tString
			if c == '`' {
				tok.kind = tXString
			}
			tok.parts = parts
		case c == ':' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '"':
			lx.pos += 2
			parts, err := lx.interpolated('"', 0, false)
			if err != nil {
				return err
			}
			tok.kind = tSymbol
			tok.parts = parts
		case c == ':' && lx.operatorSymbol() != "" && !(len(lx.toks) > 0 && lx.valueEnd() && !space):
			op := lx.operatorSymbol()
			lx.pos += 1 + len(op)
			tok.kind = tSymbol
			tok.parts = []strPart{{lit: op}}
		case c == ':' && lx.pos+1 < len(lx.src) && isIdentStart(lx.src[lx.pos+1]) && !(len(lx.toks) > 0 && lx.valueEnd() && !space):
			lx.pos++
			for lx.pos < len(lx.src) && isIdentChar(lx.src[lx.pos]) {
				lx.pos++
			}
			if lx.pos < len(lx.src) && (lx.src[lx.pos] == '?' || lx.src[lx.pos] == '!' || lx.src[lx.pos] == '=') {
				lx.pos++
			}
			tok.kind = tSymbol
			tok.parts = []strPart{{lit: lx.src[start+1 : lx.pos]}}
		case c == '%' && lx.pos+1 < len(lx.src) && (!lx.valueEnd() || lx.commandArgStart(lx.src[lx.pos+1])) && lx.isPercentLiteral():
			if err := lx.percentLiteral(&tok); err != nil {
				return err
			}
		case c == '/' && (!lx.valueEnd() || lx.commandArgStart(safeByte(lx.src, lx.pos+1))):
			lx.pos++
			parts, err := lx.interpolated('/', 0, true)
			if err != nil {
				return err
			}
			tok.kind = tRegexp
			tok.parts = parts
			tok.flags = lx.regexpFlags()
		case c == '$' && lx.pos+1 < len(lx.src) && (isIdentStart(lx.src[lx.pos+1]) || strings.IndexByte("?~!0123456789", lx.src[lx.pos+1]) >= 0):
			lx.pos += 2
			if isIdentStart(lx.src[lx.pos-1]) {
				for lx.pos < len(lx.src) && isIdentChar(lx.src[lx.pos]) {
					lx.pos++
				}
			}
			tok.kind = tGlobal
			tok.val = lx.src[start:lx.pos]
		case c == '$' || c == '@' || c == '?' && !lx.valueEnd() && lx.pos+1 < len(lx.src) && isIdentChar(lx.src[lx.pos+1]):
			// Instance variables, character literals.
			return lx.fail(start)
		default:
			op := lx.operator()
			if op == "" {
				return lx.fail(start)
			}
			if inInterp {
				switch op {
				case "{":
					braces++
				case "}":
					if braces == 0 {
						return nil
					}
					braces--
				}
			}
			tok.kind = tOp
			tok.val = op
		}
		tok.end = lx.pos
		lx.emit(tok)
	}
}

func safeByte(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// afterDot reports whether the previous token is '.' or '&.', where
// keywords are ordinary method names ("x.then", "obj.class").
func (lx *lexer) afterDot() bool {
	if len(lx.toks) == 0 {
		return false
	}
	t := lx.toks[len(lx.toks)-1]
	return t.kind == tOp && (t.val == "." || t.val == "&.")
}

var operators = []string{
	"**=", "<=>", "===", "...", "||=", "&&=", "<<=", ">>=",
	"**", "==", "!=", ">=", "<=", "&&", "||", "<<", ">>", "=~", "!~", "::", "&.", "=>", "+=", "-=", "*=", "/=", "%=", "|=", "..", "->",
	"+", "-", "*", "/", "%", "=", "<", ">", "!", "&", "|", "^", "~", "?", ":", ",", ".", "(", ")", "[", "]", "{", "}",
}

func (lx *lexer) operator() string {
	rest := lx.src[lx.pos:]
	for _, op := range operators {
		if strings.HasPrefix(rest, op) {
			lx.pos += len(op)
			return op
		}
	}
	return ""
}

func (lx *lexer) isPercentLiteral() bool {
	rest := lx.src[lx.pos+1:]
	if rest == "" {
		return false
	}
	c := rest[0]
	if strings.IndexByte("wWiIqQxr", c) >= 0 && len(rest) > 1 && isDelim(rest[1]) {
		return true
	}
	return c == '(' || c == '[' || c == '{' || c == '<' || c == '|' || c == '!'
}

func isDelim(c byte) bool {
	return !isIdentChar(c) && !isSpace(c) && c != '\n' && c != 0
}

func closerOf(c byte) byte {
	switch c {
	case '(':
		return ')'
	case '[':
		return ']'
	case '{':
		return '}'
	case '<':
		return '>'
	}
	return c
}

func (lx *lexer) percentLiteral(tok *token) *lexError {
	start := lx.pos
	lx.pos++ // '%'
	kind := byte('Q')
	if c := lx.src[lx.pos]; isIdentChar(c) {
		kind = c
		lx.pos++
	}
	open := lx.src[lx.pos]
	closer := closerOf(open)
	nest := byte(0)
	if closer != open {
		nest = open
	}
	lx.pos++
	switch kind {
	case 'q':
		s, err := lx.singleQuoted(closer, nest)
		if err != nil {
			return err
		}
		tok.kind = tString
		tok.parts = []strPart{{lit: s}}
	case 'Q', 'x':
		parts, err := lx.interpolated(closer, nest, false)
		if err != nil {
			return err
		}
		tok.kind = tString
		if kind == 'x' {
			tok.kind = tXString
		}
		tok.parts = parts
	case 'r':
		parts, err := lx.interpolated(closer, nest, true)
		if err != nil {
			return err
		}
		tok.kind = tRegexp
		tok.parts = parts
		tok.flags = lx.regexpFlags()
	case 'w', 'W', 'i', 'I':
		words, err := lx.wordList(closer, nest, kind == 'W' || kind == 'I')
		if err != nil {
			return err
		}
		tok.kind = tWords
		if kind == 'i' || kind == 'I' {
			tok.kind = tSymbols
		}
		tok.words = words
	default:
		return lx.fail(start)
	}
	return nil
}

func (lx *lexer) regexpFlags() string {
	start := lx.pos
	for lx.pos < len(lx.src) && isIdentChar(lx.src[lx.pos]) {
		lx.pos++
	}
	return lx.src[start:lx.pos]
}

// singleQuoted reads a '...' or %q() body; only \\ and \<closer> are escapes.
// For '...' the opening quote has not been consumed yet.
func (lx *lexer) singleQuoted(closer, nest byte) (string, *lexError) {
	start := lx.pos
	if closer == '\'' && nest == 0 && lx.src[lx.pos] == '\'' {
		lx.pos++
	}
	var b strings.Builder
	level := 0
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == '\\' && lx.pos+1 < len(lx.src) && (lx.src[lx.pos+1] == '\\' || lx.src[lx.pos+1] == closer || nest != 0 && lx.src[lx.pos+1] == nest):
			b.WriteByte(lx.src[lx.pos+1])
			lx.pos += 2
			continue
		case nest != 0 && c == nest:
			level++
		case c == closer:
			if level == 0 {
				lx.pos++
				return b.String(), nil
			}
			level--
		case c == '\n':
			lx.line++
		}
		b.WriteByte(c)
		lx.pos++
	}
	return "", lx.fail(start)
}

// interpolation lexes a "#{...}" (lx.pos at the "#") through its closing
// brace and appends it to parts, after the literal text pending in b;
// start is where the enclosing literal began, for errors.
func (lx *lexer) interpolation(start int, parts []strPart, b *strings.Builder) ([]strPart, *lexError) {
	if b.Len() > 0 {
		parts = append(parts, strPart{lit: b.String()})
		b.Reset()
	}
	lx.pos += 2
	if lx.depth >= maxNesting {
		return nil, lx.fail(start)
	}
	sub := &lexer{src: lx.src, pos: lx.pos, line: lx.line, seg: lx.seg, depth: lx.depth + 1, codes: lx.codes}
	if err := sub.run(true); err != nil {
		return nil, err
	}
	lx.pos, lx.line = sub.pos, sub.line
	return append(parts, strPart{interp: sub.toks, isCode: true}), nil
}

// interpolated reads a double-quoted style body up to closer, decoding
// escapes and lexing "#{...}" parts. For regexps escapes are kept as written
// (the regexp engine reads them).
func (lx *lexer) interpolated(closer, nest byte, regexp bool) ([]strPart, *lexError) {
	start := lx.pos - 1
	var parts []strPart
	var b strings.Builder
	level := 0
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == '\\':
			if lx.pos+1 >= len(lx.src) {
				return nil, lx.fail(start)
			}
			if regexp {
				n := lx.src[lx.pos+1]
				if n == closer && closer == '/' {
					b.WriteByte('/')
				} else {
					b.WriteByte('\\')
					b.WriteByte(n)
				}
				if n == '\n' {
					lx.line++
				}
				lx.pos += 2
				continue
			}
			if err := lx.escape(&b, closer); err != nil {
				return nil, err
			}
			continue
		case c == '#' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '{':
			var err *lexError
			if parts, err = lx.interpolation(start, parts, &b); err != nil {
				return nil, err
			}
			continue
		case c == '#' && lx.pos+1 < len(lx.src) && (lx.src[lx.pos+1] == '@' || lx.src[lx.pos+1] == '$'):
			return nil, lx.fail(start)
		case nest != 0 && c == nest:
			level++
		case c == closer:
			if level == 0 {
				lx.pos++
				if b.Len() > 0 || len(parts) == 0 {
					parts = append(parts, strPart{lit: b.String()})
				}
				return parts, nil
			}
			level--
		case c == '\n':
			lx.line++
		}
		b.WriteByte(c)
		lx.pos++
	}
	return nil, lx.fail(start)
}

// escape decodes one backslash escape of a double-quoted string.
func (lx *lexer) escape(b *strings.Builder, closer byte) *lexError {
	start := lx.pos
	lx.pos++ // backslash
	c := lx.src[lx.pos]
	lx.pos++
	switch c {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 's':
		b.WriteByte(' ')
	case 'r':
		b.WriteByte('\r')
	case 'e':
		b.WriteByte(0x1b)
	case 'a':
		b.WriteByte(7)
	case 'b':
		b.WriteByte(8)
	case 'f':
		b.WriteByte(12)
	case 'v':
		b.WriteByte(11)
	case '\n':
		lx.line++ // line continuation inside a string
	case 'u':
		if lx.pos < len(lx.src) && lx.src[lx.pos] == '{' {
			end := strings.IndexByte(lx.src[lx.pos:], '}')
			if end < 0 {
				return lx.fail(start)
			}
			for _, h := range strings.Fields(lx.src[lx.pos+1 : lx.pos+end]) {
				r, err := strconv.ParseUint(h, 16, 32)
				if err != nil || r > 0x10FFFF {
					return lx.fail(start)
				}
				b.WriteRune(rune(r))
			}
			lx.pos += end + 1
			return nil
		}
		if lx.pos+4 > len(lx.src) {
			return lx.fail(start)
		}
		r, err := strconv.ParseUint(lx.src[lx.pos:lx.pos+4], 16, 32)
		if err != nil {
			return lx.fail(start)
		}
		b.WriteRune(rune(r))
		lx.pos += 4
	case 'x':
		n := 0
		for n < 2 && lx.pos+n < len(lx.src) && strings.IndexByte("0123456789abcdefABCDEF", lx.src[lx.pos+n]) >= 0 {
			n++
		}
		if n == 0 {
			return lx.fail(start)
		}
		v, _ := strconv.ParseUint(lx.src[lx.pos:lx.pos+n], 16, 8)
		b.WriteByte(byte(v))
		lx.pos += n
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n := 1
		for n < 3 && lx.pos-1+n < len(lx.src) && lx.src[lx.pos-1+n] >= '0' && lx.src[lx.pos-1+n] <= '7' {
			n++
		}
		v, _ := strconv.ParseUint(lx.src[lx.pos-1:lx.pos-1+n], 8, 16)
		b.WriteByte(byte(v))
		lx.pos += n - 1
	case 'c', 'C', 'M':
		return lx.fail(start)
	default:
		b.WriteByte(c) // \" \\ \# and unknown escapes stand for the character
	}
	return nil
}

// wordList reads a %w/%W/%i body: whitespace-separated words, with "\ "
// for a literal blank; interpolating lists also take "#{}".
func (lx *lexer) wordList(closer, nest byte, interp bool) ([][]strPart, *lexError) {
	start := lx.pos - 2
	var words [][]strPart
	var cur []strPart
	var b strings.Builder
	inWord := false
	level := 0
	flush := func() {
		if !inWord {
			return
		}
		if b.Len() > 0 || len(cur) == 0 {
			cur = append(cur, strPart{lit: b.String()})
		}
		words = append(words, cur)
		cur, inWord = nil, false
		b.Reset()
	}
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == '\\' && lx.pos+1 < len(lx.src):
			n := lx.src[lx.pos+1]
			inWord = true
			if interp && n != ' ' && n != '\n' && n != closer && n != nest {
				if err := lx.escape(&b, closer); err != nil {
					return nil, err
				}
				continue
			}
			if n == '\n' {
				lx.line++
			}
			if n != '\\' && n != ' ' && n != '\n' && n != closer && n != nest {
				b.WriteByte('\\')
			}
			b.WriteByte(n)
			lx.pos += 2
			continue
		case isSpace(c) || c == '\n':
			if c == '\n' {
				lx.line++
			}
			flush()
			lx.pos++
			continue
		case interp && c == '#' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '{':
			inWord = true
			var err *lexError
			if cur, err = lx.interpolation(start, cur, &b); err != nil {
				return nil, err
			}
			continue
		case nest != 0 && c == nest:
			level++
		case c == closer:
			if level == 0 {
				lx.pos++
				flush()
				return words, nil
			}
			level--
		}
		inWord = true
		b.WriteByte(c)
		lx.pos++
	}
	return nil, lx.fail(start)
}

// number lexes an Integer (decimal, 0x hexadecimal, 0b binary, 0o or
// leading-0 octal, 0d decimal, with single underscores between digits)
// or a Float (1.5, 1e3, 1.5e-3). val is the value in decimal (Integer)
// or Go syntax (Float).
func (lx *lexer) number() (tokKind, string, bool) {
	src, start := lx.src, lx.pos
	digitsOf := func(valid func(byte) bool) string {
		var b strings.Builder
		for lx.pos < len(src) {
			c := src[lx.pos]
			switch {
			case valid(c):
				b.WriteByte(c)
			case c == '_' && lx.pos+1 < len(src) && valid(src[lx.pos+1]) && b.Len() > 0:
			default:
				return b.String()
			}
			lx.pos++
		}
		return b.String()
	}
	isDec := func(c byte) bool { return c >= '0' && c <= '9' }
	base := 10
	if src[start] == '0' && start+1 < len(src) {
		switch c := src[start+1]; {
		case c == 'x' || c == 'X':
			base, lx.pos = 16, start+2
		case c == 'b' || c == 'B':
			base, lx.pos = 2, start+2
		case c == 'o' || c == 'O':
			base, lx.pos = 8, start+2
		case c == 'd' || c == 'D':
			base, lx.pos = 10, start+2
		case isDec(c) || c == '_':
			base, lx.pos = 8, start+1 // 0755
		}
	}
	if lx.pos > start {
		// A prefixed integer.
		digits := digitsOf(func(c byte) bool {
			return isDec(c) && int(c-'0') < base || base == 16 && strings.IndexByte("abcdefABCDEF", c) >= 0
		})
		if digits == "" || lx.pos < len(src) && isIdentChar(src[lx.pos]) {
			return 0, "", false
		}
		v, err := strconv.ParseInt(digits, base, 64)
		if err != nil {
			return 0, "", false
		}
		return tInt, strconv.FormatInt(v, 10), true
	}
	text := digitsOf(isDec)
	kind := tInt
	if lx.pos+1 < len(src) && src[lx.pos] == '.' && isDec(src[lx.pos+1]) {
		lx.pos++
		text += "." + digitsOf(isDec)
		kind = tFloat
	}
	if lx.pos < len(src) && (src[lx.pos] == 'e' || src[lx.pos] == 'E') {
		k := lx.pos + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDec(src[k]) {
			sign := src[lx.pos+1 : k]
			lx.pos = k
			text += "e" + sign + digitsOf(isDec)
			kind = tFloat
		}
	}
	if lx.pos < len(src) && isIdentChar(src[lx.pos]) {
		return 0, "", false // 3r, 2i, 12abc
	}
	if kind == tInt {
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return 0, "", false // a big integer in Ruby
		}
	}
	return kind, text, true
}

// isHeredoc reports whether "<<" at lx.pos starts a heredoc (<<~ID,
// <<-ID, <<ID, with the ID optionally quoted) rather than the operator.
func (lx *lexer) isHeredoc() bool {
	rest := lx.src[lx.pos:]
	if !strings.HasPrefix(rest, "<<") || len(rest) < 3 {
		return false
	}
	i := 2
	squiggly := rest[i] == '~' || rest[i] == '-'
	if squiggly {
		i++
	}
	if i >= len(rest) {
		return false
	}
	c := rest[i]
	switch {
	case c == '\'' || c == '"' || c == '`':
	case squiggly && isIdentStart(c):
	case c >= 'A' && c <= 'Z' || c == '_':
	default:
		return false
	}
	return !lx.valueEnd() || lx.commandArgStart(rest[2])
}

// heredoc lexes a heredoc: the marker here, the body from the line after
// the current one (or after the bodies of earlier heredocs on it) up to
// the terminator line. <<~ removes the body's common indentation; a
// quoted 'ID' takes the body as written.
func (lx *lexer) heredoc(tok *token) *lexError {
	start := lx.pos
	lx.pos += 2
	kind := byte(0)
	if c := lx.src[lx.pos]; c == '~' || c == '-' {
		kind = c
		lx.pos++
	}
	quote := byte(0)
	if c := lx.src[lx.pos]; c == '\'' || c == '"' || c == '`' {
		quote = c
		lx.pos++
	}
	idStart := lx.pos
	for lx.pos < len(lx.src) && (isIdentChar(lx.src[lx.pos]) || quote != 0 && lx.src[lx.pos] != quote && lx.src[lx.pos] != '\n') {
		lx.pos++
	}
	id := lx.src[idStart:lx.pos]
	if quote != 0 {
		if lx.pos >= len(lx.src) || lx.src[lx.pos] != quote {
			return lx.fail(start)
		}
		lx.pos++
	}
	if id == "" {
		return lx.fail(start)
	}
	bodyStart := lx.heredocEnd
	if bodyStart == 0 {
		nl := strings.IndexByte(lx.src[lx.pos:], '\n')
		if nl < 0 {
			return lx.fail(start) // the body would be template text
		}
		bodyStart = lx.pos + nl + 1
	}
	bodyLine := lx.line + 1 + strings.Count(lx.src[lx.pos:bodyStart], "\n") - 1
	var lines []string
	pos := bodyStart
	for {
		if pos >= len(lx.src) {
			return lx.fail(start) // no terminator in this tag
		}
		end := strings.IndexByte(lx.src[pos:], '\n')
		next := len(lx.src)
		line := lx.src[pos:]
		if end >= 0 {
			line, next = lx.src[pos:pos+end], pos+end+1
		}
		term := strings.TrimSuffix(line, "\r")
		if kind != 0 {
			term = strings.TrimLeft(term, " \t")
		}
		if term == id {
			lx.heredocEnd = next
			break
		}
		lines = append(lines, line+"\n")
		pos = next
	}
	if kind == '~' {
		lines = dedent(lines)
	}
	body := strings.Join(lines, "")
	tok.kind = tString
	if quote == '`' {
		tok.kind = tXString
	}
	if quote == '\'' {
		tok.parts = []strPart{{lit: body}}
		return nil
	}
	// The body gets a code entry of its own, so that errors in its
	// interpolations quote it.
	seg := lx.seg
	if lx.codes != nil {
		seg = len(*lx.codes)
		*lx.codes = append(*lx.codes, body+"\x00")
	}
	sub := &lexer{src: body + "\x00", line: bodyLine, seg: seg, depth: lx.depth + 1, codes: lx.codes}
	parts, err := sub.interpolated(0, 0, false)
	if err != nil {
		return err
	}
	tok.parts = parts
	return nil
}

// dedent removes the smallest indentation of the lines that are not
// blank from every line, as <<~ does; a tab advances to the next multiple
// of 8 columns.
func dedent(lines []string) []string {
	width := func(line string) (int, bool) {
		w := 0
		for _, c := range []byte(line) {
			switch c {
			case ' ':
				w++
			case '\t':
				w = (w/8 + 1) * 8
			case '\n', '\r':
				return w, false
			default:
				return w, true
			}
		}
		return w, false
	}
	indent := -1
	for _, l := range lines {
		if w, text := width(l); text && (indent < 0 || w < indent) {
			indent = w
		}
	}
	if indent <= 0 {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		w, k := 0, 0
		for k < len(l) && w < indent && (l[k] == ' ' || l[k] == '\t') {
			if l[k] == '\t' {
				next := (w/8 + 1) * 8
				if next > indent {
					break
				}
				w = next
			} else {
				w++
			}
			k++
		}
		out[i] = l[k:]
	}
	return out
}

// symbolOperators are the operators that can be symbols (:+, :<=>), longest first.
var symbolOperators = []string{"[]=", "<=>", "===", "**", "==", "!=", "=~", "<=", ">=", "<<", ">>", "[]", "+@", "-@",
	"+", "-", "*", "/", "%", "<", ">", "!", "&", "|", "^", "~"}

// operatorSymbol returns the operator of an operator symbol at lx.pos
// (":+"), or "".
func (lx *lexer) operatorSymbol() string {
	rest := lx.src[lx.pos+1:]
	for _, op := range symbolOperators {
		if strings.HasPrefix(rest, op) {
			// ":" followed by an operator and a value is a ternary's else.
			after := rest[len(op):]
			if after != "" && !isSpace(after[0]) && strings.IndexByte(",)]}\n;", after[0]) < 0 {
				return ""
			}
			return op
		}
	}
	return ""
}
