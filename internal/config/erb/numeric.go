package erb

import (
	"math"
	"strconv"
	"strings"
)

// Integers are int64 and Floats float64. A result that Ruby would turn
// into a big integer, a Rational or a Complex is outside the subset.

func isNumber(v Value) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

func toFloat(v Value) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

// floatToInt converts a float to an Integer by truncation.
func floatToInt(f float64, n node) (Value, error) {
	switch {
	case math.IsNaN(f):
		return nil, raiseAt(n, "FloatDomainError", "NaN")
	case math.IsInf(f, 1):
		return nil, raiseAt(n, "FloatDomainError", "Infinity")
	case math.IsInf(f, -1):
		return nil, raiseAt(n, "FloatDomainError", "-Infinity")
	}
	t := math.Trunc(f)
	if t < -9.223372036854775808e18 || t >= 9.223372036854775808e18 {
		return nil, unsupported(n) // a big integer in Ruby
	}
	return int64(t), nil
}

// numClass names a numeric receiver in messages.
func numClass(v Value) string {
	if _, ok := v.(float64); ok {
		return "Float"
	}
	return "Integer"
}

// arith applies a binary operator to two numbers, Integer when both are
// Integers (floored division and modulo, as in Ruby), Float otherwise.
func arith(a, b Value, op string, n node) (Value, error) {
	i, aInt := a.(int64)
	j, bInt := b.(int64)
	if aInt && bInt {
		return intArith(i, j, op, n)
	}
	x, y := toFloat(a), toFloat(b)
	switch op {
	case "+":
		return x + y, nil
	case "-":
		return x - y, nil
	case "*":
		return x * y, nil
	case "/":
		return x / y, nil
	case "%", "modulo":
		return floatMod(x, y), nil
	case "div":
		if y == 0 {
			return nil, raiseAt(n, "ZeroDivisionError", "divided by 0")
		}
		return floatToInt(math.Floor(x/y), n)
	case "**", "pow":
		r := math.Pow(x, y)
		if math.IsNaN(r) && !math.IsNaN(x) && !math.IsNaN(y) {
			return nil, unsupported(n) // a Complex in Ruby
		}
		return r, nil
	}
	return nil, unsupported(n)
}

// floatMod is Ruby's Float#%: the result has the sign of the divisor.
func floatMod(x, y float64) float64 {
	if math.IsInf(y, 0) && !math.IsInf(x, 0) && !math.IsNaN(x) {
		if x != 0 && (x < 0) != (y < 0) {
			return y
		}
		return x
	}
	m := math.Mod(x, y)
	if y*m < 0 {
		m += y
	}
	return m
}

func intArith(i, j int64, op string, n node) (Value, error) {
	switch op {
	case "+":
		if s := i + j; (s > i) == (j > 0) {
			return s, nil
		}
	case "-":
		if s := i - j; (s < i) == (j > 0) {
			return s, nil
		}
	case "*":
		if i == 0 || j == 0 {
			return int64(0), nil
		}
		if p := i * j; p/j == i && !(i == -1 && j == math.MinInt64) && !(j == -1 && i == math.MinInt64) {
			return p, nil
		}
	case "/", "%", "modulo", "div":
		if j == 0 {
			return nil, raiseAt(n, "ZeroDivisionError", "divided by 0")
		}
		if i == math.MinInt64 && j == -1 {
			return nil, unsupported(n)
		}
		q, m := i/j, i%j
		if m != 0 && (m < 0) != (j < 0) { // Ruby floors
			q--
			m += j
		}
		if op == "%" || op == "modulo" {
			return m, nil
		}
		return q, nil
	case "**", "pow":
		if j < 0 {
			return nil, unsupported(n) // a Rational in Ruby
		}
		r, b := int64(1), i
		for e := j; e > 0; e >>= 1 {
			if e&1 == 1 {
				v, err := intArith(r, b, "*", n)
				if err != nil {
					return nil, err
				}
				r = v.(int64)
			}
			if e > 1 {
				v, err := intArith(b, b, "*", n)
				if err != nil {
					return nil, err
				}
				b = v.(int64)
			}
		}
		return r, nil
	case "&":
		return i & j, nil
	case "|":
		return i | j, nil
	case "^":
		return i ^ j, nil
	case "<<", ">>":
		if op == ">>" {
			j = -j
		}
		switch {
		case j <= -64:
			if i < 0 {
				return int64(-1), nil
			}
			return int64(0), nil
		case j < 0:
			return i >> -j, nil
		case j < 63 && (i<<j)>>j == i:
			return i << j, nil
		}
	default:
		return nil, unsupported(n)
	}
	return nil, unsupported(n) // overflow: Ruby would switch to big integers
}

