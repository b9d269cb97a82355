package deploy

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// match reports whether name matches the shell-style pattern the way Ruby's
// File.fnmatch does with FNM_EXTGLOB (what Kamal uses for --hosts and
// --roles): `*` matches any run of characters (including none), `?` one
// character, `[...]` a class (`[!...]`/`[^...]` negated), `{a,b}` either
// alternative, and `\` escapes the next character. An invalid pattern only
// matches itself literally.
func match(pattern, name string) bool {
	re, err := fnmatchRegexp(pattern)
	if err != nil {
		return pattern == name
	}
	return re.MatchString(name)
}

func fnmatchRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	depth := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '\\':
			if i+1 < len(pattern) {
				n := runeLen(pattern, i+1)
				b.WriteString(regexp.QuoteMeta(pattern[i+1 : i+1+n]))
				i += n
			} else {
				b.WriteString(`\\`)
			}
		case '[':
			end := classEnd(pattern, i)
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := pattern[i+1 : end]
			neg := false
			if strings.HasPrefix(class, "!") || strings.HasPrefix(class, "^") {
				neg, class = true, class[1:]
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for j := 0; j < len(class); j++ {
				switch class[j] {
				case '\\', ']', '[', '^':
					b.WriteByte('\\')
				}
				b.WriteByte(class[j])
			}
			b.WriteByte(']')
			i = end
		case '{':
			depth++
			b.WriteString(`(?:`)
		case '}':
			if depth > 0 {
				depth--
				b.WriteString(`)`)
			} else {
				b.WriteString(`\}`)
			}
		case ',':
			if depth > 0 {
				b.WriteString(`|`)
			} else {
				b.WriteString(`,`)
			}
		default:
			// Whole characters: a lone byte of a multi-byte one is not
			// valid in a regexp.
			n := runeLen(pattern, i)
			b.WriteString(regexp.QuoteMeta(pattern[i : i+n]))
			i += n - 1
		}
	}
	if depth > 0 {
		return nil, errUnbalanced
	}
	b.WriteString(`)\z`)
	return regexp.Compile(b.String())
}

// runeLen is the byte length of the character at s[i] (1 for invalid UTF-8).
func runeLen(s string, i int) int {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

type fnmatchError string

func (e fnmatchError) Error() string { return string(e) }

const errUnbalanced = fnmatchError("unbalanced braces")

// classEnd returns the index of the `]` closing the class opened at i, or -1.
func classEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && (p[j] == '!' || p[j] == '^') {
		j++
	}
	if j < len(p) && p[j] == ']' { // a leading ] is literal
		j++
	}
	for ; j < len(p); j++ {
		if p[j] == ']' {
			return j
		}
	}
	return -1
}

// filterItems returns the items matched by any filter: for each filter in
// turn, the matching items in their own order, without duplicates.
func filterItems(filters, items []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range filters {
		for _, it := range items {
			if !seen[it] && match(f, it) {
				seen[it] = true
				out = append(out, it)
			}
		}
	}
	return out
}
