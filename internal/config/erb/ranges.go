package erb

import (
	"errors"
	"math"
	"strings"
)

// Range is a Ruby Range; first or last is nil when the range is open
// (1.., ..5).
type Range struct {
	first, last Value
	excl        bool
}

// rangeable reports whether two values can make a range, as Ruby checks
// with <=> when the range is built.
func rangeable(a, b Value) bool {
	if a == nil || b == nil {
		return true
	}
	_, ok := compare(a, b)
	return ok
}

// cover is Range#cover? (and include? for numbers and strings).
func (r *Range) cover(v Value) bool {
	if r.first != nil {
		c, ok := compare(r.first, v)
		if !ok || c > 0 {
			return false
		}
	}
	if r.last != nil {
		c, ok := compare(v, r.last)
		if !ok || c > 0 || r.excl && c == 0 {
			return false
		}
	}
	return true
}

func (r *Range) inspectWith(f func(Value) string) string {
	s := ""
	if r.first != nil {
		s = f(r.first)
	}
	if r.excl {
		s += "..."
	} else {
		s += ".."
	}
	if r.last != nil {
		s += f(r.last)
	}
	return s
}

// bounds gives the start and length that a range selects from a
// sequence of n elements (String#[], Array#[]); ok is false when it
// starts outside the sequence.
func (r *Range) bounds(n int64) (start, length int64, ok bool) {
	b, e := int64(0), n-1
	excl := r.excl
	if r.first != nil {
		i, isInt := r.first.(int64)
		if !isInt {
			return 0, 0, false
		}
		b = i
	}
	if r.last != nil {
		i, isInt := r.last.(int64)
		if !isInt {
			return 0, 0, false
		}
		e = i
	} else {
		excl = false
	}
	if b < 0 {
		b += n
		if b < 0 {
			return 0, 0, false
		}
	}
	if b > n {
		return 0, 0, false
	}
	if e < 0 {
		e += n
	}
	if !excl {
		e++
	}
	length = e - b
	if length < 0 {
		length = 0
	}
	if b+length > n {
		length = n - b
	}
	return b, length, true
}

