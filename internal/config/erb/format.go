package erb

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sprintf is Kernel#format (sprintf, String#%): %[flags][width][.precision]
// with the conversions d i u f e E g G s p x X o b B c %, positional
// arguments (%1$s), named ones (%<name>s, %{name}) and * for width and
// precision.
func (ev *evaluator) sprintf(f string, args []Value, n node) (Value, error) {
	var b strings.Builder
	next := 0 // next sequential argument
	var named *Hash
	if len(args) == 1 {
		named, _ = args[0].(*Hash)
	}
	take := func() (Value, error) {
		if next >= len(args) {
			return nil, argErr(n, "too few arguments")
		}
		next++
		return args[next-1], nil
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			return nil, argErr(n, "incomplete format specifier; use %%%% (double %%) instead")
		}
		spec := fmtSpec{prec: -1}
		var arg Value
		haveArg := false
	flags:
		for ; i < len(f); i++ {
			switch f[i] {
			case '-':
				spec.minus = true
			case '+':
				spec.plus = true
			case ' ':
				spec.space = true
			case '0':
				spec.zero = true
			case '#':
				spec.sharp = true
			case '<', '{':
				closer := byte('>')
				if f[i] == '{' {
					closer = '}'
				}
				end := strings.IndexByte(f[i:], closer)
				if end < 0 {
					return nil, argErr(n, "malformed name - unmatched parenthesis")
				}
				name := f[i+1 : i+end]
				if named == nil {
					return nil, argErr(n, "one hash required")
				}
				v, ok := named.get(Symbol(name))
				if !ok {
					return nil, raiseAt(n, "KeyError", "key<%s> not found", name)
				}
				arg, haveArg = v, true
				i += end
				if closer == '}' {
					// %{name} is the value's to_s, with width but no conversion.
					spec.pad(&b, toS(v), false)
					goto done
				}
			default:
				break flags
			}
		}
		// Width, or a positional argument "N$".
		if i < len(f) && f[i] == '*' {
			i++
			w, err := take()
			if err != nil {
				return nil, err
			}
			wi, ok := w.(int64)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into Integer", coerceName(w))
			}
			if wi < 0 {
				spec.minus, wi = true, -wi
			}
			spec.width = int(wi)
		} else {
			start := i
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
			}
			if i > start {
				num, _ := strconv.Atoi(f[start:i])
				if i < len(f) && f[i] == '$' {
					if num < 1 || num > len(args) {
						return nil, argErr(n, "invalid index - %d$", num)
					}
					arg, haveArg = args[num-1], true
					i++
					goto flags
				}
				spec.width = num
			}
		}
		if i < len(f) && f[i] == '.' {
			i++
			if i < len(f) && f[i] == '*' {
				i++
				p, err := take()
				if err != nil {
					return nil, err
				}
				pi, ok := p.(int64)
				if !ok {
					return nil, typeErr(n, "no implicit conversion of %s into Integer", coerceName(p))
				}
				spec.prec = int(pi)
			} else {
				start := i
				for i < len(f) && f[i] >= '0' && f[i] <= '9' {
					i++
				}
				spec.prec, _ = strconv.Atoi(f[start:i])
			}
		}
		if spec.width > maxOutput || spec.prec > maxOutput {
			return nil, argErr(n, "width too big")
		}
		if i >= len(f) {
			return nil, argErr(n, "incomplete format specifier; use %%%% (double %%) instead")
		}
		spec.verb = f[i]
		if spec.verb == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveArg {
			v, err := take()
			if err != nil {
				return nil, err
			}
			arg = v
		}
		if err := formatOne(&b, spec, arg, n); err != nil {
			return nil, err
		}
	done:
		if b.Len() > maxOutput {
			return nil, limitErr(n, "string is larger than %d bytes", maxOutput)
		}
	}
	return b.String(), nil
}

type fmtSpec struct {
	minus, plus, space, zero, sharp bool
	width, prec                     int
	verb                            byte
}

// pad writes s padded to the width; zero pads numbers after their sign.
func (s fmtSpec) pad(b *strings.Builder, text string, numeric bool) {
	w := utf8.RuneCountInString(text)
	if w >= s.width {
		b.WriteString(text)
		return
	}
	fill := strings.Repeat(" ", s.width-w)
	switch {
	case s.minus:
		b.WriteString(text + fill)
	case s.zero && numeric:
		sign := ""
		if text != "" && (text[0] == '-' || text[0] == '+' || text[0] == ' ') {
			sign, text = text[:1], text[1:]
		}
		prefix := ""
		for _, p := range []string{"0x", "0X", "0b", "0B"} {
			if strings.HasPrefix(text, p) {
				prefix, text = p, text[2:]
			}
		}
		b.WriteString(sign + prefix + strings.Repeat("0", s.width-w) + text)
	default:
		b.WriteString(fill + text)
	}
}