// numCompare orders two numbers; ok is false when either is NaN.
func numCompare(a, b Value) (int, bool) {
	i, aInt := a.(int64)
	j, bInt := b.(int64)
	if aInt && bInt {
		switch {
		case i < j:
			return -1, true
		case i > j:
			return 1, true
		}
		return 0, true
	}
	x, y := toFloat(a), toFloat(b)
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	case x == y:
		return 0, true
	}
	return 0, false
}

// numMethod implements Integer and Float.
func (ev *evaluator) numMethod(recv Value, name string, args []Value, blk *block, n node) (Value, error) {
	if blk != nil || name == "times" || name == "upto" || name == "downto" || name == "step" {
		return ev.numIterate(recv, name, args, blk, n)
	}
	i, isInt := recv.(int64)
	f := toFloat(recv)
	switch len(args) {
	case 0:
		switch name {
		case "to_s", "inspect":
			return toS(recv), nil
		case "to_i", "to_int", "truncate":
			if isInt {
				return i, nil
			}
			return floatToInt(f, n)
		case "to_f":
			return f, nil
		case "-@":
			if isInt {
				return intArith(0, i, "-", n)
			}
			return -f, nil
		case "+@":
			return recv, nil
		case "~":
			if isInt {
				return ^i, nil
			}
		case "abs", "magnitude":
			if isInt {
				if i < 0 {
					return intArith(0, i, "-", n)
				}
				return i, nil
			}
			return math.Abs(f), nil
		case "zero?":
			return f == 0, nil
		case "nonzero?":
			if f == 0 {
				return nil, nil
			}
			return recv, nil
		case "positive?":
			return f > 0, nil
		case "negative?":
			return f < 0, nil
		case "integer?":
			return isInt, nil
		case "finite?":
			return !math.IsInf(f, 0) && !math.IsNaN(f), nil
		case "infinite?":
			switch {
			case math.IsInf(f, 1):
				return int64(1), nil
			case math.IsInf(f, -1):
				return int64(-1), nil
			}
			return nil, nil
		case "nan?":
			if !isInt {
				return math.IsNaN(f), nil
			}
		case "even?", "odd?":
			if isInt {
				return (i%2 == 0) == (name == "even?"), nil
			}
		case "succ", "next":
			if isInt {
				return intArith(i, 1, "+", n)
			}
		case "pred":
			if isInt {
				return intArith(i, 1, "-", n)
			}
		case "chr":
			if isInt && i >= 0 && i < 256 {
				return string([]byte{byte(i)}), nil
			}
		case "ord":
			if isInt {
				return i, nil
			}
		case "round", "floor", "ceil":
			return roundNum(recv, name, 0, n)
		case "digits":
			if isInt && i >= 0 {
				out := &Array{}
				for {
					out.elems = append(out.elems, i%10)
					i /= 10
					if i == 0 {
						return out, nil
					}
				}
			}
		}
	case 1:
		arg := args[0]
		switch name {
		case "+", "-", "*", "/", "%", "modulo", "div", "**", "pow", "fdiv", "divmod":
			if !isNumber(arg) {
				return nil, typeErr(n, "%s can't be coerced into %s", coerceName(arg), numClass(recv))
			}
			switch name {
			case "fdiv":
				return f / toFloat(arg), nil
			case "divmod":
				q, err := arith(recv, arg, "div", n)
				if err != nil {
					return nil, err
				}
				m, err := arith(recv, arg, "%", n)
				if err != nil {
					return nil, err
				}
				return &Array{elems: []Value{q, m}}, nil
			}
			return arith(recv, arg, name, n)
		case "&", "|", "^", "<<", ">>":
			j, ok := arg.(int64)
			if isInt && ok {
				return intArith(i, j, name, n)
			}
		case "<", ">", "<=", ">=", "<=>":
			if !isNumber(arg) {
				if name == "<=>" {
					return nil, nil
				}
				return nil, argErr(n, "comparison of %s with %s failed", numClass(recv), inspectOrClass(arg))
			}
			c, ok := numCompare(recv, arg)
			switch name {
			case "<=>":
				if !ok {
					return nil, nil
				}
				return int64(c), nil
			case "<":
				return ok && c < 0, nil
			case ">":
				return ok && c > 0, nil
			case "<=":
				return ok && c <= 0, nil
			}
			return ok && c >= 0, nil
		case "round", "floor", "ceil", "truncate":
			if h, ok := arg.(*Hash); ok && name == "round" {
				return roundHalf(recv, 0, h, n)
			}
			d, ok := arg.(int64)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into Integer", coerceName(arg))
			}
			return roundNum(recv, name, d, n)
		case "to_s":
			base, ok := arg.(int64)
			if isInt && ok && base >= 2 && base <= 36 {
				return strconv.FormatInt(i, int(base)), nil
			}
		case "gcd", "lcm":
			j, ok := arg.(int64)
			if isInt && ok && i != math.MinInt64 && j != math.MinInt64 {
				a, b := abs64(i), abs64(j)
				for b != 0 {
					a, b = b, a%b
				}
				if name == "gcd" {
					return a, nil
				}
				if a == 0 {
					return int64(0), nil
				}
				return intArith(abs64(i)/a, abs64(j), "*", n)
			}
		}
	case 2:
		switch name {
		case "clamp", "between?":
			lo, hi := args[0], args[1]
			if !isNumber(lo) || !isNumber(hi) {
				return nil, argErr(n, "comparison of %s with %s failed", numClass(recv), inspectOrClass(firstNonNumber(args)))
			}
			if name == "between?" {
				a, _ := numCompare(recv, lo)
				b, _ := numCompare(recv, hi)
				return a >= 0 && b <= 0, nil
			}
			if c, _ := numCompare(lo, hi); c > 0 {
				return nil, argErr(n, "min argument must be less than or equal to max argument")
			}
			if c, _ := numCompare(recv, lo); c < 0 {
				return lo, nil
			}
			if c, _ := numCompare(recv, hi); c > 0 {
				return hi, nil
			}
			return recv, nil
		case "round":
			d, ok := args[0].(int64)
			h, isHash := args[1].(*Hash)
			if ok && isHash {
				return roundHalf(recv, d, h, n)
			}
		}
	}
	return nil, unsupported(n)
}

