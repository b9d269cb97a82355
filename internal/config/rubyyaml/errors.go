package rubyyaml

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// SyntaxError is a YAML document that cannot be read. Message, Line and
// Column are what Psych reports: libyaml's problem and context, at the
// position of the context (where the construct being read started), which
// is where Psych points.
type SyntaxError struct {
	File    string
	Line    int
	Column  int
	Message string // e.g. "did not find expected key while parsing a block mapping"
	Class   string // the Ruby exception class; "" is Psych::SyntaxError

	ours bool // a check of ours (not libyaml's), e.g. recursive aliases
}

// Kind names the error like Ruby does (Psych::SyntaxError, Psych::BadAlias,
// ArgumentError...).
func (e *SyntaxError) Kind() string {
	if e.Class != "" {
		return e.Class
	}
	return "Psych::SyntaxError"
}

// Error is "<file>:<line>: " and then Psych's message, which names the
// document "<unknown>" (Kamal parses the rendered text, not the file).
func (e *SyntaxError) Error() string {
	prefix := e.File
	if e.Line > 0 {
		prefix += ":" + strconv.Itoa(e.Line)
	}
	switch {
	case e.ours:
		return fmt.Sprintf("%s:%d: invalid YAML: %s", prefix, e.Column, e.Message)
	case e.Class != "":
		return prefix + ": " + e.Message
	}
	return fmt.Sprintf("%s: (<unknown>): %s at line %d column %d", prefix, e.Message, e.Line, e.Column)
}

// psychContext says, for each problem the YAML library reports, the context
// libyaml names with it and where that context starts.
type psychContext struct {
	context string
	scanner bool       // a scanner error (the library counts its line differently)
	mark    markFinder // where the context starts, on its line
}

// markFinder returns the 0-based byte offset where the context starts on
// its line (data[lineStart:lineEnd]), or -1; fails(k) says whether the
// prefix data[:k] fails with the same problem.
type markFinder func(data []byte, lineStart, lineEnd int, fails func(k int) bool) int

var psychContexts = map[string]psychContext{
	"found character that cannot start any token":                  {"while scanning for the next token", true, atProblem},
	"mapping values are not allowed in this context":               {"", true, atProblem},
	"block sequence entries are not allowed in this context":       {"", true, atProblem},
	"mapping keys are not allowed in this context":                 {"", true, atProblem},
	"could not find expected ':'":                                  {"while scanning a simple key", true, atFirstNode},
	"found a tab character that violates indentation":              {"while scanning a plain scalar", true, atValue},
	"found unexpected end of stream":                               {"while scanning a quoted scalar", true, atQuote},
	"found unexpected document indicator":                          {"while scanning a quoted scalar", true, atQuote},
	"found unknown escape character":                               {"while parsing a quoted scalar", true, atQuote},
	"did not find expected hexdecimal number":                      {"while parsing a quoted scalar", true, atQuote},
	"found invalid Unicode character escape code":                  {"while parsing a quoted scalar", true, atQuote},
	"found a tab character where an indentation space is expected": {"while scanning a block scalar", true, atAny("|>")},
	"found an indentation indicator equal to 0":                    {"while scanning a block scalar", true, atAny("|>")},
	"did not find the expected '>'":                                {"while scanning a tag", true, atAny("!")},
	"did not find expected whitespace or line break":               {"while scanning a tag", true, atAny("!")},
	"did not find expected '!'":                                    {"while parsing a tag", true, atAny("!")},
	"did not find expected tag URI":                                {"while parsing a tag", true, atAny("!")},
	"did not find URI escaped octet":                               {"while parsing a tag", true, atAny("!")},
	"found an incorrect leading UTF-8 octet":                       {"while parsing a tag", true, atAny("!")},
	"found an incorrect trailing UTF-8 octet":                      {"while parsing a tag", true, atAny("!")},
	"found unknown directive name":                                 {"while scanning a directive", true, atAny("%")},
	"could not find expected directive name":                       {"while scanning a directive", true, atAny("%")},
	"found unexpected non-alphabetical character":                  {"while scanning a directive", true, atAny("%")},
	"did not find expected digit or '.' character":                 {"while scanning a %YAML directive", true, atAny("%")},
	"found extremely long version number":                          {"while scanning a %YAML directive", true, atAny("%")},
	"did not find expected version number":                         {"while scanning a %YAML directive", true, atAny("%")},
	"did not find expected whitespace":                             {"while scanning a %TAG directive", true, atAny("%")},
	"did not find expected key":                                    {"while parsing a block mapping", false, atFirstNode},
	"did not find expected '-' indicator":                          {"while parsing a block collection", false, atAny("-")},
	"did not find expected ',' or ']'":                             {"while parsing a flow sequence", false, nil},
	"did not find expected ',' or '}'":                             {"while parsing a flow mapping", false, nil},
	"did not find expected node content":                           {"while parsing a block node", false, atProblem},
	"found undefined tag handle":                                   {"while parsing a node", false, atAny("!")},
}

