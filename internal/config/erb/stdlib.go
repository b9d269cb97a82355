package erb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/secrets"
)

// uriParse is URI.parse.
func uriParse(v Value, n node) (Value, error) {
	s, ok := v.(string)
	if !ok {
		if u, isURI := v.(*URI); isURI {
			return u, nil
		}
		return nil, raiseAt(n, "URI::InvalidURIError", "bad URI (is not URI?): %s", inspect(v))
	}
	// Unlike Ruby, the message leaves out the text: URLs often carry passwords.
	if strings.ContainsAny(s, " \t\n\r\"<>\\^`{|}") {
		return nil, raiseAt(n, "URI::InvalidURIError", "bad URI (is not URI?) in %s", n.pos().src)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, raiseAt(n, "URI::InvalidURIError", "bad URI (is not URI?) in %s", n.pos().src)
	}
	return &URI{u: u, raw: s}, nil
}

var defaultPorts = map[string]int64{"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ldap": 389, "ldaps": 636}

func uriMethod(u *URI, name string, args []Value, n node) (Value, error) {
	if len(args) != 0 {
		return nil, unsupported(n)
	}
	orNil := func(s string) Value {
		if s == "" {
			return nil
		}
		return s
	}
	switch name {
	case "scheme":
		return orNil(u.u.Scheme), nil
	case "host":
		h := u.u.Hostname()
		if strings.Contains(h, ":") {
			return "[" + h + "]", nil
		}
		return orNil(h), nil
	case "hostname":
		return orNil(u.u.Hostname()), nil
	case "port":
		if p := u.u.Port(); p != "" {
			i, err := strconv.ParseInt(p, 10, 64)
			if err != nil {
				return nil, unsupported(n)
			}
			return i, nil
		}
		if p, ok := defaultPorts[strings.ToLower(u.u.Scheme)]; ok {
			return p, nil
		}
		return nil, nil
	case "path":
		if u.u.Opaque != "" {
			return nil, nil
		}
		return u.u.EscapedPath(), nil
	case "query":
		if !u.u.ForceQuery && u.u.RawQuery == "" {
			return nil, nil
		}
		return u.u.RawQuery, nil
	case "fragment":
		return orNil(u.u.EscapedFragment()), nil
	case "user":
		if u.u.User == nil {
			return nil, nil
		}
		return orNil(rawUserinfo(u.u)[0]), nil
	case "password":
		if u.u.User == nil {
			return nil, nil
		}
		if _, set := u.u.User.Password(); !set {
			return nil, nil
		}
		return rawUserinfo(u.u)[1], nil
	case "userinfo":
		if u.u.User == nil {
			return nil, nil
		}
		return u.u.User.String(), nil
	case "to_s", "to_str":
		return u.raw, nil
	}
	return nil, unsupported(n)
}

// rawUserinfo returns user and password as written (Ruby does not decode them).
func rawUserinfo(u *url.URL) [2]string {
	info := u.User.String()
	user, pass, _ := strings.Cut(info, ":")
	return [2]string{user, pass}
}

// dotenv implements Dotenv.load, overload, parse and their "!" variants
// with the same parser as the secrets files.
func (ev *evaluator) dotenv(name string, args []Value, n node) (Value, error) {
	strict := strings.HasSuffix(name, "!")
	base := strings.TrimSuffix(name, "!")
	if base != "load" && base != "overload" && base != "parse" {
		return nil, unsupported(n)
	}
	var files []string
	for _, a := range args {
		s, ok := a.(string)
		if !ok {
			return nil, unsupported(n)
		}
		files = append(files, s)
	}
	if len(files) == 0 {
		files = []string{".env"}
	}
	if base == "overload" {
		// Later files are applied first so that the first file listed wins, as in dotenv 3.
		for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
			files[i], files[j] = files[j], files[i]
		}
	}
	result := newHash()
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			if !strict && (errors.Is(err, fs.ErrNotExist) || isDirErr(err)) {
				continue
			}
			return nil, fileErr(n, err, f)
		}
		vars, err := secrets.ParseDotenv(data, secrets.DotenvOptions{File: f, LookupEnv: ev.lookupEnv, Shell: ev.opts.Shell})
		if err != nil {
			return nil, errAt(n, "%v", err)
		}
		for _, v := range vars {
			switch base {
			case "load":
				if _, set := ev.lookupEnv(v.Key); set {
					continue
				}
				ev.setEnv(v.Key, v.Value)
			case "overload":
				ev.setEnv(v.Key, v.Value)
			}
		}
		for _, v := range vars {
			result.set(v.Key, v.Value)
		}
	}
	return result, nil
}

func isDirErr(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "is a directory")
}

// parseJSON is JSON.parse: objects become hashes with string keys.
func parseJSON(s string) (Value, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeJSON(dec, 0)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errors.New("unexpected end of input")
	}
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected token after JSON value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder, depth int) (Value, error) {
	if depth > maxNesting {
		return nil, errors.New("nesting is too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("unexpected token in JSON: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return nil, nil
	case bool:
		return t, nil
	case string:
		return t, nil
	case json.Number:
		if !strings.ContainsAny(string(t), ".eE") {
			i, err := strconv.ParseInt(string(t), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("JSON number %s is outside the supported subset (a big integer)", t)
			}
			return i, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("unexpected token in JSON: %s", t)
		}
		return f, nil
	case json.Delim:
		switch t {
		case '[':
			arr := &Array{}
			for dec.More() {
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr.elems = append(arr.elems, v)
			}
			_, err := dec.Token()
			return arr, err
		case '{':
			h := newHash()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				h.set(k.(string), v)
			}
			_, err := dec.Token()
			return h, err
		}
	}
	return nil, errors.New("unexpected token in JSON")
}
