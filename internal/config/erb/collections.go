package erb

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// moreArrayMethods are Array methods beyond the core ones in builtins.go.
func (ev *evaluator) moreArrayMethods(a *Array, name string, args []Value, n node) (Value, bool, error) {
	elems := a.elems
	intAt := func(i int) (int64, bool) {
		if i >= len(args) {
			return 0, false
		}
		k, ok := args[i].(int64)
		return k, ok
	}
	index := func(k int64) (int64, bool) {
		if k < 0 {
			k += int64(len(elems))
		}
		return k, k >= 0 && k < int64(len(elems))
	}
	switch name {
	case "values_at":
		out := &Array{}
		for i := range args {
			k, ok := intAt(i)
			if !ok {
				return nil, true, unsupported(n)
			}
			if j, in := index(k); in {
				out.elems = append(out.elems, elems[j])
			} else {
				out.elems = append(out.elems, nil)
			}
		}
		return out, true, nil
	case "rotate":
		k := int64(1)
		if len(args) == 1 {
			var ok bool
			if k, ok = intAt(0); !ok {
				return nil, true, unsupported(n)
			}
		}
		if len(elems) == 0 {
			return &Array{}, true, nil
		}
		k = ((k % int64(len(elems))) + int64(len(elems))) % int64(len(elems))
		return &Array{elems: append(append([]Value(nil), elems[k:]...), elems[:k]...)}, true, nil
	case "pop", "shift":
		if len(args) != 0 {
			break
		}
		if len(elems) == 0 {
			return nil, true, nil
		}
		if name == "pop" {
			v := elems[len(elems)-1]
			a.elems = elems[:len(elems)-1]
			return v, true, nil
		}
		v := elems[0]
		a.elems = append([]Value(nil), elems[1:]...)
		return v, true, nil
	case "unshift", "prepend":
		if err := ev.charge(len(elems)+len(args), n); err != nil {
			return nil, true, err
		}
		a.elems = append(append([]Value(nil), args...), elems...)
		return a, true, nil
	case "insert":
		k, ok := intAt(0)
		if !ok || len(args) < 2 {
			break
		}
		if k < 0 {
			k += int64(len(elems)) + 1
		}
		if k < 0 || k > int64(len(elems)) {
			return nil, true, raiseAt(n, "IndexError", "index %d too small for array", k)
		}
		a.elems = append(append(append([]Value(nil), elems[:k]...), args[1:]...), elems[k:]...)
		return a, true, nil
	case "delete":
		if len(args) != 1 {
			break
		}
		var keep []Value
		var found Value
		hit := false
		for _, e := range elems {
			if equal(e, args[0]) {
				found, hit = e, true
				continue
			}
			keep = append(keep, e)
		}
		a.elems = keep
		if !hit {
			return nil, true, nil
		}
		return found, true, nil
	case "delete_at":
		k, ok := intAt(0)
		if !ok || len(args) != 1 {
			break
		}
		j, in := index(k)
		if !in {
			return nil, true, nil
		}
		v := elems[j]
		a.elems = append(append([]Value(nil), elems[:j]...), elems[j+1:]...)
		return v, true, nil
	case "clear":
		a.elems = nil
		return a, true, nil
	case "*":
		if len(args) != 1 {
			break
		}
		switch x := args[0].(type) {
		case string:
			v, err := ev.join(a, x, n, 0)
			return v, true, err
		case int64:
			if x < 0 {
				return nil, true, argErr(n, "negative argument")
			}
			if err := ev.charge(int(min(x, maxSteps))*len(elems), n); err != nil {
				return nil, true, err
			}
			out := make([]Value, 0, int(x)*len(elems))
			for i := int64(0); i < x; i++ {
				out = append(out, elems...)
			}
			return &Array{elems: out}, true, nil
		}
		return nil, true, typeErr(n, "no implicit conversion of %s into Integer", coerceName(args[0]))
	case "&", "|", "intersection", "union", "difference", "intersect?":
		var out []Value
		seen := func(v Value) (bool, error) { return ev.contains(out, v, n) }
		add := func(list []Value, keep func(Value) (bool, error)) error {
			for _, e := range list {
				dup, err := seen(e)
				if err != nil {
					return err
				}
				ok, err := keep(e)
				if err != nil {
					return err
				}
				if !dup && ok {
					out = append(out, e)
				}
			}
			return nil
		}
		var others [][]Value
		for _, o := range args {
			arr, ok := o.(*Array)
			if !ok {
				return nil, true, typeErr(n, "no implicit conversion of %s into Array", coerceName(o))
			}
			others = append(others, arr.elems)
		}
		inAll := func(v Value) (bool, error) {
			for _, o := range others {
				in, err := ev.contains(o, v, n)
				if err != nil || !in {
					return false, err
				}
			}
			return true, nil
		}
		always := func(Value) (bool, error) { return true, nil }
		var err error
		switch name {
		case "&", "intersection", "intersect?":
			err = add(elems, inAll)
		case "|", "union":
			err = add(elems, always)
			for _, o := range others {
				if err == nil {
					err = add(o, always)
				}
			}
		case "difference":
			v, err := ev.arrayMethod(a, "-", []Value{&Array{elems: flatOnce(others)}}, nil, n)
			return v, true, err
		}
		if name == "intersect?" {
			return len(out) > 0, true, err
		}
		return &Array{elems: out}, true, err
	case "assoc":
		if len(args) != 1 {
			break
		}
		for _, e := range elems {
			if p, ok := e.(*Array); ok && len(p.elems) > 0 && equal(p.elems[0], args[0]) {
				return p, true, nil
			}
		}
		return nil, true, nil
	case "min", "max":
		k, ok := intAt(0)
		if !ok || len(args) != 1 {
			break
		}
		sorted, err := ev.arrayMethod(a, "sort", nil, nil, n)
		if err != nil {
			return nil, true, err
		}
		s := sorted.(*Array).elems
		k = min(k, int64(len(s)))
		if name == "min" {
			return &Array{elems: append([]Value(nil), s[:k]...)}, true, nil
		}
		out := make([]Value, 0, k)
		for i := len(s) - 1; i >= len(s)-int(k); i-- {
			out = append(out, s[i])
		}
		return &Array{elems: out}, true, nil
	case "sum":
		if len(args) == 1 {
			v, err := ev.sum(elems, args[0], n)
			return v, true, err
		}
	case "all?", "none?", "one?":
		if len(args) == 0 {
			c := 0
			for _, e := range elems {
				if truthy(e) {
					c++
				}
			}
			switch name {
			case "all?":
				return c == len(elems), true, nil
			case "none?":
				return c == 0, true, nil
			}
			return c == 1, true, nil
		}
	case "flatten":
		depth, ok := intAt(0)
		if !ok || len(args) != 1 {
			break
		}
		out := elems
		for d := int64(0); d < depth; d++ {
			var next []Value
			flat := true
			for _, e := range out {
				if inner, isArr := e.(*Array); isArr {
					next = append(next, inner.elems...)
					flat = false
				} else {
					next = append(next, e)
				}
			}
			if err := ev.charge(len(next), n); err != nil {
				return nil, true, err
			}
			out = next
			if flat {
				break
			}
		}
		return &Array{elems: append([]Value(nil), out...)}, true, nil
	}
	return nil, false, nil
}

