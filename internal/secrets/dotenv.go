// Package secrets reads Kamal secrets files (.kamal/secrets*), which use the
// dotenv format of the Ruby dotenv 3 gem, and fetches secrets from password
// managers through their command line tools.
package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// Var is one KEY=value pair of a dotenv file, in file order.
type Var struct{ Key, Value string }

// DotenvOptions controls how a dotenv file is expanded.
type DotenvOptions struct {
	File      string                           // shown in error messages
	LookupEnv func(string) (string, bool)      // nil means os.LookupEnv
	Shell     func(cmd string) (string, error) // runs $(cmd); nil means sh -c

	// EnvFirst makes $VAR prefer the environment over keys read earlier
	// in the file, as Dotenv.load (no overwrite) does. Secrets files use
	// the default: earlier keys first, as Kamal parses them in overwrite mode.
	EnvFirst bool
}

// ParseDotenv parses dotenv data with the rules of the Ruby dotenv 3 gem as
// Kamal uses it (overwrite mode):
//
//   - `KEY=value`, `KEY: value`, an optional `export ` prefix; keys are
//     letters, digits, `_` and `.`; later keys replace earlier ones but keep
//     their first position;
//   - single-quoted values are literal; double-quoted values may span lines
//     and unescape `\x` to `x` (except `\$`); `\n` stays a backslash and an
//     `n`, unless DOTENV_LINEBREAK_MODE=legacy turns it into a newline;
//   - unquoted values end at `#` and are trimmed;
//   - outside single quotes, `$VAR` and `${VAR}` expand from the keys read so
//     far, then from the environment (unset: empty); `\$` is a literal `$`;
//   - `$(cmd)` runs cmd with the shell and inserts its output without the
//     final newline; `\$(cmd)` is literal. `$(kamal secrets ...)` runs in
//     this process (see RunInline), as Kamal does;
//   - lines that are not assignments are ignored, except `export KEY` for a
//     key the file does not set, which is an error.
func ParseDotenv(data []byte, opts DotenvOptions) ([]Var, error) {
	p := &dotenvParser{
		src:   strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data)),
		opts:  opts,
		index: map[string]int{},
	}
	if p.opts.LookupEnv == nil {
		p.opts.LookupEnv = os.LookupEnv
	}
	if p.opts.Shell == nil {
		p.opts.Shell = runShell
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.vars, nil
}

type dotenvParser struct {
	src   string
	opts  DotenvOptions
	vars  []Var
	index map[string]int
}

func (p *dotenvParser) set(key, value string) {
	if i, ok := p.index[key]; ok {
		p.vars[i].Value = value
		return
	}
	p.index[key] = len(p.vars)
	p.vars = append(p.vars, Var{key, value})
}

func (p *dotenvParser) lookup(key string) (string, bool) {
	if p.opts.EnvFirst {
		if v, ok := p.opts.LookupEnv(key); ok {
			return v, true
		}
	}
	if i, ok := p.index[key]; ok {
		return p.vars[i].Value, true
	}
	return p.opts.LookupEnv(key)
}

func (p *dotenvParser) where() string {
	if p.opts.File == "" {
		return "dotenv"
	}
	return p.opts.File
}

// lineMatch is one assignment found by matchLine.
type lineMatch struct {
	key      string
	value    string // raw value text, surrounding whitespace included
	hasValue bool
	end      int // offset just past the match
}

