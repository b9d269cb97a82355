package erb

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ActiveSupport's String inflections, which Kamal has loaded when it
// renders a config: camelize, underscore, dasherize, humanize, titleize,
// parameterize, pluralize, singularize, and inquiry. The rules are
// ActiveSupport's default English ones, without custom inflections or
// acronyms.

// inflection is one rule: the last rule that matches a word wins.
type inflection struct {
	re   *regexp.Regexp
	repl string
}

func rules(pairs ...string) []inflection {
	out := make([]inflection, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, inflection{regexp.MustCompile("(?i)" + pairs[i]), pairs[i+1]})
	}
	return out
}

var (
	pluralRules = withIrregulars(true, rules(
		`$`, "s",
		`s$`, "s",
		`^(ax|test)is$`, `${1}es`,
		`(octop|vir)us$`, `${1}i`,
		`(octop|vir)i$`, `${1}i`,
		`(alias|status)$`, `${1}es`,
		`(bu)s$`, `${1}ses`,
		`(buffal|tomat)o$`, `${1}oes`,
		`([ti])um$`, `${1}a`,
		`([ti])a$`, `${1}a`,
		`sis$`, "ses",
		`(?:([^f])fe|([lr])f)$`, `${1}${2}ves`,
		`(hive)$`, `${1}s`,
		`([^aeiouy]|qu)y$`, `${1}ies`,
		`(x|ch|ss|sh)$`, `${1}es`,
		`(matr|vert|ind)(?:ix|ex)$`, `${1}ices`,
		`^(m|l)ouse$`, `${1}ice`,
		`^(m|l)ice$`, `${1}ice`,
		`^(ox)$`, `${1}en`,
		`^(oxen)$`, `${1}`,
		`(quiz)$`, `${1}zes`,
	))
	singularRules = withIrregulars(false, rules(
		`s$`, "",
		`(ss)$`, `${1}`,
		`(n)ews$`, `${1}ews`,
		`([ti])a$`, `${1}um`,
		`((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)(sis|ses)$`, `${1}sis`,
		`(^analy)(sis|ses)$`, `${1}sis`,
		`([^f])ves$`, `${1}fe`,
		`(hive)s$`, `${1}`,
		`(tive)s$`, `${1}`,
		`([lr])ves$`, `${1}f`,
		`([^aeiouy]|qu)ies$`, `${1}y`,
		`(s)eries$`, `${1}eries`,
		`(m)ovies$`, `${1}ovie`,
		`(x|ch|ss|sh)es$`, `${1}`,
		`^(m|l)ice$`, `${1}ouse`,
		`(bus)(es)?$`, `${1}`,
		`(o)es$`, `${1}`,
		`(shoe)s$`, `${1}`,
		`(cris|test)(is|es)$`, `${1}is`,
		`^(a)x[ie]s$`, `${1}xis`,
		`(octop|vir)(us|i)$`, `${1}us`,
		`(alias|status)(es)?$`, `${1}`,
		`^(ox)en`, `${1}`,
		`(vert|ind)ices$`, `${1}ex`,
		`(matr)ices$`, `${1}ix`,
		`(quiz)zes$`, `${1}`,
		`(database)s$`, `${1}`,
	))
	irregulars    = [][2]string{{"person", "people"}, {"man", "men"}, {"child", "children"}, {"sex", "sexes"}, {"move", "moves"}, {"zombie", "zombies"}}
	uncountableRe = regexp.MustCompile(`(?i)\b(equipment|information|rice|money|species|series|fish|sheep|jeans|police)$`)
)

// withIrregulars adds the rules of the irregular words. One keeps its
// first letter as written ("Person" -> "People"); rules for both forms
// leave a word already in the wanted form as it is.
func withIrregulars(plural bool, rs []inflection) []inflection {
	for _, ir := range irregulars {
		s, p := ir[0], ir[1]
		want := s
		if plural {
			want = p
		}
		rs = append(rs, rules(`(`+s[:1]+`)`+s[1:]+`$`, `${1}`+want[1:], `(`+p[:1]+`)`+p[1:]+`$`, `${1}`+want[1:])...)
	}
	return rs
}