func abs64(i int64) int64 {
	if i < 0 {
		return -i
	}
	return i
}

func firstNonNumber(args []Value) Value {
	for _, a := range args {
		if !isNumber(a) {
			return a
		}
	}
	return nil
}

// roundHalf is round(digits, half: :up/:even/:down).
func roundHalf(recv Value, digits int64, opts *Hash, n node) (Value, error) {
	if len(opts.keys) != 1 || !equal(opts.keys[0], Symbol("half")) {
		return nil, unsupported(n)
	}
	switch mode := opts.vals[0]; {
	case mode == nil || equal(mode, Symbol("up")):
		return roundNum(recv, "round", digits, n)
	case equal(mode, Symbol("even")):
		return roundNum(recv, "round_even", digits, n)
	case equal(mode, Symbol("down")):
		return roundNum(recv, "round_down", digits, n)
	}
	return nil, argErr(n, "invalid rounding mode: %s", toS(opts.vals[0]))
}

// roundNum is round/floor/ceil/truncate with a number of digits, which is
// negative to round to tens, hundreds... Float results with digits > 0 stay
// Floats; everything else is an Integer, as in Ruby.
func roundNum(recv Value, name string, digits int64, n node) (Value, error) {
	if i, ok := recv.(int64); ok {
		if digits >= 0 {
			return i, nil
		}
		if digits < -18 {
			return int64(0), nil
		}
		p := int64(math.Pow10(int(-digits)))
		q, r := i/p, i%p
		if r < 0 {
			q, r = q-1, r+p
		}
		switch name {
		case "floor":
		case "ceil":
			if r != 0 {
				q++
			}
		case "truncate":
			if i < 0 && r != 0 {
				q++
			}
		case "round_even":
			if 2*r > p || 2*r == p && q%2 != 0 {
				q++
			}
		case "round_down":
			if 2*r > p || 2*r == p && i < 0 {
				q++
			}
		default: // half away from zero
			if 2*r > p || 2*r == p && i >= 0 {
				q++
			}
		}
		return intArith(q, p, "*", n)
	}
	f := recv.(float64)
	if digits > 0 {
		if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return f, nil
		}
		_, binexp := math.Frexp(f)
		// Past the float's precision rounding changes nothing.
		limit := 17 - int64(binexp/4)
		if binexp <= 0 {
			limit = 17 - int64(binexp/3-1)
		}
		if digits >= limit {
			return f, nil
		}
		s := math.Pow10(int(digits))
		var r float64
		switch name {
		case "floor":
			r = math.Floor(f*s) / s
			if r > f {
				r = (math.Floor(f*s) - 1) / s
			}
			return r, nil
		case "ceil":
			r = math.Ceil(f*s) / s
			if r < f {
				r = (math.Ceil(f*s) + 1) / s
			}
			return r, nil
		case "truncate":
			if f < 0 {
				return roundNum(f, "ceil", digits, n)
			}
			return roundNum(f, "floor", digits, n)
		case "round_even":
			return math.RoundToEven(f*s) / s, nil
		}
		return roundHalfUp(f, s) / s, nil
	}
	var r float64
	switch name {
	case "floor":
		r = math.Floor(f)
	case "ceil":
		r = math.Ceil(f)
	case "truncate":
		r = math.Trunc(f)
	case "round_even":
		r = math.RoundToEven(f)
	case "round_down":
		r = math.Round(f)
		if math.Abs(f-math.Trunc(f)) == 0.5 {
			r = math.Trunc(f)
		}
	default:
		r = math.Round(f)
	}
	v, err := floatToInt(r, n)
	if err != nil || digits == 0 {
		return v, err
	}
	return roundNum(v, name, digits, n)
}