// Problems libyaml reports without a context: Psych then points at the
// start of the document.
var noContext = map[string]bool{
	"did not find expected <document start>": true,
	"found incompatible YAML document":       true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"did not find expected <stream-start>":   true,
}

var (
	libraryLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// problemOf splits the library's "yaml: line N: problem" message.
func problemOf(err error) (line int, problem string) {
	msg := err.Error()
	if m := libraryLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

func unmarshalErr(data []byte) error {
	var n yaml.Node
	return yaml.Unmarshal(data, &n)
}

// syntaxError turns the YAML library's error into Psych's. The library
// (a port of libyaml, which Psych uses) knows the problem but not where its
// context starts, so:
//   - the context's line is the library's own line for the document with a
//     blank line in front (then the library always counts from the context
//     mark, which it skips when it is on line 1), less that line;
//   - the context's column is found on that line by what the context is;
//   - when that fails, the position is where the shortest prefix of the
//     document that fails the same way ends.
func syntaxError(file string, data []byte, err error) error {
	_, problem := problemOf(err)
	se := &SyntaxError{File: file, Message: problem}
	fails := func(k int) bool {
		err := unmarshalErr(data[:k])
		if err == nil {
			return false
		}
		_, p := problemOf(err)
		return p == problem
	}
	fallback := func() error {
		if pos := problemOffset(data, fails); pos >= 0 {
			se.Line, se.Column = position(data, pos)
		}
		return se
	}
	if m := unknownAnchor.FindStringSubmatch(problem); m != nil {
		se.Class, se.Message = "Psych::BadAlias", "Unknown alias: "+m[1]
		return fallback()
	}
	if noContext[problem] {
		se.Line, se.Column = 1, 1
		return se
	}
	pc, known := psychContexts[problem]
	if !known {
		return fallback()
	}
	if pc.context != "" {
		se.Message = problem + " " + pc.context
	}
	line := contextLine(data, problem, pc.scanner)
	if line == 0 {
		return fallback()
	}
	lineStart := lineOffset(data, line)
	lineEnd := len(data)
	if i := bytes.IndexByte(data[lineStart:], '\n'); i >= 0 {
		lineEnd = lineStart + i
	}
	at := -1
	if pc.mark == nil {
		// a flow collection: its bracket on that line, open at the line's end
		open := byte('[')
		if strings.HasSuffix(problem, "'}'") {
			open = '{'
		}
		at = openBracket(data, lineStart, lineEnd, open)
	} else {
		at = pc.mark(data, lineStart, lineEnd, fails)
	}
	if at < 0 {
		at = lineStart
	}
	if problem == "did not find expected node content" && len(openBrackets(data, at)) > 0 {
		se.Message = problem + " while parsing a flow node"
	}
	se.Line, se.Column = position(data, at)
	return se
}

// problemOffset is the offset of the last byte of the shortest prefix of
// data that fails, or -1 when the whole document does not.
func problemOffset(data []byte, fails func(k int) bool) int {
	if !fails(len(data)) {
		return -1
	}
	lo, hi := 0, len(data) // fails(hi) holds; find the smallest such hi
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return max(hi-1, 0)
}

// contextLine asks the library for the context's line (1-based), reading
// the document with a blank line in front, or 0 when it does not say.
func contextLine(data []byte, problem string, scanner bool) int {
	err := unmarshalErr(append([]byte("\n"), data...))
	if err == nil {
		return 0
	}
	line, p := problemOf(err)
	if p != problem || line == 0 {
		return 0
	}
	// The library's line is the 0-based context line, plus one for scanner
	// errors; the blank line in front adds one.
	if scanner {
		line--
	}
	return line
}

// position is the 1-based line and column (in characters) of offset.
func position(data []byte, offset int) (line, col int) {
	offset = min(offset, len(data))
	start := bytes.LastIndexByte(data[:offset], '\n') + 1
	return 1 + bytes.Count(data[:offset], []byte("\n")), 1 + utf8.RuneCount(data[start:offset])
}

// lineOffset is the offset where 1-based line starts.
func lineOffset(data []byte, line int) int {
	off := 0
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(data[off:], '\n')
		if j < 0 {
			return len(data)
		}
		off += j + 1
	}
	return off
}

// atProblem: where the problem is on the line (the context is the
// problem itself): the end of the shortest failing prefix within the line.
func atProblem(data []byte, lineStart, lineEnd int, fails func(k int) bool) int {
	for k := lineStart + 1; k <= lineEnd+1 && k <= len(data); k++ {
		if fails(k) {
			return k - 1
		}
	}
	return -1
}

// atFirstNode: the first node on the line, after the indentation and any
// "- " entries (a block mapping starts at its first key, a simple key at its
// first character).
func atFirstNode(data []byte, lineStart, lineEnd int, _ func(int) bool) int {
	i := lineStart
	for i < lineEnd {
		switch {
		case data[i] == ' ':
			i++
		case data[i] == '-' && (i+1 == lineEnd || data[i+1] == ' '):
			i += 2
		default:
			return i
		}
	}
	return -1
}

// atValue: the value of the line's "key: value", else its first node.
func atValue(data []byte, lineStart, lineEnd int, fails func(int) bool) int {
	line := data[lineStart:lineEnd]
	if i := bytes.Index(line, []byte(": ")); i >= 0 {
		j := i + 2
		for j < len(line) && line[j] == ' ' {
			j++
		}
		return lineStart + j
	}
	return atFirstNode(data, lineStart, lineEnd, fails)
}

// atQuote: the quote that is still open at the end of the line, else the
// line's first quote.
func atQuote(data []byte, lineStart, lineEnd int, _ func(int) bool) int {
	var open byte
	at, first := -1, -1
	for i := lineStart; i < lineEnd; i++ {
		c := data[i]
		switch {
		case open == 0 && (c == '"' || c == '\''):
			open, at = c, i
			if first < 0 {
				first = i
			}
		case open == '"' && c == '\\':
			i++
		case open == '\'' && c == '\'' && i+1 < lineEnd && data[i+1] == '\'':
			i++
		case open != 0 && c == open:
			open = 0
		}
	}
	if open != 0 {
		return at
	}
	return first
}

// atAny: the first of chars on the line.
func atAny(chars string) markFinder {
	return func(data []byte, lineStart, lineEnd int, _ func(int) bool) int {
		if i := bytes.IndexAny(data[lineStart:lineEnd], chars); i >= 0 {
			return lineStart + i
		}
		return -1
	}
}

// openBrackets lists the flow brackets ([ and {) open at offset end, outside
// quotes and comments.
func openBrackets(data []byte, end int) []int {
	var stack []int
	var quote byte
	for i := 0; i < end && i < len(data); i++ {
		c := data[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\n'):
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case (c == '"' || c == '\'') && (i == 0 || strings.IndexByte(" \n[{,:", data[i-1]) >= 0):
			quote = c
		case c == '[' || c == '{':
			stack = append(stack, i)
		case (c == ']' || c == '}') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	}
	return stack
}

// openBracket is the innermost bracket of kind open that is still open at
// the end of the line and sits on it, else the innermost open one.
func openBracket(data []byte, lineStart, lineEnd int, open byte) int {
	stack := openBrackets(data, lineEnd)
	fallback := -1
	for i := len(stack) - 1; i >= 0; i-- {
		if data[stack[i]] != open {
			continue
		}
		if stack[i] >= lineStart {
			return stack[i]
		}
		if fallback < 0 {
			fallback = stack[i]
		}
	}
	return fallback
}
