package erb

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// rubyStripSet is what String#strip removes (whitespace and NUL).
const rubyStripSet = " \t\n\v\f\r\x00"

func (ev *evaluator) stringMethod(s string, name string, args []Value, blk *block, n node) (Value, error) {
	if blk != nil {
		if (name == "gsub" || name == "sub") && len(args) == 1 {
			return ev.substitute(s, name == "gsub", args[0], nil, blk, n)
		}
		if name == "each_line" || name == "each_char" {
			var list []string
			if name == "each_char" {
				list = strings.Split(s, "")
			} else {
				list = strings.SplitAfter(s, "\n")
				if len(list) > 0 && list[len(list)-1] == "" {
					list = list[:len(list)-1]
				}
			}
			for _, l := range list {
				if err := ev.tick(n); err != nil {
					return nil, err
				}
				if _, err := blk.fn([]Value{l}); err != nil {
					return nil, err
				}
			}
			return s, nil
		}
		if v, ok, err := ev.moreStringMethods(s, name, args, blk, n); ok {
			return v, err
		}
		return nil, unsupported(n)
	}
	switch len(args) {
	case 0:
		switch name {
		case "to_s", "to_str":
			return s, nil
		case "to_sym", "intern":
			return Symbol(s), nil
		case "to_i":
			return strToI(s, n)
		case "to_f":
			return parseFloatPrefix(s), nil
		case "strip":
			return strings.Trim(s, rubyStripSet), nil
		case "lstrip":
			return strings.TrimLeft(s, rubyStripSet), nil
		case "rstrip":
			return strings.TrimRight(s, rubyStripSet), nil
		case "chomp":
			switch {
			case strings.HasSuffix(s, "\r\n"):
				return s[:len(s)-2], nil
			case strings.HasSuffix(s, "\n"), strings.HasSuffix(s, "\r"):
				return s[:len(s)-1], nil
			}
			return s, nil
		case "chop":
			if strings.HasSuffix(s, "\r\n") {
				return s[:len(s)-2], nil
			}
			if s == "" {
				return s, nil
			}
			_, size := utf8.DecodeLastRuneInString(s)
			return s[:len(s)-size], nil
		case "squish":
			return strings.Join(strings.FieldsFunc(s, isRubySpace), " "), nil
		case "upcase":
			return strings.ToUpper(s), nil
		case "downcase":
			return strings.ToLower(s), nil
		case "capitalize":
			if s == "" {
				return s, nil
			}
			r, size := utf8.DecodeRuneInString(s)
			return string(unicode.ToUpper(r)) + strings.ToLower(s[size:]), nil
		case "swapcase":
			return strings.Map(func(r rune) rune {
				if unicode.IsUpper(r) {
					return unicode.ToLower(r)
				}
				return unicode.ToUpper(r)
			}, s), nil
		case "reverse":
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r), nil
		case "first", "last":
			// ActiveSupport's String#first/#last (Kamal loads ActiveSupport).
			return stringEnds(s, name, 1, n)
		case "empty?":
			return s == "", nil
		case "length", "size":
			return int64(utf8.RuneCountInString(s)), nil
		case "bytesize":
			return int64(len(s)), nil
		case "split":
			return splitString(s, nil, 0, n)
		case "chars":
			return toArray(strings.Split(s, "")), nil
		case "lines":
			list := strings.SplitAfter(s, "\n")
			if len(list) > 0 && list[len(list)-1] == "" {
				list = list[:len(list)-1]
			}
			return toArray(list), nil
		case "-@", "+@":
			return s, nil
		case "succ", "next":
			return strSucc(s), nil
		case "shellescape", "shellsplit", "shellwords":
			return shellwordsMethod(name, []Value{s}, n)
		}
	case 1:
		arg := args[0]
		switch name {
		case "%":
			if a, ok := arg.(*Array); ok {
				return ev.sprintf(s, a.elems, n)
			}
			return ev.sprintf(s, args, n)
		case "first", "last":
			k, ok := arg.(int64)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into Integer", coerceName(arg))
			}
			return stringEnds(s, name, k, n)
		case "+":
			o, ok := arg.(string)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(arg))
			}
			if len(s)+len(o) > maxOutput {
				return nil, limitErr(n, "string is larger than %d bytes", maxOutput)
			}
			return s + o, nil
		case "*":
			k, ok := arg.(int64)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into Integer", coerceName(arg))
			}
			if k < 0 {
				return nil, argErr(n, "negative argument")
			}
			if len(s) > 0 && k > int64(maxOutput/len(s)) {
				return nil, limitErr(n, "string is larger than %d bytes", maxOutput)
			}
			return strings.Repeat(s, int(k)), nil
		case "<", ">", "<=", ">=":
			o, ok := arg.(string)
			if !ok {
				return nil, argErr(n, "comparison of String with %s failed", inspectOrClass(arg))
			}
			c := strings.Compare(s, o)
			return name == "<" && c < 0 || name == ">" && c > 0 || name == "<=" && c <= 0 || name == ">=" && c >= 0, nil
		case "chomp":
			suffix, ok := arg.(string)
			if !ok {
				return nil, unsupported(n)
			}
			if suffix == "" {
				return strings.TrimRight(s, "\r\n"), nil
			}
			return strings.TrimSuffix(s, suffix), nil
		case "include?":
			o, ok := arg.(string)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(arg))
			}
			return strings.Contains(s, o), nil
		case "delete_prefix", "delete_suffix":
			o, ok := arg.(string)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(arg))
			}
			if name == "delete_prefix" {
				return strings.TrimPrefix(s, o), nil
			}
			return strings.TrimSuffix(s, o), nil
		case "casecmp?":
			o, ok := arg.(string)
			if !ok {
				return nil, unsupported(n)
			}
			return strings.EqualFold(s, o), nil
		case "split":
			return splitString(s, arg, 0, n)
		case "match?", "=~", "match":
			re, ok := arg.(*Regexp)
			if o, isStr := arg.(string); isStr && name != "=~" {
				// A string pattern is a regexp source, as in Ruby.
				r, err := compileRegexp(o, "", n)
				if err != nil {
					return nil, err
				}
				re, ok = r, true
			}
			if !ok {
				if _, isStr := arg.(string); isStr {
					return nil, typeErr(n, "wrong argument type String (expected Regexp)")
				}
				return nil, unsupported(n)
			}
			if name == "match?" {
				return re.re.MatchString(s), nil
			}
			m := ev.matchRegexp(re, s)
			if m == nil {
				return nil, nil
			}
			if name == "match" {
				return m, nil
			}
			return int64(utf8.RuneCountInString(s[:m.loc[0]])), nil
		case "[]", "slice":
			return ev.strIndex(s, args, n)
		case "count":
			o, ok := arg.(string)
			if !ok {
				return nil, unsupported(n)
			}
			set, err := parseTrSet(o)
			if err != nil {
				return nil, unsupported(n)
			}
			c := int64(0)
			for _, r := range s {
				if set.has(r) {
					c++
				}
			}
			return c, nil
		case "delete":
			o, ok := arg.(string)
			if !ok {
				return nil, unsupported(n)
			}
			return trString(s, o, "", n)
		}
	case 2:
		switch name {
		case "tr":
			from, ok1 := args[0].(string)
			to, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(firstNonString(args)))
			}
			return trString(s, from, to, n)
		case "gsub", "sub":
			return ev.substitute(s, name == "gsub", args[0], args[1], nil, n)
		case "split":
			limit, ok := args[1].(int64)
			if !ok {
				return nil, unsupported(n)
			}
			return splitString(s, args[0], limit, n)
		case "[]", "slice":
			return ev.strIndex(s, args, n)
		}
	}
	if v, ok, err := ev.moreStringMethods(s, name, args, blk, n); ok {
		return v, err
	}
	switch name {
	case "start_with?", "end_with?":
		for _, a := range args {
			switch p := a.(type) {
			case string:
				if name == "start_with?" && strings.HasPrefix(s, p) || name == "end_with?" && strings.HasSuffix(s, p) {
					return true, nil
				}
			case *Regexp:
				if name == "end_with?" {
					return nil, typeErr(n, "no implicit conversion of Regexp into String")
				}
				if loc := p.re.FindStringIndex(s); loc != nil && loc[0] == 0 {
					return true, nil
				}
			default:
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(a))
			}
		}
		return false, nil
	}
	return nil, unsupported(n)
}