// parse scans the text for assignments the way the gem's line regexp is
// applied with String#scan: a match may start at any line start, and the
// text it does not cover is checked for `export KEY` lines afterwards.
func (p *dotenvParser) parse() error {
	s := p.src
	var rest strings.Builder // text not covered by any match
	last := 0
	for pos := 0; pos < len(s); {
		m, ok := matchLine(s, pos)
		if !ok {
			next := strings.IndexByte(s[pos:], '\n')
			if next < 0 {
				break
			}
			pos += next + 1
			continue
		}
		rest.WriteString(s[last:pos])
		last = m.end
		value, err := p.value(m.value)
		if err != nil {
			return err
		}
		p.set(m.key, value)
		// Continue at the first line start at or after the match end.
		pos = m.end
		if pos > 0 && pos < len(s) && s[pos-1] != '\n' {
			next := strings.IndexByte(s[pos:], '\n')
			if next < 0 {
				break
			}
			pos += next + 1
		}
	}
	rest.WriteString(s[last:])
	for _, line := range strings.FieldsFunc(rest.String(), func(r rune) bool { return r == '\n' }) {
		words := strings.Fields(line)
		if len(words) == 0 || words[0] != "export" {
			continue
		}
		for _, w := range words[1:] {
			if _, ok := p.index[w]; !ok {
				return fmt.Errorf("%s: line %q has an unset variable", p.where(), line)
			}
		}
	}
	return nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// matchLine tries the gem's line pattern at pos, a line start:
//
//	\s* (export\s+)? ([\w.]+) (\s*=\s*?|:\s+?)
//	( \s*'(\\'|[^'])*' | \s*"(\\"|[^"])*" | [^#\n]+ )? \s* (#.*)? ($|\z)
//
// with the same preference order a backtracking regexp engine uses.
func matchLine(s string, pos int) (lineMatch, bool) {
	i := pos
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if strings.HasPrefix(s[i:], "export") {
		j := i + len("export")
		if j < len(s) && isSpace(s[j]) {
			for j < len(s) && isSpace(s[j]) {
				j++
			}
			if m, ok := matchAssignment(s, j); ok {
				return m, true
			}
		}
	}
	return matchAssignment(s, i)
}

func matchAssignment(s string, i int) (lineMatch, bool) {
	k := i
	for k < len(s) && (isWord(s[k]) || s[k] == '.') {
		k++
	}
	if k == i {
		return lineMatch{}, false
	}
	key := s[i:k]
	// Separator `\s*=`, lazily followed by nothing: a value or the line
	// tail always matches right after `=`, so the lazy \s*? stays empty.
	j := k
	for j < len(s) && isSpace(s[j]) {
		j++
	}
	if j < len(s) && s[j] == '=' {
		if m, ok := matchValue(s, j+1); ok {
			m.key = key
			return m, true
		}
	}
	// Separator `:\s+?`: a colon and exactly one whitespace character.
	if k+1 < len(s) && s[k] == ':' && isSpace(s[k+1]) {
		if m, ok := matchValue(s, k+2); ok {
			m.key = key
			return m, true
		}
	}
	return lineMatch{}, false
}

func matchValue(s string, q int) (lineMatch, bool) {
	r := q
	for r < len(s) && isSpace(s[r]) {
		r++
	}
	if r < len(s) && (s[r] == '\'' || s[r] == '"') {
		quote := s[r]
		// Candidate closing quotes: every quote up to the first one that is
		// not preceded by a backslash, tried longest first.
		var closes []int
		for c := r + 1; c < len(s); c++ {
			if s[c] != quote {
				continue
			}
			closes = append(closes, c)
			if s[c-1] != '\\' || c-1 == r {
				break
			}
		}
		for n := len(closes) - 1; n >= 0; n-- {
			if end, ok := matchTail(s, closes[n]+1); ok {
				return lineMatch{value: s[q : closes[n]+1], hasValue: true, end: end}, true
			}
		}
	}
	// Unquoted: the longest run of characters other than `#` and newline;
	// the tail always matches after it.
	u := q
	for u < len(s) && s[u] != '#' && s[u] != '\n' {
		u++
	}
	if u > q {
		end, _ := matchTail(s, u)
		return lineMatch{value: s[q:u], hasValue: true, end: end}, true
	}
	if end, ok := matchTail(s, q); ok {
		return lineMatch{end: end}, true
	}
	return lineMatch{}, false
}

// matchTail matches `\s*(#.*)?($|\z)` at t and returns the end offset.
func matchTail(s string, t int) (int, bool) {
	w := t
	for w < len(s) && isSpace(s[w]) {
		w++
	}
	for e := w; e >= t; e-- {
		if e < len(s) && s[e] == '#' {
			if nl := strings.IndexByte(s[e:], '\n'); nl >= 0 {
				return e + nl, true
			}
			return len(s), true
		}
		if e == len(s) || s[e] == '\n' {
			return e, true
		}
	}
	return 0, false
}

// rubyStrip trims what Ruby's String#strip trims.
func rubyStrip(s string) string {
	return strings.Trim(s, " \t\n\v\f\r\x00")
}

func (p *dotenvParser) value(raw string) (string, error) {
	v := rubyStrip(raw)
	var quote byte
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		quote = v[0]
		v = v[1 : len(v)-1]
	}
	switch quote {
	case '\'':
		return v, nil
	case '"':
		v = unescapeDotenv(p.expandNewlines(v))
	default:
		v = unescapeDotenv(v)
	}
	return p.substitute(v)
}

func (p *dotenvParser) expandNewlines(v string) string {
	mode, ok := "", false
	if i, set := p.index["DOTENV_LINEBREAK_MODE"]; set {
		mode, ok = p.vars[i].Value, true
	}
	if !ok {
		mode, _ = p.opts.LookupEnv("DOTENV_LINEBREAK_MODE")
	}
	if mode == "legacy" {
		return strings.NewReplacer(`\n`, "\n", `\r`, "\r").Replace(v)
	}
	// The gem doubles the backslash so that the unescaping that follows
	// leaves `\n` as two characters.
	return strings.NewReplacer(`\n`, `\\n`, `\r`, `\\r`).Replace(v)
}