func formatOne(b *strings.Builder, spec fmtSpec, arg Value, n node) error {
	switch spec.verb {
	case 's', 'p':
		text := toS(arg)
		if spec.verb == 'p' {
			text = inspect(arg)
		}
		if spec.prec >= 0 && spec.prec < utf8.RuneCountInString(text) {
			text = string([]rune(text)[:spec.prec])
		}
		spec.pad(b, text, false)
		return nil
	case 'c':
		var text string
		switch x := arg.(type) {
		case int64:
			if x < 0 || x > utf8.MaxRune {
				return raiseAt(n, "RangeError", "%d out of char range", x)
			}
			text = string(rune(x))
		case string:
			if x == "" {
				return argErr(n, "%%c requires a character")
			}
			r, _ := utf8.DecodeRuneInString(x)
			text = string(r)
		default:
			return typeErr(n, "no implicit conversion of %s into Integer", coerceName(arg))
		}
		spec.pad(b, text, false)
		return nil
	case 'd', 'i', 'u', 'x', 'X', 'o', 'b', 'B':
		i, err := formatInteger(arg, n)
		if err != nil {
			return err
		}
		spec.pad(b, spec.integer(i), spec.prec < 0)
		return nil
	case 'f', 'e', 'E', 'g', 'G', 'a', 'A':
		f, err := floatArg(arg, n)
		if err != nil {
			return err
		}
		if spec.verb == 'a' || spec.verb == 'A' {
			return unsupported(n)
		}
		spec.pad(b, spec.float(f), !math.IsInf(f, 0) && !math.IsNaN(f))
		return nil
	}
	return argErr(n, "malformed format string - %%%c", spec.verb)
}

// integer formats i for d/x/o/b. A negative number without + or space
// prints with a minus sign; Ruby's two's complement form ("..f01") is
// not reproduced.
func (s fmtSpec) integer(i int64) string {
	base, prefix := 10, ""
	switch s.verb {
	case 'x':
		base, prefix = 16, "0x"
	case 'X':
		base, prefix = 16, "0X"
	case 'o':
		base, prefix = 8, "0"
	case 'b':
		base, prefix = 2, "0b"
	case 'B':
		base, prefix = 2, "0B"
	}
	neg := i < 0
	digits := strconv.FormatUint(uint64(abs64(i)), base)
	if i == math.MinInt64 {
		digits = strings.TrimPrefix(strconv.FormatInt(i, base), "-")
	}
	if s.verb == 'X' {
		digits = strings.ToUpper(digits)
	}
	if s.prec >= 0 && len(digits) < s.prec {
		digits = strings.Repeat("0", s.prec-len(digits)) + digits
	}
	if s.sharp && base != 10 && !(s.verb == 'o' && strings.HasPrefix(digits, "0")) && i != 0 {
		digits = prefix + digits
	}
	switch {
	case neg:
		return "-" + digits
	case s.plus:
		return "+" + digits
	case s.space:
		return " " + digits
	}
	return digits
}

func (s fmtSpec) float(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		text := "Inf"
		if math.IsNaN(f) {
			text = "NaN"
		}
		switch {
		case math.Signbit(f) && !math.IsNaN(f):
			return "-" + text
		case s.plus:
			return "+" + text
		case s.space:
			return " " + text
		}
		return text
	}
	flags := ""
	if s.plus {
		flags += "+"
	} else if s.space {
		flags += " "
	}
	if s.sharp {
		flags += "#"
	}
	prec := s.prec
	if prec < 0 {
		prec = 6
	}
	return fmt.Sprintf("%"+flags+"."+strconv.Itoa(prec)+string(s.verb), f)
}

// formatInteger converts a format argument for %d as Ruby does: Floats
// are truncated, Strings read strictly as by Integer().
func formatInteger(arg Value, n node) (int64, error) {
	switch x := arg.(type) {
	case int64:
		return x, nil
	case float64:
		v, err := floatToInt(x, n)
		if err != nil {
			return 0, err
		}
		return v.(int64), nil
	case string:
		if i, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(x), "_", ""), 0, 64); err == nil {
			return i, nil
		}
		return 0, argErr(n, "invalid value for Integer(): %s", inspectString(x))
	case nil:
		return 0, typeErr(n, "can't convert nil into Integer")
	}
	return 0, typeErr(n, "can't convert %s into Integer", className(arg))
}

// floatArg is Kernel#Float, which format uses for %f: Strings are read
// strictly.
func floatArg(arg Value, n node) (float64, error) {
	switch x := arg.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		if f, ok := strictFloat(x); ok {
			return f, nil
		}
		return 0, argErr(n, "invalid value for Float(): %s", inspectString(x))
	case nil:
		return 0, typeErr(n, "can't convert nil into Float")
	}
	return 0, typeErr(n, "can't convert %s into Float", className(arg))
}