func firstNonString(args []Value) Value {
	for _, a := range args {
		if _, ok := a.(string); !ok {
			return a
		}
	}
	return nil
}

func inspectOrClass(v Value) string {
	switch v.(type) {
	case nil, bool, int64:
		return inspect(v)
	}
	return className(v)
}

func toArray(list []string) *Array {
	a := &Array{elems: make([]Value, len(list))}
	for i, s := range list {
		a.elems[i] = s
	}
	return a
}

// strToI is String#to_i: leading blanks, a sign, digits with single
// underscores between them; anything else ends the number.
func strToI(s string, n node) (Value, error) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var digits strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digits.WriteByte(c)
			continue
		}
		if c == '_' && i > 0 && s[i-1] != '_' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			continue
		}
		break
	}
	if digits.Len() == 0 {
		return int64(0), nil
	}
	d := digits.String()
	if neg {
		d = "-" + d
	}
	v, err := strconv.ParseInt(d, 10, 64)
	if err != nil {
		return nil, unsupported(n) // would be a big integer in Ruby
	}
	return v, nil
}

// strIndex is String#[] with an integer, start+length, or substring.
func (ev *evaluator) strIndex(s string, args []Value, n node) (Value, error) {
	runes := []rune(s)
	switch a := args[0].(type) {
	case int64:
		i := a
		if i < 0 {
			i += int64(len(runes))
		}
		if len(args) == 1 {
			if i < 0 || i >= int64(len(runes)) {
				return nil, nil
			}
			return string(runes[i]), nil
		}
		l, ok := args[1].(int64)
		if !ok {
			return nil, unsupported(n)
		}
		if i < 0 || i > int64(len(runes)) || l < 0 {
			return nil, nil
		}
		end := i + l
		if end > int64(len(runes)) {
			end = int64(len(runes))
		}
		return string(runes[i:end]), nil
	case string:
		if len(args) == 1 {
			if strings.Contains(s, a) {
				return a, nil
			}
			return nil, nil
		}
	case *Range:
		if len(args) == 1 {
			start, length, ok := a.bounds(int64(len(runes)))
			if !ok {
				if _, isInt := a.first.(int64); !isInt && a.first != nil {
					return nil, typeErr(n, "no implicit conversion of %s into Integer", className(a.first))
				}
				return nil, nil
			}
			return string(runes[start : start+length]), nil
		}
	case *Regexp:
		if len(args) == 2 {
			g, ok := args[1].(int64)
			if !ok {
				return nil, unsupported(n)
			}
			m := ev.matchRegexp(a, s)
			if m == nil {
				return nil, nil
			}
			return m.group(int(g)), nil
		}
		if len(args) == 1 {
			m := a.re.FindString(s)
			if m == "" && a.re.FindStringIndex(s) == nil {
				return nil, nil
			}
			return m, nil
		}
	}
	return nil, unsupported(n)
}