// unescapeDotenv turns `\x` into `x` for every x but `$`.
func unescapeDotenv(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && v[i+1] != '$' {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// substitute expands variables and runs commands in one left-to-right pass.
// The gem runs its variable pass over the whole value before its command
// pass; doing both in one pass gives the same result for every value except
// that text coming out of a variable is never executed as a command.
func (p *dotenvParser) substitute(v string) (string, error) {
	if !strings.Contains(v, "$") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		c := v[i]
		if c == '\\' && i+1 < len(v) && v[i+1] == '$' {
			if i+2 < len(v) && v[i+2] == '(' {
				if end := matchParens(v, i+2); end > 0 {
					// An escaped command stays as written, minus the backslash.
					b.WriteString(v[i+1 : end])
					i = end
					continue
				}
				b.WriteString(`\$`)
				i += 2
				continue
			}
			if n := varRefLen(v, i+1); n > 0 {
				b.WriteString(v[i+1 : i+1+n])
				i += 1 + n
				continue
			}
			b.WriteByte('$')
			i += 2
			continue
		}
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(v) && v[i+1] == '(' {
			if end := matchParens(v, i+1); end > 0 {
				out, err := p.command(v[i+2 : end-1])
				if err != nil {
					return "", err
				}
				b.WriteString(out)
				i = end
				continue
			}
			b.WriteByte('$')
			i++
			continue
		}
		if n := varRefLen(v, i); n > 0 {
			b.WriteString(p.expandRef(v[i : i+n]))
			i += n
			continue
		}
		b.WriteByte('$')
		i++
	}
	return b.String(), nil
}

// varRefLen returns the length of the gem's variable pattern at v[i] (a `$`):
// `$`, an optional `{`, a name of letters, digits and `_`, an optional `}`.
// Without a name it returns 0 (the `$` stays as it is).
func varRefLen(v string, i int) int {
	j := i + 1
	if j < len(v) && v[j] == '(' {
		return 0
	}
	if j < len(v) && v[j] == '{' {
		j++
	}
	start := j
	for j < len(v) && isWord(v[j]) {
		j++
	}
	if j == start {
		return 0
	}
	if j < len(v) && v[j] == '}' {
		j++
	}
	return j - i
}

func (p *dotenvParser) expandRef(ref string) string {
	name := strings.Trim(ref[1:], "{}")
	val, _ := p.lookup(name)
	return val
}

// expandVars applies only the variable rules; used on a command's text
// before it runs, as the gem expands variables before commands.
func (p *dotenvParser) expandVars(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		if v[i] == '\\' && i+1 < len(v) && v[i+1] == '$' {
			if n := varRefLen(v, i+1); n > 0 {
				b.WriteString(v[i+1 : i+1+n])
				i += 1 + n
				continue
			}
			if i+2 < len(v) && v[i+2] == '(' {
				b.WriteString(`\$`)
				i += 2
				continue
			}
			b.WriteByte('$')
			i += 2
			continue
		}
		if v[i] == '$' {
			if n := varRefLen(v, i); n > 0 {
				b.WriteString(p.expandRef(v[i : i+n]))
				i += n
				continue
			}
		}
		b.WriteByte(v[i])
		i++
	}
	return b.String()
}

// matchParens returns the offset just past the parenthesis that balances the
// one at v[open], or 0 when there is none or the parentheses are empty. As
// in Kamal, a backslash escapes the next character, so `\)` does not close.
func matchParens(v string, open int) int {
	depth := 0
	for i := open; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if i+1 >= len(v) || v[i+1] == '\n' {
				return 0
			}
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				if i == open+1 {
					return 0
				}
				return i + 1
			}
		}
	}
	return 0
}

var kamalSecretsCommand = regexp.MustCompile(`\A\s*kamal\s+secrets\s+`)

// command runs the text of a `$(...)` and returns its output without the
// final newline. Errors name the command as written in the file, never its
// expanded text, which may hold secrets.
func (p *dotenvParser) command(text string) (string, error) {
	expanded := p.expandVars(text)
	if kamalSecretsCommand.MatchString(expanded) {
		words, err := ShellSplit(expanded)
		if err != nil {
			return "", fmt.Errorf("%s: `$(%s)`: %w", p.where(), text, err)
		}
		out, err := RunInline(context.Background(), words[1:], Streams{})
		if err != nil {
			return "", fmt.Errorf("%s: `$(%s)`: %w", p.where(), text, err)
		}
		return chomp(out), nil
	}
	out, err := p.opts.Shell(expanded)
	if err != nil {
		return "", fmt.Errorf("%s: command `%s` failed: %w", p.where(), text, err)
	}
	return chomp(out), nil
}

// chomp removes one trailing line break, like Ruby's String#chomp.
func chomp(s string) string {
	switch {
	case strings.HasSuffix(s, "\r\n"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "\n"), strings.HasSuffix(s, "\r"):
		return s[:len(s)-1]
	}
	return s
}

// runShell runs cmd with `sh -c`, with the terminal's stdin and stderr so
// that prompts and error messages reach the user, and returns its stdout.
func runShell(cmd string) (string, error) {
	c := exec.Command("sh", "-c", cmd)
	var out bytes.Buffer
	c.Stdin = os.Stdin
	c.Stdout = &out
	c.Stderr = os.Stderr
	if err := c.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("exit status %d", exit.ExitCode())
		}
		return "", err
	}
	return out.String(), nil
}
