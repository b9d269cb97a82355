package rubyyaml

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	intLegacyDec = regexp.MustCompile(`^[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)$`)
	intBin       = regexp.MustCompile(`^[-+]?0b[0-1_,]+$`)
	intOct       = regexp.MustCompile(`^[-+]?0[0-7_,]+$`)
	intHex       = regexp.MustCompile(`^[-+]?0x[0-9a-fA-F_,]+$`)
	intSexa      = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}$`)
	floatSexa    = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}\.[0-9_]*$`)
	floatRE      = regexp.MustCompile(`^[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?$`)
	symQuotedRE  = regexp.MustCompile(`^:(["'])(.*)(["'])$`)
)

func (c *converter) scalar(y *yaml.Node) *Node {
	n := &Node{Kind: String, Str: y.Value, File: c.file, Line: y.Line, Col: y.Column}
	quoted := y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if y.Style&yaml.TaggedStyle != 0 {
		switch y.ShortTag() {
		case "!!str", "!!binary":
			return n
		case "!!null":
			n.Kind = Null
			return n
		case "!!bool", "!!int", "!!float":
			r := resolvePlain(y.Value, n)
			return r
		default:
			if quoted {
				return n
			}
			return resolvePlain(y.Value, n)
		}
	}
	if quoted {
		return n
	}
	return resolvePlain(y.Value, n)
}

// resolvePlain resolves an unquoted scalar the way Psych's ScalarScanner does.
func resolvePlain(s string, n *Node) *Node {
	switch s {
	case "", "~", "null", "Null", "NULL":
		n.Kind = Null
		return n
	}
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		n.Kind, n.Bool = Bool, true
		return n
	case "no", "false", "off":
		n.Kind, n.Bool = Bool, false
		return n
	}
	if len(s) > 1 && s[0] == ':' {
		n.Kind = Symbol
		if m := symQuotedRE.FindStringSubmatch(s); m != nil && m[1] == m[3] {
			n.Str = m[2]
		} else {
			n.Str = s[1:]
		}
		return n
	}
	switch s {
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		n.Kind, n.Float = Float, math.Inf(1)
		return n
	case "-.inf", "-.Inf", "-.INF":
		n.Kind, n.Float = Float, math.Inf(-1)
		return n
	case ".nan", ".NaN", ".NAN":
		n.Kind, n.Float = Float, math.NaN()
		return n
	}
	c := s[0]
	if !(c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
		return n
	}
	if v, ok := parseRubyInt(s); ok {
		n.Kind, n.Int = Int, v
		return n
	}
	if intSexa.MatchString(s) {
		if v, ok := sexagesimal(s); ok {
			n.Kind, n.Int = Int, int64(v)
			return n
		}
	}
	if floatSexa.MatchString(s) {
		if v, ok := sexagesimal(s); ok {
			n.Kind, n.Float = Float, v
			return n
		}
	}
	if floatRE.MatchString(s) && s != "." && s != "-." && s != "+." {
		clean := strings.NewReplacer("_", "", ",", "").Replace(s)
		if strings.HasSuffix(clean, ".") {
			clean += "0"
		}
		if v, err := strconv.ParseFloat(clean, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			n.Kind, n.Float = Float, v
			return n
		}
	}
	return n
}

func parseRubyInt(s string) (int64, bool) {
	clean := func(t string) string { return strings.NewReplacer("_", "", ",", "").Replace(t) }
	var base int
	var digits string
	sign := ""
	body := s
	if body[0] == '-' || body[0] == '+' {
		sign, body = body[:1], body[1:]
	}
	switch {
	case intLegacyDec.MatchString(s):
		base, digits = 10, clean(body)
	case intBin.MatchString(s):
		base, digits = 2, clean(body[2:])
	case intHex.MatchString(s):
		base, digits = 16, clean(body[2:])
	case intOct.MatchString(s):
		base, digits = 8, clean(body[1:])
	default:
		return 0, false
	}
	if digits == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(sign+digits, base, 64)
	if err != nil {
		// Ruby has bignums; anything beyond int64 stays a string here.
		return 0, false
	}
	return v, true
}

func sexagesimal(s string) (float64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	s = strings.ReplaceAll(s, "_", "")
	parts := strings.Split(s, ":")
	var v float64
	for _, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, false
		}
		v = v*60 + f
	}
	if neg {
		v = -v
	}
	return v, true
}