// roundHalfUp rounds x*s half away from zero, correcting for the error
// of the multiplication the way Ruby does (2.675.round(2) is 2.68).
func roundHalfUp(x, s float64) float64 {
	f := math.Round(x * s)
	if x > 0 && (f+0.5)/s <= x {
		f++
	}
	if x < 0 && (f-0.5)/s >= x {
		f--
	}
	return f
}

// numIterate implements times, upto, downto and step, with a block or
// (like an Enumerator's to_a) without one.
func (ev *evaluator) numIterate(recv Value, name string, args []Value, blk *block, n node) (Value, error) {
	var out []Value
	yield := func(v Value) error {
		if err := ev.tick(n); err != nil {
			return err
		}
		if blk == nil {
			out = append(out, v)
			return nil
		}
		_, err := blk.fn([]Value{v})
		return err
	}
	done := func() (Value, error) {
		if blk == nil {
			return &Array{elems: out}, nil
		}
		return recv, nil
	}
	switch name {
	case "times":
		i, ok := recv.(int64)
		if !ok || len(args) != 0 {
			break
		}
		for k := int64(0); k < i; k++ {
			if err := yield(k); err != nil {
				return nil, err
			}
		}
		return done()
	case "upto", "downto":
		if len(args) != 1 {
			break
		}
		i, ok1 := recv.(int64)
		j, ok2 := args[0].(int64)
		if !ok1 || !ok2 {
			if !isNumber(args[0]) {
				return nil, argErr(n, "comparison of %s with %s failed", numClass(recv), inspectOrClass(args[0]))
			}
			break
		}
		if name == "upto" {
			for k := i; k <= j; k++ {
				if err := yield(k); err != nil {
					return nil, err
				}
				if k == math.MaxInt64 {
					break
				}
			}
		} else {
			for k := i; k >= j; k-- {
				if err := yield(k); err != nil {
					return nil, err
				}
				if k == math.MinInt64 {
					break
				}
			}
		}
		return done()
	case "step":
		limit, step, err := stepArgs(args, n)
		if err != nil {
			return nil, err
		}
		if err := numStep(recv, limit, step, false, yield, n); err != nil {
			return nil, err
		}
		return done()
	}
	return nil, unsupported(n)
}