// splitString is String#split.
func splitString(s string, sep Value, limit int64, n node) (Value, error) {
	var parts []string
	switch p := sep.(type) {
	case nil:
		parts = awkSplit(s, limit)
	case string:
		switch {
		case p == " ":
			parts = awkSplit(s, limit)
		case p == "":
			parts = strings.Split(s, "")
			if limit > 0 && int64(len(parts)) > limit {
				parts = append(parts[:limit-1], strings.Join(parts[limit-1:], ""))
			}
		case limit > 0:
			parts = strings.SplitN(s, p, int(limit))
		default:
			parts = strings.Split(s, p)
		}
	case *Regexp:
		parts = regexpSplit(s, p, limit)
	default:
		return nil, typeErr(n, "wrong argument type %s (expected Regexp)", className(sep))
	}
	if s == "" {
		parts = nil
	}
	if limit == 0 {
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
	}
	return toArray(parts), nil
}

func awkSplit(s string, limit int64) []string {
	var parts []string
	rest := strings.TrimLeft(s, " \t\n\v\f\r\x00")
	for rest != "" {
		if limit > 0 && int64(len(parts)) == limit-1 {
			parts = append(parts, rest)
			return parts
		}
		i := strings.IndexAny(rest, " \t\n\v\f\r\x00")
		if i < 0 {
			parts = append(parts, rest)
			break
		}
		parts = append(parts, rest[:i])
		rest = strings.TrimLeft(rest[i:], " \t\n\v\f\r\x00")
		if rest == "" && limit < 0 {
			parts = append(parts, "")
		}
	}
	return parts
}

func regexpSplit(s string, re *Regexp, limit int64) []string {
	var parts []string
	start := 0
	for _, m := range re.re.FindAllStringSubmatchIndex(s, -1) {
		if limit > 0 && int64(len(parts)) >= limit-1 {
			break
		}
		if m[1] == m[0] {
			if m[0] == 0 || m[0] >= len(s) {
				continue
			}
		}
		if m[0] == 0 && m[1] > 0 && start == 0 {
			parts = append(parts, "")
		} else {
			parts = append(parts, s[start:m[0]])
		}
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] >= 0 {
				parts = append(parts, s[m[g]:m[g+1]])
			}
		}
		start = m[1]
	}
	parts = append(parts, s[start:])
	return parts
}

