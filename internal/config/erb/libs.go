package erb

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"math/big"
	"strings"

	"github.com/kamalgo/kamal/internal/secrets"
)

// The standard libraries configs require: Base64, Shellwords, Digest,
// SecureRandom and OpenStruct.

// base64Method implements Base64.
func base64Method(name string, args []Value, n node) (Value, error) {
	if len(args) == 0 || len(args) > 2 {
		return nil, unsupported(n)
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
	}
	switch name {
	case "encode64":
		// 60 characters a line, each ending in a newline, as pack("m") does.
		enc := base64.StdEncoding.EncodeToString([]byte(s))
		var b strings.Builder
		for len(enc) > 60 {
			b.WriteString(enc[:60] + "\n")
			enc = enc[60:]
		}
		if enc != "" {
			b.WriteString(enc + "\n")
		}
		return b.String(), nil
	case "strict_encode64":
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "urlsafe_encode64":
		padding := true
		if len(args) == 2 {
			h, ok := args[1].(*Hash)
			if !ok {
				return nil, unsupported(n)
			}
			if v, ok := h.get(Symbol("padding")); ok {
				padding = truthy(v)
			}
		}
		if padding {
			return base64.URLEncoding.EncodeToString([]byte(s)), nil
		}
		return base64.RawURLEncoding.EncodeToString([]byte(s)), nil
	case "decode64":
		// Characters outside the alphabet are skipped, as unpack("m") does.
		clean := strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' {
				return r
			}
			return -1
		}, s)
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1] // a lone character decodes to nothing
		}
		out, _ := base64.RawStdEncoding.DecodeString(clean)
		return string(out), nil
	case "strict_decode64":
		out, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, argErr(n, "invalid base64")
		}
		return string(out), nil
	case "urlsafe_decode64":
		t := strings.TrimRight(s, "=")
		out, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, argErr(n, "invalid base64")
		}
		return string(out), nil
	}
	return nil, unsupported(n)
}

// shellwordsMethod implements Shellwords.escape, split and join.
func shellwordsMethod(name string, args []Value, n node) (Value, error) {
	if len(args) != 1 {
		return nil, unsupported(n)
	}
	switch name {
	case "escape", "shellescape":
		return secrets.ShellEscape(toS(args[0])), nil
	case "split", "shellsplit", "shellwords":
		s, ok := args[0].(string)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
		}
		words, err := secrets.ShellSplit(s)
		if err != nil {
			return nil, argErr(n, "Unmatched quote: %s", inspectString(s))
		}
		return toArray(words), nil
	case "join", "shelljoin":
		a, ok := args[0].(*Array)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into Array", coerceName(args[0]))
		}
		parts := make([]string, len(a.elems))
		for i, e := range a.elems {
			parts[i] = secrets.ShellEscape(toS(e))
		}
		return strings.Join(parts, " "), nil
	}
	return nil, unsupported(n)
}

// digests are the Digest classes by constant name.
var digests = map[string]func() hash.Hash{
	"Digest::MD5":    md5.New,
	"Digest::SHA1":   sha1.New,
	"Digest::SHA256": sha256.New,
	"Digest::SHA2":   sha256.New,
	"Digest::SHA384": sha512.New384,
	"Digest::SHA512": sha512.New,
}

// digestMethod implements Digest::SHA256.hexdigest(s) and its kin.
func digestMethod(newHash func() hash.Hash, name string, args []Value, n node) (Value, error) {
	if len(args) != 1 {
		return nil, unsupported(n)
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
	}
	h := newHash()
	h.Write([]byte(s))
	sum := h.Sum(nil)
	switch name {
	case "hexdigest":
		return hex.EncodeToString(sum), nil
	case "digest":
		return string(sum), nil
	case "base64digest":
		return base64.StdEncoding.EncodeToString(sum), nil
	}
	return nil, unsupported(n)
}