// inflect applies the last matching rule, leaving uncountable words.
func inflect(word string, rs []inflection) string {
	if word == "" || uncountableRe.MatchString(word) {
		return word
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if loc := rs[i].re.FindStringSubmatchIndex(word); loc != nil {
			var dst []byte
			dst = rs[i].re.ExpandString(dst, rs[i].repl, word, loc)
			return word[:loc[0]] + string(dst) + word[loc[1]:]
		}
	}
	return word
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isLowerOrDigit(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isUpper(c byte) bool        { return c >= 'A' && c <= 'Z' }

// camelize: "active_model/errors" -> "ActiveModel::Errors".
func camelize(s string, upper bool) string {
	// The first word, then each word after "_" or "/".
	i := 0
	for i < len(s) && isLowerOrDigit(s[i]) {
		i++
	}
	var b strings.Builder
	if upper {
		b.WriteString(capitalizeWord(s[:i]))
	} else if i > 0 || len(s) > 0 && isWordByte(s[0]) {
		// :lower downcases the first character.
		if i == 0 {
			i = 1
		}
		b.WriteString(strings.ToLower(s[:1]) + s[1:i])
	}
	for i < len(s) {
		c := s[i]
		if c == '_' || c == '/' {
			j := i + 1
			for j < len(s) && (isLowerOrDigit(s[j]) || isUpper(s[j])) {
				j++
			}
			if c == '/' {
				b.WriteString("::")
			}
			b.WriteString(capitalizeWord(s[i+1 : j]))
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// capitalizeWord is String#capitalize on ASCII words.
func capitalizeWord(w string) string {
	if w == "" {
		return w
	}
	return strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
}

// underscore: "ActiveModel::Errors" -> "active_model/errors".
func underscore(s string) string {
	if !strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") && !strings.Contains(s, "::") {
		return s
	}
	s = strings.ReplaceAll(s, "::", "/")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 && isUpper(s[i]) {
			prev := s[i-1]
			// "HTTPServer" -> "HTTP_Server", "camelCase" -> "camel_Case".
			if isUpper(prev) && i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z' || isLowerOrDigit(prev) {
				b.WriteByte('_')
			}
		}
		b.WriteByte(s[i])
	}
	return strings.ToLower(strings.ReplaceAll(b.String(), "-", "_"))
}

var wordRe = regexp.MustCompile(`(?i)[a-z\d]+`)

// humanize: "employee_salary" -> "Employee salary", "author_id" -> "Author".
func humanize(s string, capitalize bool) string {
	r := strings.TrimLeft(strings.ReplaceAll(s, "_", " "), " \t\n\v\f\r")
	if strings.HasSuffix(s, "_id") {
		r = strings.TrimSuffix(r, " id")
	}
	r = wordRe.ReplaceAllStringFunc(r, strings.ToLower)
	if capitalize && r != "" && isWordByte(r[0]) {
		r = strings.ToUpper(r[:1]) + r[1:]
	}
	return r
}

// titleize: "x-men: the last stand" -> "X Men: The Last Stand". A letter
// after an apostrophe or parenthesis inside a word stays small ("hello's").
func titleize(s string) string {
	h := []rune(humanize(underscore(s), true))
	isWord := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	for i, r := range h {
		if r < 'a' || r > 'z' || i > 0 && isWord(h[i-1]) {
			continue
		}
		if i >= 2 && strings.ContainsRune("'’`()", h[i-1]) && isWord(h[i-2]) {
			continue
		}
		h[i] = unicode.ToUpper(r)
	}
	return string(h)
}

// transliterations approximate Latin letters with accents in ASCII, as
// I18n.transliterate does for parameterize; anything else becomes "?".
var transliterations = func() map[rune]string {
	m := map[rune]string{}
	for _, g := range [][2]string{
		{"ÀÁÂÃÄÅĀĂĄ", "A"}, {"àáâãäåāăą", "a"}, {"Æ", "AE"}, {"æ", "ae"}, {"ÇĆĈĊČ", "C"}, {"çćĉċč", "c"},
		{"ÐĎĐ", "D"}, {"ðďđ", "d"}, {"ÈÉÊËĒĔĖĘĚ", "E"}, {"èéêëēĕėęě", "e"}, {"ĜĞĠĢ", "G"}, {"ĝğġģ", "g"},
		{"ĤĦ", "H"}, {"ĥħ", "h"}, {"ÌÍÎÏĨĪĬĮİ", "I"}, {"ìíîïĩīĭįı", "i"}, {"Ĳ", "IJ"}, {"ĳ", "ij"},
		{"Ĵ", "J"}, {"ĵ", "j"}, {"Ķ", "K"}, {"ķĸ", "k"}, {"ĹĻĽĿŁ", "L"}, {"ĺļľŀł", "l"}, {"ÑŃŅŇ", "N"},
		{"ñńņň", "n"}, {"ŉ", "'n"}, {"Ŋ", "NG"}, {"ŋ", "ng"}, {"ÒÓÔÕÖØŌŎŐ", "O"}, {"òóôõöøōŏő", "o"},
		{"Œ", "OE"}, {"œ", "oe"}, {"ŔŖŘ", "R"}, {"ŕŗř", "r"}, {"ŚŜŞŠ", "S"}, {"śŝşš", "s"}, {"ß", "ss"},
		{"ŢŤŦ", "T"}, {"ţťŧ", "t"}, {"Þ", "Th"}, {"þ", "th"}, {"ÙÚÛÜŨŪŬŮŰŲ", "U"}, {"ùúûüũūŭůűų", "u"},
		{"Ŵ", "W"}, {"ŵ", "w"}, {"ÝŶŸ", "Y"}, {"ýÿŷ", "y"}, {"ŹŻŽ", "Z"}, {"źżž", "z"}, {"×", "x"},
	} {
		for _, r := range g[0] {
			m[r] = g[1]
		}
	}
	return m
}()

func transliterate(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch t, ok := transliterations[r]; {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case ok:
			b.WriteString(t)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

var notSlugChars = regexp.MustCompile(`(?i)[^a-z0-9\-_]+`)

// parameterize: "Donald E. Knuth" -> "donald-e-knuth".
func parameterize(s, sep string, preserveCase bool) string {
	p := notSlugChars.ReplaceAllLiteralString(transliterate(s), sep)
	if sep != "" {
		q := regexp.QuoteMeta(sep)
		p = regexp.MustCompile(`(?:`+q+`){2,}`).ReplaceAllLiteralString(p, sep)
		p = regexp.MustCompile(`^`+q+`|`+q+`$`).ReplaceAllLiteralString(p, "")
	}
	if !preserveCase {
		p = strings.ToLower(p)
	}
	return p
}

// StringInquirer is what String#inquiry returns: a string that answers
// "production?" by comparing itself with "production".
type StringInquirer struct{ s string }

// inflectionMethod implements the ActiveSupport String methods above.
func inflectionMethod(s, name string, args []Value, n node) (Value, bool, error) {
	opts := func() (*Hash, error) {
		if len(args) == 0 {
			return newHash(), nil
		}
		h, ok := args[len(args)-1].(*Hash)
		if !ok {
			return nil, unsupported(n)
		}
		return h, nil
	}
	switch name {
	case "camelize", "camelcase":
		upper := true
		if len(args) == 1 {
			upper = !equal(args[0], Symbol("lower"))
			if upper && !equal(args[0], Symbol("upper")) && args[0] != true {
				return nil, true, argErr(n, "Invalid option, use either :upper or :lower.")
			}
		}
		return camelize(s, upper), true, nil
	case "underscore":
		return underscore(s), true, nil
	case "dasherize":
		return strings.ReplaceAll(s, "_", "-"), true, nil
	case "humanize":
		o, err := opts()
		if err != nil {
			return nil, true, err
		}
		capitalize := true
		if v, ok := o.get(Symbol("capitalize")); ok {
			capitalize = truthy(v)
		}
		return humanize(s, capitalize), true, nil
	case "titleize", "titlecase":
		return titleize(s), true, nil
	case "parameterize":
		o, err := opts()
		if err != nil {
			return nil, true, err
		}
		sep, preserve := "-", false
		if v, ok := o.get(Symbol("separator")); ok {
			sep = toS(v)
		}
		if v, ok := o.get(Symbol("preserve_case")); ok {
			preserve = truthy(v)
		}
		return parameterize(s, sep, preserve), true, nil
	case "pluralize":
		if len(args) == 1 {
			if c, ok := args[0].(int64); ok && c == 1 {
				return s, true, nil
			}
		}
		return inflect(s, pluralRules), true, nil
	case "singularize":
		return inflect(s, singularRules), true, nil
	case "inquiry":
		return &StringInquirer{s: s}, true, nil
	}
	return nil, false, nil
}

func (ev *evaluator) inquirerMethod(q *StringInquirer, name string, args []Value, blk *block, n node) (Value, error) {
	if strings.HasSuffix(name, "?") && len(args) == 0 && blk == nil {
		if v, err := ev.stringMethod(q.s, name, args, blk, n); err == nil {
			return v, nil // a String predicate such as empty?
		}
		return q.s == strings.TrimSuffix(name, "?"), nil
	}
	return ev.stringMethod(q.s, name, args, blk, n)
}