// substitute implements sub/gsub with a string or regexp pattern and a
// replacement string, a hash, or a block.
func (ev *evaluator) substitute(s string, global bool, pat, repl Value, blk *block, n node) (Value, error) {
	var locs [][]int
	var names []string
	switch p := pat.(type) {
	case string:
		if p == "" {
			return nil, unsupported(n)
		}
		from := 0
		for {
			i := strings.Index(s[from:], p)
			if i < 0 {
				break
			}
			locs = append(locs, []int{from + i, from + i + len(p)})
			from += i + len(p)
			if !global {
				break
			}
		}
	case *Regexp:
		k := -1
		if !global {
			k = 1
		}
		locs = p.re.FindAllStringSubmatchIndex(s, k)
		names = p.re.SubexpNames()
	default:
		return nil, typeErr(n, "wrong argument type %s (expected Regexp)", className(pat))
	}
	var b strings.Builder
	last := 0
	for _, m := range locs {
		if err := ev.tick(n); err != nil {
			return nil, err
		}
		b.WriteString(s[last:m[0]])
		match := s[m[0]:m[1]]
		switch r := repl.(type) {
		case nil:
			if blk == nil {
				return nil, unsupported(n)
			}
			v, err := blk.fn([]Value{match})
			if err != nil {
				return nil, err
			}
			b.WriteString(toS(v))
		case string:
			expandReplacement(&b, r, s, m, names)
		case *Hash:
			v, _ := r.get(match)
			b.WriteString(toS(v))
		default:
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(repl))
		}
		if b.Len() > maxOutput {
			return nil, limitErr(n, "string is larger than %d bytes", maxOutput)
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// expandReplacement writes a sub/gsub replacement, expanding \0-\9, \&,
// \k<name> and \\.
func expandReplacement(b *strings.Builder, repl, s string, m []int, names []string) {
	group := func(g int) {
		if 2*g+1 < len(m) && m[2*g] >= 0 {
			b.WriteString(s[m[2*g]:m[2*g+1]])
		}
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' || i+1 >= len(repl) {
			b.WriteByte(c)
			continue
		}
		d := repl[i+1]
		switch {
		case d >= '0' && d <= '9':
			group(int(d - '0'))
			i++
		case d == '&':
			group(0)
			i++
		case d == '\\':
			b.WriteByte('\\')
			i++
		case d == 'k' && i+2 < len(repl) && repl[i+2] == '<':
			end := strings.IndexByte(repl[i+3:], '>')
			if end < 0 {
				b.WriteByte(c)
				continue
			}
			name := repl[i+3 : i+3+end]
			for g, nm := range names {
				if nm == name && g > 0 {
					group(g)
				}
			}
			i += 3 + end
		default:
			b.WriteByte(c)
		}
	}
}

// trSet is a character set in tr's notation: ranges "a-z", "^" negation.
type trSet struct {
	runes  []rune
	last   map[rune]int // position of each rune's last occurrence in runes
	negate bool
}

func (t trSet) has(r rune) bool {
	_, ok := t.last[r]
	return ok != t.negate
}

// maxTrRunes bounds the expansion of ranges in a tr set.
const maxTrRunes = 1 << 18

func parseTrSet(spec string) (trSet, error) {
	t := trSet{last: map[rune]int{}}
	rs := []rune(spec)
	if len(rs) > 1 && rs[0] == '^' {
		t.negate = true
		rs = rs[1:]
	}
	add := func(r rune) error {
		if len(t.runes) >= maxTrRunes {
			return strconv.ErrRange
		}
		t.last[r] = len(t.runes)
		t.runes = append(t.runes, r)
		return nil
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '\\' && i+1 < len(rs) {
			i++
			if err := add(rs[i]); err != nil {
				return t, err
			}
			continue
		}
		if i+2 < len(rs) && rs[i+1] == '-' {
			hi := rs[i+2]
			if hi < r {
				return t, strconv.ErrRange
			}
			for c := r; c <= hi; c++ {
				if err := add(c); err != nil {
					return t, err
				}
			}
			i += 2
			continue
		}
		if err := add(r); err != nil {
			return t, err
		}
	}
	return t, nil
}

// trString is String#tr (and #delete when to is "" and deleting).
func trString(s, from, to string, n node) (Value, error) {
	f, err := parseTrSet(from)
	if err != nil {
		return nil, argErr(n, "invalid range in string transliteration")
	}
	tset, err := parseTrSet(to)
	if err != nil || tset.negate {
		tset = trSet{runes: []rune(to)}
	}
	if len(tset.runes) > maxTrRunes {
		return nil, unsupported(n)
	}
	var b strings.Builder
	for _, r := range s {
		if !f.has(r) {
			b.WriteRune(r)
			continue
		}
		if len(tset.runes) == 0 {
			continue // deleted
		}
		if f.negate {
			b.WriteRune(tset.runes[len(tset.runes)-1])
			continue
		}
		idx := f.last[r] // a repeated character maps like its last occurrence
		if idx >= len(tset.runes) {
			idx = len(tset.runes) - 1
		}
		b.WriteRune(tset.runes[idx])
	}
	return b.String(), nil
}

// stringEnds is ActiveSupport's String#first(k) / String#last(k), by characters.
func stringEnds(s, name string, k int64, n node) (Value, error) {
	if k < 0 {
		return nil, argErr(n, "negative limit")
	}
	r := []rune(s)
	if k > int64(len(r)) {
		k = int64(len(r))
	}
	if name == "last" {
		return string(r[int64(len(r))-k:]), nil
	}
	return string(r[:k]), nil
}
