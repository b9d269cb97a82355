package rubyyaml

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scalars are typed as Psych's ScalarScanner#tokenize does, check by check
// in its order: Psych reads YAML 1.1 with arithmetic of its own (base-60
// "1:30" is 1*3600 + 30*60), and Kamal's checks see the Ruby classes that
// come out.

var (
	// strings that start like a word: only null/bool spellings of at most
	// five letters are not strings
	wordLikeRE  = regexp.MustCompile(`^[^\d.:-]?[\p{L}_\s!@#$%^&*(){}<>|/\\~;=]+`)
	nullRE      = regexp.MustCompile(`(?i)^null$`)
	trueRE      = regexp.MustCompile(`(?i)^(?:yes|true|on)$`)
	falseRE     = regexp.MustCompile(`(?i)^(?:no|false|off)$`)
	timestampRE = regexp.MustCompile(`^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$`)
	dateOnlyRE  = regexp.MustCompile(`^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$`)
	infRE       = regexp.MustCompile(`(?i)^\+?\.inf$`)
	negInfRE    = regexp.MustCompile(`(?i)^-\.inf$`)
	nanRE       = regexp.MustCompile(`(?i)^\.nan$`)
	symQuoted   = regexp.MustCompile(`^:(["'])(.*)(["'])`)
	sexaIntRE   = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}$`)
	sexaFltRE   = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}\.[0-9_]*$`)
	floatRE     = regexp.MustCompile(`^[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?$`)
	intRE       = regexp.MustCompile(`^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$`)
	timeZoneRE  = regexp.MustCompile(`(\d+:\d+:\d+)(?:\.(\d*))?\s*(Z|[-+]\d+(?::\d\d)?)?`)
	symTagRE    = regexp.MustCompile(`^!ruby/sym(?:bol)?`)
	floatDotRE  = regexp.MustCompile(`\.([Ee]|$)`)
	toIRE       = regexp.MustCompile(`^[-+]?[0-9][0-9_]*`)
	toFRE       = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?:\.[0-9][0-9_]*)?`)
	rubyFltRE   = regexp.MustCompile(`^[-+]?(?:[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?(?:[eE][-+]?[0-9]+)?|0[xX][0-9a-fA-F]+)$`)
)

func (c *converter) scalar(y *yaml.Node) *Node {
	n := &Node{Kind: String, Str: y.Value, File: c.file, Line: y.Line, Col: y.Column}
	quoted := y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if y.Style&yaml.TaggedStyle == 0 {
		if quoted {
			return n
		}
		return tokenize(y.Value, n)
	}
	// An explicit tag: Psych knows a few, and types the rest like a
	// plain scalar (even when quoted).
	switch tag := y.ShortTag(); {
	case tag == "!!binary" || tag == "!binary":
		n.Str, n.Binary = decodeBase64(y.Value), true
	case tag == "!!str" || tag == "!str" || strings.HasPrefix(tag, "!ruby/string"):
	case tag == "!!float" || tag == "!float":
		v := tokenize(y.Value, &Node{Kind: String, Str: y.Value})
		switch v.Kind {
		case Float:
			n.Kind, n.Float = Float, v.Float
		case Int:
			n.Kind, n.Float = Float, float64(v.Int)
			if v.Big != nil {
				n.Float, _ = new(big.Float).SetInt(v.Big).Float64()
			}
		case String:
			f, ok := rubyFloat(v.Str)
			if !ok {
				c.failClass(y, "ArgumentError", "invalid value for Float(): %q", y.Value)
			}
			n.Kind, n.Float = Float, f
		default:
			c.failClass(y, "TypeError", "can't convert %s into Float", rubyClassName(v))
		}
	case symTagRE.MatchString(tag):
		n.Kind = Symbol
	default:
		return tokenize(y.Value, n)
	}
	return n
}

// tokenize types a plain scalar s into n (Psych's ScalarScanner#tokenize).
func tokenize(s string, n *Node) *Node {
	n.Kind, n.Str = String, s
	switch {
	case s == "":
		n.Kind = Null
	case wordLikeRE.MatchString(s) || strings.Contains(s, "\n"):
		if len(s) > 5 {
			break
		}
		switch {
		case s == "~" || nullRE.MatchString(s):
			n.Kind = Null
		case trueRE.MatchString(s):
			n.Kind, n.Bool = Bool, true
		case falseRE.MatchString(s):
			n.Kind, n.Bool = Bool, false
		}
	case timestampRE.MatchString(s):
		if t, ok := parseTime(s); ok {
			n.Kind, n.Time = Time, t
		}
	case dateOnlyRE.MatchString(s):
		if t, err := time.Parse("2006-1-2", s); err == nil {
			n.Kind, n.Time = Date, t
		}
	case infRE.MatchString(s):
		n.Kind, n.Float = Float, math.Inf(1)
	case negInfRE.MatchString(s):
		n.Kind, n.Float = Float, math.Inf(-1)
	case nanRE.MatchString(s):
		n.Kind, n.Float = Float, math.NaN()
	case len(s) > 1 && s[0] == ':':
		n.Kind, n.Str = Symbol, s[1:]
		if m := symQuoted.FindStringSubmatch(s); m != nil && m[1] == m[3] {
			n.Str = strings.TrimPrefix(m[2], ":")
		}
	case sexaIntRE.MatchString(s):
		// Psych weighs the parts 60^2, 60^1, 60^0 from the left, also
		// for two parts, and keeps each part's own sign.
		sum := new(big.Int)
		for i, part := range strings.Split(s, ":") {
			v, _ := new(big.Int).SetString(rubyToI(part), 10)
			w := new(big.Int).Exp(big.NewInt(60), big.NewInt(int64(abs(i-2))), nil)
			sum.Add(sum, v.Mul(v, w))
		}
		setInt(n, sum)
	case sexaFltRE.MatchString(s):
		var sum float64
		for i, part := range strings.Split(s, ":") {
			f, _ := strconv.ParseFloat(rubyToF(part), 64)
			sum += f * math.Pow(60, float64(abs(i-2)))
		}
		n.Kind, n.Float = Float, sum
	case floatRE.MatchString(s):
		if s == "." || s == "-." || s == "+." {
			break
		}
		clean := strings.NewReplacer(",", "", "_", "").Replace(s)
		clean = floatDotRE.ReplaceAllString(clean, "$1")
		if f, err := strconv.ParseFloat(clean, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			n.Kind, n.Float = Float, f
		}
	case intRE.MatchString(s):
		if v, ok := rubyInteger(strings.NewReplacer(",", "", "_", "").Replace(s)); ok {
			setInt(n, v)
		}
	}
	return n
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// setInt stores v, keeping a bignum in Big.
func setInt(n *Node, v *big.Int) {
	n.Kind = Int
	if v.IsInt64() {
		n.Int = v.Int64()
		return
	}
	n.Big = v
	n.Int = math.MaxInt64
	if v.Sign() < 0 {
		n.Int = math.MinInt64
	}
}

// rubyInteger is Ruby's Integer(s) for what Psych's integer pattern lets
// through: 0b binary, 0x hex, a leading 0 for octal, else decimal.
func rubyInteger(s string) (*big.Int, bool) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimLeft(s, "+-")
	base := 10
	switch {
	case strings.HasPrefix(body, "0b"):
		base, body = 2, body[2:]
	case strings.HasPrefix(body, "0x"):
		base, body = 16, body[2:]
	case len(body) > 1 && body[0] == '0':
		base, body = 8, body[1:]
	}
	v, ok := new(big.Int).SetString(body, base)
	if !ok {
		return nil, false
	}
	if neg {
		v.Neg(v)
	}
	return v, true
}

// rubyToI is the digits String#to_i reads: an optional sign and digits,
// underscores between them ignored.
func rubyToI(s string) string {
	m := toIRE.FindString(s)
	m = strings.ReplaceAll(m, "_", "")
	if m == "" || m == "-" || m == "+" {
		return "0"
	}
	return m
}

// rubyToF is the number String#to_f reads.
func rubyToF(s string) string {
	m := toFRE.FindString(s)
	if m = strings.ReplaceAll(m, "_", ""); m == "" {
		return "0"
	}
	return m
}

// rubyFloat is Float(s) for a string: decimal or hex numbers, underscores
// between digits.
func rubyFloat(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	if !rubyFltRE.MatchString(t) {
		return 0, false
	}
	if strings.Contains(strings.ToLower(t), "0x") {
		v, ok := rubyInteger(strings.ToLower(t))
		if !ok {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(v).Float64()
		return f, true
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	return f, err == nil || errors.Is(err, strconv.ErrRange)
}

// parseTime is Psych's parse_time: without a zone the time is taken as UTC
// and shown in the local zone (Time.at); "Z" gives a UTC time; an offset
// gives a time in that offset.
func parseTime(s string) (time.Time, bool) {
	i := strings.IndexAny(s, " tT")
	date, clock := s[:i], s[i+1:]
	var y, mo, d int
	if _, err := fmt.Sscanf(date, "%d-%d-%d", &y, &mo, &d); err != nil {
		return time.Time{}, false
	}
	m := timeZoneRE.FindStringSubmatch(clock)
	if m == nil {
		return time.Time{}, false
	}
	var hh, mm, ss int
	fmt.Sscanf(m[1], "%d:%d:%d", &hh, &mm, &ss)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 24 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	frac := (m[2] + "000000000")[:9]
	ns, _ := strconv.Atoi(frac)
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, ns, time.UTC)
	switch zone := m[3]; {
	case zone == "Z":
		return t, true
	case zone == "":
		return t.In(time.Local), true
	default:
		h, min, _ := strings.Cut(strings.TrimLeft(zone, "+-"), ":")
		oh, _ := strconv.Atoi(h)
		om, _ := strconv.Atoi(min)
		offset := oh*3600 + om*60
		if zone[0] == '-' {
			offset = -offset
		}
		loc := time.FixedZone("", offset)
		return time.Date(y, time.Month(mo), d, hh, mm, ss, ns, loc), true
	}
}

// decodeBase64 is Ruby's unpack('m'): characters outside the alphabet are
// skipped, missing padding is fine.
func decodeBase64(s string) string {
	var clean strings.Builder
	for _, r := range s {
		if r == '=' {
			break
		}
		if strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", r) {
			clean.WriteRune(r)
		}
	}
	b := clean.String()
	if len(b)%4 == 1 {
		b = b[:len(b)-1]
	}
	out, _ := base64.RawStdEncoding.DecodeString(b)
	return string(out)
}

// rubyClassName names the Ruby class of a scalar, for error messages.
func rubyClassName(n *Node) string {
	switch n.Kind {
	case Null:
		return "nil"
	case Bool:
		return strconv.FormatBool(n.Bool)
	case Symbol:
		return "Symbol"
	case Date:
		return "Date"
	case Time:
		return "Time"
	}
	return "String"
}