// stepArgs reads step's (limit, step) or (by:, to:) arguments.
func stepArgs(args []Value, n node) (limit, step Value, err error) {
	step = int64(1)
	if len(args) > 0 {
		if h, ok := args[len(args)-1].(*Hash); ok {
			args = args[:len(args)-1]
			for i, k := range h.keys {
				switch {
				case equal(k, Symbol("by")):
					step = h.vals[i]
				case equal(k, Symbol("to")):
					limit = h.vals[i]
				default:
					return nil, nil, unsupported(n)
				}
			}
		}
	}
	switch len(args) {
	case 2:
		step = args[1]
		fallthrough
	case 1:
		limit = args[0]
	case 0:
	default:
		return nil, nil, unsupported(n)
	}
	if limit == nil || !isNumber(limit) || !isNumber(step) {
		return nil, nil, unsupported(n) // an endless step, or not numbers
	}
	if c, _ := numCompare(step, int64(0)); c == 0 {
		return nil, nil, argErr(n, "step can't be 0")
	}
	return limit, step, nil
}

// numStep yields from, from+step, ... up to limit (excluded when excl).
// With a Float anywhere the values are from + i*step, as Ruby computes
// them, so that the errors of repeated addition do not add up.
func numStep(from, limit, step Value, excl bool, yield func(Value) error, n node) error {
	i, ok1 := from.(int64)
	j, ok2 := limit.(int64)
	s, ok3 := step.(int64)
	if ok1 && ok2 && ok3 {
		for k := i; s > 0 && (k < j || !excl && k == j) || s < 0 && (k > j || !excl && k == j); {
			if err := yield(k); err != nil {
				return err
			}
			next, err := intArith(k, s, "+", n)
			if err != nil {
				return nil
			}
			k = next.(int64)
		}
		return nil
	}
	beg, end, unit := toFloat(from), toFloat(limit), toFloat(step)
	count := (end - beg) / unit
	tolerance := (math.Abs(beg) + math.Abs(end) + math.Abs(end-beg)) / math.Abs(unit) * 2.220446049250313e-16
	if tolerance > 0.5 {
		tolerance = 0.5
	}
	if count < 0 {
		return nil
	}
	steps := math.Floor(count + tolerance)
	if excl && beg+steps*unit == end {
		steps--
	}
	if steps < 0 {
		return nil
	}
	if steps > maxSteps {
		return limitErr(n, "template does too much work (more than %d steps)", maxSteps)
	}
	for k := 0.0; k <= steps; k++ {
		d := k*unit + beg
		if unit >= 0 && end < d || unit < 0 && d < end {
			d = end
		}
		if err := yield(d); err != nil {
			return err
		}
	}
	return nil
}

// parseFloatPrefix is String#to_f: the longest prefix that is a decimal
// number (digits with single underscores, a fraction, an exponent).
func parseFloatPrefix(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := floatPrefixLen(s, false)
	if end == 0 {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.ReplaceAll(s[:end], "_", ""), 64)
	return f
}

// floatPrefixLen is the length of the decimal number at the start of s;
// strict (for Float()) wants digits on both sides of a point.
func floatPrefixLen(s string, strict bool) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func(from int) int {
		k := from
		for k < len(s) && (s[k] >= '0' && s[k] <= '9' || s[k] == '_' && k > from && k+1 < len(s) && s[k+1] >= '0' && s[k+1] <= '9') {
			k++
		}
		return k
	}
	j := digits(i)
	if j == i && (strict || !(j < len(s) && s[j] == '.')) {
		return 0
	}
	end := j
	if j < len(s) && s[j] == '.' {
		if k := digits(j + 1); k > j+1 {
			end = k
		}
	}
	if end == i {
		return 0
	}
	if end < len(s) && (s[end] == 'e' || s[end] == 'E') {
		k := end + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if m := digits(k); m > k {
			end = m
		}
	}
	return end
}

// strictFloat is Kernel#Float on a string.
func strictFloat(s string) (float64, bool) {
	t := strings.Trim(s, " \t\n\v\f\r")
	if t == "" {
		return 0, false
	}
	if v, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 0, 64); err == nil && strings.ContainsAny(strings.ToLower(t), "xob") {
		return float64(v), true
	}
	if floatPrefixLen(t, true) != len(t) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	return f, err == nil || strings.Contains(err.Error(), "range")
}