func flatOnce(lists [][]Value) []Value {
	var out []Value
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// pairsOf lists a hash's entries as [key, value] arrays.
func pairsOf(h *Hash) []Value {
	out := make([]Value, len(h.keys))
	for i := range h.keys {
		out[i] = &Array{elems: []Value{h.keys[i], h.vals[i]}}
	}
	return out
}

// hashEnumerable are the Enumerable methods a Hash runs on its
// [key, value] pairs.
var hashEnumerable = map[string]bool{
	"first": true, "take": true, "drop": true, "min_by": true, "max_by": true, "sort_by": true,
	"group_by": true, "partition": true, "each_slice": true, "each_with_index": true,
	"each_with_object": true, "reduce": true, "inject": true, "sum": true, "count": true,
	"find": true, "detect": true, "all?": true, "none?": true, "one?": true, "flat_map": true,
	"zip": true, "tally": true, "sort": true, "uniq": true, "each_cons": true, "find_index": true,
	"min": true, "max": true, "minmax": true, "take_while": true, "drop_while": true,
	"chunk_while": true, "slice_when": true, "find_all": true, "to_set": false,
}

// moreHashMethods are Hash methods beyond the core ones in builtins.go,
// with ActiveSupport's that Kamal has loaded (deep_merge, symbolize_keys ...).
func (ev *evaluator) moreHashMethods(h *Hash, name string, args []Value, blk *block, n node) (Value, bool, error) {
	copyOf := func() *Hash {
		out := newHash()
		for i := range h.keys {
			out.set(h.keys[i], h.vals[i])
		}
		return out
	}
	switch name {
	case "transform_values", "transform_keys":
		if blk == nil && !(name == "transform_keys" && len(args) == 1) {
			break
		}
		out := newHash()
		for i := range h.keys {
			if err := ev.tick(n); err != nil {
				return nil, true, err
			}
			k, v := h.keys[i], h.vals[i]
			var err error
			switch {
			case name == "transform_values":
				v, err = blk.fn([]Value{v})
			case len(args) == 1:
				m, ok := args[0].(*Hash)
				if !ok {
					return nil, true, unsupported(n)
				}
				if mapped, found := m.get(k); found {
					k = mapped
				} else if blk != nil {
					k, err = blk.fn([]Value{k})
				}
			default:
				k, err = blk.fn([]Value{k})
			}
			if err != nil {
				return nil, true, err
			}
			if !out.set(k, v) {
				return nil, true, unsupported(n)
			}
		}
		return out, true, nil
	case "key":
		if len(args) == 1 {
			for i, v := range h.vals {
				if equal(v, args[0]) {
					return h.keys[i], true, nil
				}
			}
			return nil, true, nil
		}
	case "value?", "has_value?":
		if len(args) == 1 {
			in, err := ev.contains(h.vals, args[0], n)
			return in, true, err
		}
	case "invert":
		out := newHash()
		for i := range h.keys {
			if !out.set(h.vals[i], h.keys[i]) {
				return nil, true, unsupported(n)
			}
		}
		return out, true, nil
	case "slice", "except":
		out := newHash()
		if name == "slice" {
			for _, k := range args {
				if v, ok := h.get(k); ok {
					out.set(k, v)
				}
			}
			return out, true, nil
		}
		for i, k := range h.keys {
			drop, err := ev.contains(args, k, n)
			if err != nil {
				return nil, true, err
			}
			if !drop {
				out.set(k, h.vals[i])
			}
		}
		return out, true, nil
	case "values_at", "fetch_values":
		out := &Array{}
		for _, k := range args {
			v, ok := h.get(k)
			if !ok && name == "fetch_values" {
				if blk != nil {
					r, err := blk.fn([]Value{k})
					if err != nil {
						return nil, true, err
					}
					v = r
				} else {
					return nil, true, raiseAt(n, "KeyError", "key not found: %s", inspect(k))
				}
			}
			out.elems = append(out.elems, v)
		}
		return out, true, nil
	case "compact":
		out := newHash()
		for i, k := range h.keys {
			if h.vals[i] != nil {
				out.set(k, h.vals[i])
			}
		}
		return out, true, nil
	case "delete":
		if len(args) != 1 {
			break
		}
		v, ok := h.get(args[0])
		if !ok {
			return nil, true, nil
		}
		rest := newHash()
		for i, k := range h.keys {
			if !equal(k, args[0]) || !sameKey(k, args[0]) {
				rest.set(k, h.vals[i])
			}
		}
		*h = *rest
		return v, true, nil
	case "store":
		if len(args) == 2 {
			if !h.set(args[0], args[1]) {
				return nil, true, unsupported(n)
			}
			return args[1], true, nil
		}
	case "merge", "merge!", "update", "reverse_merge", "deep_merge":
		target := h
		if name == "merge" || name == "reverse_merge" || name == "deep_merge" {
			target = copyOf()
		}
		for _, a := range args {
			o, ok := a.(*Hash)
			if !ok {
				return nil, true, typeErr(n, "no implicit conversion of %s into Hash", coerceName(a))
			}
			for i, k := range o.keys {
				v := o.vals[i]
				old, exists := target.get(k)
				switch {
				case exists && name == "reverse_merge":
					continue
				case exists && name == "deep_merge":
					oh, ok1 := old.(*Hash)
					nh, ok2 := v.(*Hash)
					if ok1 && ok2 {
						merged, _, err := ev.moreHashMethods(oh, "deep_merge", []Value{nh}, blk, n)
						if err != nil {
							return nil, true, err
						}
						v = merged
					} else if blk != nil {
						r, err := blk.fn([]Value{k, old, v})
						if err != nil {
							return nil, true, err
						}
						v = r
					}
				case exists && blk != nil:
					r, err := blk.fn([]Value{k, old, v})
					if err != nil {
						return nil, true, err
					}
					v = r
				}
				target.set(k, v)
			}
		}
		return target, true, nil
	case "symbolize_keys", "stringify_keys", "deep_symbolize_keys", "deep_stringify_keys":
		if len(args) != 0 {
			break
		}
		return ev.rekey(h, name, 0, n)
	case "sort":
		if len(args) != 0 {
			break
		}
		v, err := ev.arrayMethod(&Array{elems: pairsOf(h)}, "sort", nil, blk, n)
		return v, true, err
	case "find_all":
		v, err := ev.arrayMethod(&Array{elems: pairsOf(h)}, "select", args, blk, n)
		return v, true, err
	case "to_h":
		if blk != nil {
			v, err := ev.arrayMethod(&Array{elems: pairsOf(h)}, "to_h", args, blk, n)
			return v, true, err
		}
	}
	if hashEnumerable[name] {
		v, err := ev.arrayMethod(&Array{elems: pairsOf(h)}, name, args, blk, n)
		return v, true, err
	}
	return nil, false, nil
}

// sameKey reports whether two hash keys are the same entry (eql?).
func sameKey(a, b Value) bool {
	ka, ok1 := keyOf(a)
	kb, ok2 := keyOf(b)
	return ok1 && ok2 && ka == kb
}

// rekey is ActiveSupport's symbolize_keys and kin.
func (ev *evaluator) rekey(h *Hash, name string, depth int, n node) (Value, bool, error) {
	if depth > maxNesting {
		return nil, true, unsupported(n)
	}
	out := newHash()
	deep := strings.HasPrefix(name, "deep_")
	for i, k := range h.keys {
		switch x := k.(type) {
		case string:
			if strings.HasSuffix(name, "symbolize_keys") {
				k = Symbol(x)
			}
		case Symbol:
			if strings.HasSuffix(name, "stringify_keys") {
				k = string(x)
			}
		}
		v := h.vals[i]
		if inner, ok := v.(*Hash); ok && deep {
			r, _, err := ev.rekey(inner, name, depth+1, n)
			if err != nil {
				return nil, true, err
			}
			v = r
		}
		out.set(k, v)
	}
	return out, true, nil
}

// moreStringMethods are String methods beyond the core ones in strings.go.
func (ev *evaluator) moreStringMethods(s string, name string, args []Value, blk *block, n node) (Value, bool, error) {
	if blk == nil {
		if v, ok, err := inflectionMethod(s, name, args, n); ok {
			return v, true, err
		}
	}
	str := func(i int) (string, error) {
		v, ok := args[i].(string)
		if !ok {
			return "", typeErr(n, "no implicit conversion of %s into String", coerceName(args[i]))
		}
		return v, nil
	}
	switch name {
	case "center", "ljust", "rjust":
		if len(args) < 1 || len(args) > 2 {
			break
		}
		width, ok := args[0].(int64)
		if !ok {
			return nil, true, typeErr(n, "no implicit conversion of %s into Integer", coerceName(args[0]))
		}
		pad := " "
		if len(args) == 2 {
			p, err := str(1)
			if err != nil {
				return nil, true, err
			}
			if p == "" {
				return nil, true, argErr(n, "zero width padding")
			}
			pad = p
		}
		if width > maxOutput {
			return nil, true, limitErr(n, "string is larger than %d bytes", maxOutput)
		}
		total := int(width) - utf8.RuneCountInString(s)
		if total <= 0 {
			return s, true, nil
		}
		fill := func(k int) string {
			r := []rune(strings.Repeat(pad, k/utf8.RuneCountInString(pad)+1))
			return string(r[:k])
		}
		switch name {
		case "ljust":
			return s + fill(total), true, nil
		case "rjust":
			return fill(total) + s, true, nil
		}
		left := total / 2
		return fill(left) + s + fill(total-left), true, nil
	case "index", "rindex", "byteindex":
		if len(args) < 1 || len(args) > 2 || blk != nil {
			break
		}
		runes := []rune(s)
		start := int64(0)
		if name == "rindex" {
			start = int64(len(runes))
		}
		if len(args) == 2 {
			k, ok := args[1].(int64)
			if !ok {
				return nil, true, typeErr(n, "no implicit conversion of %s into Integer", coerceName(args[1]))
			}
			if k < 0 {
				k += int64(len(runes))
				if k < 0 {
					return nil, true, nil
				}
			}
			if k > int64(len(runes)) {
				if name == "index" {
					return nil, true, nil
				}
				k = int64(len(runes))
			}
			start = k
		}
		// Work in byte offsets, answer in characters.
		byteAt := len(string(runes[:start]))
		var found = -1
		switch p := args[0].(type) {
		case string:
			if name == "rindex" {
				limit := min(byteAt+len(p), len(s))
				found = strings.LastIndex(s[:limit], p)
			} else if i := strings.Index(s[byteAt:], p); i >= 0 {
				found = byteAt + i
			}
		case *Regexp:
			if name == "rindex" {
				for _, m := range p.re.FindAllStringIndex(s, -1) {
					if m[0] <= byteAt {
						found = m[0]
					}
				}
			} else if loc := p.re.FindStringIndex(s[byteAt:]); loc != nil {
				found = byteAt + loc[0]
			}
		default:
			return nil, true, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
		}
		if found < 0 {
			return nil, true, nil
		}
		return int64(utf8.RuneCountInString(s[:found])), true, nil
	case "scan":
		if len(args) != 1 {
			break
		}
		var re *Regexp
		switch p := args[0].(type) {
		case *Regexp:
			re = p
		case string:
			var err error
			if re, err = compileRegexp(regexp.QuoteMeta(p), "", n); err != nil {
				return nil, true, err
			}
		default:
			return nil, true, typeErr(n, "wrong argument type %s (expected Regexp)", className(args[0]))
		}
		out := &Array{}
		for _, loc := range re.re.FindAllStringSubmatchIndex(s, -1) {
			if err := ev.tick(n); err != nil {
				return nil, true, err
			}
			m := &match{s: s, loc: loc, names: re.re.SubexpNames()}
			ev.lastMatch = m
			var item Value = m.group(0)
			if m.groups() > 0 {
				g := &Array{}
				for i := 1; i <= m.groups(); i++ {
					g.elems = append(g.elems, m.group(i))
				}
				item = g
			}
			if blk != nil {
				if _, err := blk.fn([]Value{item}); err != nil {
					return nil, true, err
				}
				continue
			}
			out.elems = append(out.elems, item)
		}
		if blk != nil {
			return s, true, nil
		}
		return out, true, nil
	case "squeeze":
		var sets []trSet
		for i := range args {
			spec, err := str(i)
			if err != nil {
				return nil, true, err
			}
			set, perr := parseTrSet(spec)
			if perr != nil {
				return nil, true, argErr(n, "invalid range in string transliteration")
			}
			sets = append(sets, set)
		}
		var b strings.Builder
		prev := rune(-1)
		for _, r := range s {
			inSets := true
			for _, set := range sets {
				if !set.has(r) {
					inSets = false
				}
			}
			if r == prev && inSets {
				continue
			}
			b.WriteRune(r)
			prev = r
		}
		return b.String(), true, nil
	case "each_char", "chars":
		if blk == nil && len(args) == 0 {
			return toArray(strings.Split(s, "")), true, nil
		}
	case "bytes":
		out := &Array{}
		for i := 0; i < len(s); i++ {
			out.elems = append(out.elems, int64(s[i]))
		}
		return out, true, nil
	case "ord":
		if s == "" {
			return nil, true, argErr(n, "empty string")
		}
		r, _ := utf8.DecodeRuneInString(s)
		return int64(r), true, nil
	case "hex", "oct":
		t := strings.TrimSpace(s)
		neg := strings.HasPrefix(t, "-")
		t = strings.TrimLeft(t, "+-")
		base := 16
		if name == "oct" {
			base = 8
			switch {
			case strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X"):
				base, t = 16, t[2:]
			case strings.HasPrefix(t, "0b") || strings.HasPrefix(t, "0B"):
				base, t = 2, t[2:]
			case strings.HasPrefix(t, "0o") || strings.HasPrefix(t, "0O"):
				t = t[2:]
			}
		} else {
			t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
		}
		end := 0
		for end < len(t) && (digitValue(t[end]) < base || t[end] == '_' && end > 0) {
			end++
		}
		v, err := strconv.ParseInt(strings.ReplaceAll(t[:end], "_", ""), base, 64)
		if err != nil {
			v = 0
		}
		if neg {
			v = -v
		}
		return v, true, nil
	case "partition", "rpartition":
		if len(args) != 1 {
			break
		}
		var i, size int
		switch p := args[0].(type) {
		case string:
			if name == "partition" {
				i = strings.Index(s, p)
			} else {
				i = strings.LastIndex(s, p)
			}
			size = len(p)
		case *Regexp:
			locs := p.re.FindAllStringIndex(s, -1)
			i = -1
			if len(locs) > 0 {
				loc := locs[0]
				if name == "rpartition" {
					loc = locs[len(locs)-1]
				}
				i, size = loc[0], loc[1]-loc[0]
			}
		default:
			return nil, true, typeErr(n, "wrong argument type %s (expected Regexp)", className(args[0]))
		}
		if i < 0 {
			if name == "partition" {
				return toArray([]string{s, "", ""}), true, nil
			}
			return toArray([]string{"", "", s}), true, nil
		}
		return toArray([]string{s[:i], s[i : i+size], s[i+size:]}), true, nil
	case "valid_encoding?":
		return utf8.ValidString(s), true, nil
	case "ascii_only?":
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return false, true, nil
			}
		}
		return true, true, nil
	case "truncate":
		return truncate(s, args, n)
	case "between?":
		if len(args) == 2 {
			lo, err1 := str(0)
			hi, err2 := str(1)
			if err1 != nil || err2 != nil {
				return nil, true, argErr(n, "comparison of String with %s failed", inspectOrClass(firstNonString(args)))
			}
			return s >= lo && s <= hi, true, nil
		}
	}
	return nil, false, nil
}