// rangeElems lists a range's elements: Integers, or Strings by succ.
func (ev *evaluator) rangeElems(r *Range, n node) ([]Value, error) {
	var out []Value
	err := ev.rangeEach(r, n, func(v Value) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// rangeEach yields a range's elements in order.
func (ev *evaluator) rangeEach(r *Range, n node, yield func(Value) error) error {
	switch first := r.first.(type) {
	case int64:
		last, bounded := r.last.(int64)
		if r.last != nil && !bounded {
			f, isFloat := r.last.(float64)
			if !isFloat {
				return unsupported(n)
			}
			last, bounded = int64(math.Floor(f)), true
			if r.excl && float64(last) == f {
				last--
			}
		} else if bounded && r.excl {
			if last == math.MinInt64 {
				return nil
			}
			last--
		}
		for k := first; !bounded || k <= last; k++ {
			if err := ev.tick(n); err != nil {
				return err
			}
			if err := yield(k); err != nil {
				return err
			}
			if k == math.MaxInt64 {
				break
			}
		}
		return nil
	case string:
		last, ok := r.last.(string)
		if !ok {
			return unsupported(n)
		}
		for s := first; len(s) <= len(last); s = strSucc(s) {
			if err := ev.tick(n); err != nil {
				return err
			}
			if s == last && r.excl {
				return nil
			}
			if err := yield(s); err != nil {
				return err
			}
			if s == last {
				return nil
			}
		}
		return nil
	case nil:
		return typeErr(n, "can't iterate from NilClass")
	}
	return typeErr(n, "can't iterate from %s", className(r.first))
}

// rangeMethod implements Range; what it does not know itself it asks of
// the range's elements as an Array.
func (ev *evaluator) rangeMethod(r *Range, name string, args []Value, blk *block, n node) (Value, error) {
	switch name {
	case "to_s":
		return r.inspectWith(toS), nil
	case "inspect":
		return r.inspectWith(inspect), nil
	case "begin", "first":
		if len(args) == 0 {
			if name == "first" && r.first == nil {
				return nil, raiseAt(n, "RangeError", "cannot get the first element of beginless range")
			}
			return r.first, nil
		}
		if k, ok := args[0].(int64); ok && len(args) == 1 && name == "first" {
			if k < 0 {
				return nil, argErr(n, "negative array size (or size too big)")
			}
			out := &Array{}
			errEnough := errors.New("enough")
			err := ev.rangeEach(r, n, func(v Value) error {
				if int64(len(out.elems)) >= k {
					return errEnough
				}
				out.elems = append(out.elems, v)
				return nil
			})
			if err != nil && err != errEnough {
				return nil, err
			}
			return out, nil
		}
	case "end":
		return r.last, nil
	case "take":
		if len(args) == 1 {
			return ev.rangeMethod(r, "first", args, blk, n)
		}
	case "last":
		if len(args) == 0 {
			if r.last == nil {
				return nil, raiseAt(n, "RangeError", "cannot get the last element of endless range")
			}
			return r.last, nil
		}
	case "exclude_end?":
		return r.excl, nil
	case "cover?", "include?", "member?", "===":
		if len(args) == 1 {
			if inner, ok := args[0].(*Range); ok && name == "cover?" {
				return r.cover(inner.first) && (inner.last == nil && r.last == nil || inner.last != nil && (r.cover(inner.last) || inner.excl && equal(inner.last, r.last) && r.excl)), nil
			}
			return r.cover(args[0]), nil
		}
	case "size", "count":
		if len(args) == 0 && blk == nil {
			first, ok := r.first.(int64)
			if !ok {
				if isNumber(r.first) && name == "size" {
					return nil, typeErr(n, "can't iterate from %s", className(r.first))
				}
				break
			}
			if r.last == nil {
				return math.Inf(1), nil
			}
			last := toFloat(r.last)
			size := math.Floor(last) - float64(first) + 1
			if r.excl && math.Floor(last) == last {
				size--
			}
			if size < 0 {
				size = 0
			}
			return int64(size), nil
		}
	case "sum":
		first, ok1 := r.first.(int64)
		last, ok2 := r.last.(int64)
		if ok1 && ok2 && len(args) == 0 && blk == nil {
			if r.excl {
				last--
			}
			if last < first {
				return int64(0), nil
			}
			// (first + last) * count / 2, with the even factor halved first.
			a, b := first+last, last-first+1
			if a%2 == 0 {
				a /= 2
			} else {
				b /= 2
			}
			return intArith(a, b, "*", n)
		}
	case "step", "%":
		if len(args) == 1 && isNumber(args[0]) && isNumber(r.first) && (r.last == nil || isNumber(r.last)) {
			if r.last == nil {
				return nil, unsupported(n)
			}
			var out []Value
			yield := func(v Value) error {
				if err := ev.tick(n); err != nil {
					return err
				}
				if blk != nil {
					_, err := blk.fn([]Value{v})
					return err
				}
				out = append(out, v)
				return nil
			}
			if c, _ := numCompare(args[0], int64(0)); c <= 0 {
				return nil, argErr(n, "step can't be negative")
			}
			if err := numStep(r.first, r.last, args[0], r.excl, yield, n); err != nil {
				return nil, err
			}
			if blk != nil {
				return r, nil
			}
			return &Array{elems: out}, nil
		}
	case "each", "reverse_each":
		if blk != nil && len(args) == 0 {
			if name == "each" {
				if err := ev.rangeEach(r, n, func(v Value) error { _, err := blk.fn([]Value{v}); return err }); err != nil {
					return nil, err
				}
				return r, nil
			}
		}
	case "min", "max", "minmax":
		if len(args) == 0 && blk == nil && isNumber(r.first) && isNumber(r.last) {
			c, _ := numCompare(r.first, r.last)
			empty := c > 0 || c == 0 && r.excl
			if name == "min" {
				if empty {
					return nil, nil
				}
				return r.first, nil
			}
			if name == "max" {
				if empty {
					return nil, nil
				}
				if r.excl {
					if i, ok := r.last.(int64); ok {
						return i - 1, nil
					}
					return nil, typeErr(n, "cannot exclude non Integer end value")
				}
				return r.last, nil
			}
		}
	case "==", "eql?":
		if len(args) == 1 {
			o, ok := args[0].(*Range)
			return ok && equal(r.first, o.first) && equal(r.last, o.last) && r.excl == o.excl, nil
		}
	}
	if r.last == nil && name != "first" && name != "take" && name != "find" && name != "detect" && name != "each_slice" && name != "lazy" {
		return nil, raiseAt(n, "RangeError", "cannot convert endless range to an array")
	}
	if r.last == nil {
		return nil, unsupported(n)
	}
	elems, err := ev.rangeElems(r, n)
	if err != nil {
		return nil, err
	}
	switch name {
	case "to_a", "entries", "to_ary":
		return &Array{elems: elems}, nil
	}
	return ev.arrayMethod(&Array{elems: elems}, name, args, blk, n)
}

// strSucc is String#succ: the rightmost letter or digit is incremented,
// carrying to the left ("az" -> "ba", "zz" -> "aaa", "a9" -> "b0").
func strSucc(s string) string {
	if s == "" {
		return ""
	}
	b := []byte(s)
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	hasAlnum := strings.IndexFunc(s, func(r rune) bool { return r < 0x80 && isAlnum(byte(r)) }) >= 0
	if !hasAlnum {
		for i := len(b) - 1; i >= 0; i-- {
			b[i]++
			if b[i] != 0 {
				return string(b)
			}
		}
		return "\x01" + string(b)
	}
	leftmost := -1
	for i := len(b) - 1; i >= 0; i-- {
		c := b[i]
		if !isAlnum(c) {
			continue
		}
		leftmost = i
		switch c {
		case 'z':
			b[i] = 'a'
		case 'Z':
			b[i] = 'A'
		case '9':
			b[i] = '0'
		default:
			b[i]++
			return string(b)
		}
	}
	// Carried past the leftmost alphanumeric: insert a new first digit.
	var ins byte
	switch b[leftmost] {
	case 'a':
		ins = 'a'
	case 'A':
		ins = 'A'
	default:
		ins = '1'
	}
	return string(b[:leftmost]) + string(ins) + string(b[leftmost:])
}