// securerandomMethod implements SecureRandom. Each render gives new
// values, as in Ruby.
func securerandomMethod(name string, args []Value, n node) (Value, error) {
	size := int64(16)
	if len(args) > 0 && name != "random_number" {
		k, ok := args[0].(int64)
		if !ok {
			if args[0] != nil {
				return nil, typeErr(n, "no implicit conversion of %s into Integer", coerceName(args[0]))
			}
		} else {
			size = k
		}
	}
	if size < 0 {
		return nil, argErr(n, "negative string size (or size too big)")
	}
	if size > 1<<20 {
		return nil, unsupported(n)
	}
	random := func(k int64) []byte {
		b := make([]byte, k)
		_, _ = rand.Read(b)
		return b
	}
	switch name {
	case "hex":
		return hex.EncodeToString(random(size)), nil
	case "uuid", "uuid_v4":
		b := random(16)
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(random(size)), nil
	case "urlsafe_base64":
		padding := len(args) > 1 && truthy(args[1])
		if padding {
			return base64.URLEncoding.EncodeToString(random(size)), nil
		}
		return base64.RawURLEncoding.EncodeToString(random(size)), nil
	case "alphanumeric":
		const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		out := make([]byte, size)
		for i := range out {
			k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
			out[i] = chars[k.Int64()]
		}
		return string(out), nil
	case "random_bytes", "bytes":
		return string(random(size)), nil
	case "random_number", "rand":
		if len(args) == 0 {
			k, _ := rand.Int(rand.Reader, big.NewInt(1<<53))
			return float64(k.Int64()) / (1 << 53), nil
		}
		limit, ok := args[0].(int64)
		if !ok || limit <= 0 {
			return nil, unsupported(n)
		}
		k, _ := rand.Int(rand.Reader, big.NewInt(limit))
		return k.Int64(), nil
	}
	return nil, unsupported(n)
}

// OpenStruct is Ruby's OpenStruct: a hash read and written as attributes.
type OpenStruct struct{ fields *Hash } // Symbol keys

func newOpenStruct(args []Value, n node) (Value, error) {
	os := &OpenStruct{fields: newHash()}
	switch len(args) {
	case 0:
	case 1:
		h, ok := args[0].(*Hash)
		if !ok {
			if args[0] == nil {
				break
			}
			return nil, unsupported(n)
		}
		for i, k := range h.keys {
			os.fields.set(Symbol(toS(k)), h.vals[i])
		}
	default:
		return nil, argErr(n, "wrong number of arguments (given %d, expected 0..1)", len(args))
	}
	return os, nil
}

func (o *OpenStruct) inspect() string {
	var b strings.Builder
	b.WriteString("#<OpenStruct")
	for i, k := range o.fields.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" " + string(k.(Symbol)) + "=" + inspect(o.fields.vals[i]))
	}
	b.WriteByte('>')
	return b.String()
}

func (ev *evaluator) openStructMethod(o *OpenStruct, name string, args []Value, blk *block, n node) (Value, error) {
	switch {
	case name == "[]" && len(args) == 1:
		v, _ := o.fields.get(Symbol(toS(args[0])))
		return v, nil
	case name == "[]=" && len(args) == 2:
		o.fields.set(Symbol(toS(args[0])), args[1])
		return args[1], nil
	case name == "to_h" && len(args) == 0 && blk == nil:
		h := newHash()
		for i, k := range o.fields.keys {
			h.set(k, o.fields.vals[i])
		}
		return h, nil
	case name == "each_pair" && blk != nil:
		_, err := ev.hashMethod(o.fields, "each", nil, blk, n)
		return o, err
	case name == "respond_to?" && len(args) == 1:
		_, ok := o.fields.get(Symbol(toS(args[0])))
		return ok, nil
	case name == "dig" && len(args) >= 1:
		v, _ := o.fields.get(Symbol(toS(args[0])))
		if len(args) == 1 || v == nil {
			return v, nil
		}
		return ev.send(v, "dig", args[1:], nil, n)
	case name == "delete_field" && len(args) == 1:
		key := Symbol(toS(args[0]))
		v, ok := o.fields.get(key)
		if !ok {
			return nil, raiseAt(n, "NameError", "no field '%s' in %s", key, o.inspect())
		}
		rest := newHash()
		for i, k := range o.fields.keys {
			if k != key {
				rest.set(k, o.fields.vals[i])
			}
		}
		o.fields = rest
		return v, nil
	case name == "to_s" || name == "inspect":
		return o.inspect(), nil
	case name == "==" && len(args) == 1:
		other, ok := args[0].(*OpenStruct)
		return ok && equal(o.fields, other.fields), nil
	case strings.HasSuffix(name, "=") && len(args) == 1 && simpleSymbol(name):
		o.fields.set(Symbol(strings.TrimSuffix(name, "=")), args[0])
		return args[0], nil
	case len(args) == 0 && blk == nil && simpleSymbol(name) && !strings.HasSuffix(name, "?") && !strings.HasSuffix(name, "!"):
		v, _ := o.fields.get(Symbol(name))
		return v, nil
	}
	return nil, unsupported(n)
}