// truncate is ActiveSupport's String#truncate(length, omission: "...",
// separator: nil).
func truncate(s string, args []Value, n node) (Value, bool, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, false, nil
	}
	limit, ok := args[0].(int64)
	if !ok {
		return nil, true, typeErr(n, "no implicit conversion of %s into Integer", coerceName(args[0]))
	}
	omission, separator := "...", Value(nil)
	if len(args) == 2 {
		opts, isHash := args[1].(*Hash)
		if !isHash {
			return nil, true, unsupported(n)
		}
		if v, ok := opts.get(Symbol("omission")); ok {
			omission = toS(v)
		}
		separator, _ = opts.get(Symbol("separator"))
	}
	runes := []rune(s)
	if int64(len(runes)) <= limit {
		return s, true, nil
	}
	stop := int(limit) - utf8.RuneCountInString(omission)
	if stop < 0 {
		stop = 0
	}
	cut := string(runes[:stop])
	if sep, ok := separator.(string); ok && sep != "" {
		if i := strings.LastIndex(string(runes[:stop+utf8.RuneCountInString(sep)]), sep); i >= 0 && i <= len(cut) {
			cut = cut[:i]
		}
	}
	return cut + omission, true, nil
}

// digitValue is the value of a digit in bases up to 36 (99 for others).
func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
