package erb

import (
	"errors"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// YAML (Psych) in templates goes through the same reader and writer as
// the config files themselves: rubyyaml.

// yamlModule implements YAML.load_file, YAML.load (and the safe_ and
// unsafe_ forms) and YAML.dump. symbolize_names: true makes the keys
// Symbols; other options (aliases:, permitted_classes:) change nothing here.
func (ev *evaluator) yamlModule(name string, args []Value, n node) (Value, error) {
	if len(args) == 0 || len(args) > 2 {
		return nil, unsupported(n)
	}
	symbolize := false
	if len(args) == 2 {
		opts, ok := args[1].(*Hash)
		if !ok {
			return nil, unsupported(n)
		}
		if v, ok := opts.get(Symbol("symbolize_names")); ok {
			symbolize = truthy(v)
		}
	}
	switch name {
	case "dump":
		if len(args) != 1 {
			return nil, unsupported(n)
		}
		return ev.toYAML(args[0], n)
	case "load_file", "safe_load_file", "unsafe_load_file":
		path, ok := args[0].(string)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
		}
		data, err := readFile(path)
		if err != nil {
			return nil, fileErr(n, err, path)
		}
		return ev.loadYAML(path, data, symbolize, n)
	case "load", "safe_load", "unsafe_load":
		s, ok := args[0].(string)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
		}
		return ev.loadYAML("<unknown>", []byte(s), symbolize, n)
	}
	return nil, unsupported(n)
}

func (ev *evaluator) loadYAML(file string, data []byte, symbolize bool, n node) (Value, error) {
	doc, err := rubyyaml.Parse(file, data)
	if err != nil {
		var se *rubyyaml.SyntaxError
		if errors.As(err, &se) {
			return nil, raiseAt(n, "Psych::SyntaxError", "(%s): %s", file, se.Message)
		}
		return nil, raiseAt(n, "Psych::Exception", "(%s): %v", file, err)
	}
	return ev.fromNode(doc, symbolize, 0, n)
}

// fromNode converts a YAML node to a Ruby value.
func (ev *evaluator) fromNode(y *rubyyaml.Node, symbolize bool, depth int, n node) (Value, error) {
	if depth > maxNesting {
		return nil, unsupported(n)
	}
	if err := ev.tick(n); err != nil {
		return nil, err
	}
	switch y.Kind {
	case rubyyaml.Null:
		return nil, nil
	case rubyyaml.String:
		return y.Str, nil
	case rubyyaml.Symbol:
		return Symbol(y.Str), nil
	case rubyyaml.Int:
		return y.Int, nil
	case rubyyaml.Float:
		return y.Float, nil
	case rubyyaml.Bool:
		return y.Bool, nil
	case rubyyaml.Seq:
		out := &Array{elems: make([]Value, 0, len(y.Items))}
		for _, item := range y.Items {
			v, err := ev.fromNode(item, symbolize, depth+1, n)
			if err != nil {
				return nil, err
			}
			out.elems = append(out.elems, v)
		}
		return out, nil
	case rubyyaml.Map:
		h := newHash()
		for _, k := range y.Keys {
			var key Value = k
			if kn := y.KeyNodes[k]; kn != nil {
				v, err := ev.fromNode(kn, false, depth+1, n)
				if err != nil {
					return nil, err
				}
				key = v
			}
			if s, ok := key.(string); ok && symbolize {
				key = Symbol(s)
			}
			v, err := ev.fromNode(y.Vals[k], symbolize, depth+1, n)
			if err != nil {
				return nil, err
			}
			if !h.set(key, v) {
				return nil, unsupported(n)
			}
		}
		return h, nil
	}
	return nil, unsupported(n) // dates, times and other Ruby objects
}

// toYAML is Object#to_yaml, written as Psych writes it.
func (ev *evaluator) toYAML(v Value, n node) (Value, error) {
	seen := map[any]bool{}
	y, err := ev.toNode(v, seen, 0, n)
	if err != nil {
		return nil, err
	}
	return rubyyaml.Dump(y), nil
}

// toNode converts a Ruby value to a YAML node. A container that appears
// twice would be an anchor and an alias in Psych's output, which this
// writer does not produce: it is outside the subset.
func (ev *evaluator) toNode(v Value, seen map[any]bool, depth int, n node) (*rubyyaml.Node, error) {
	if depth > maxNesting {
		return nil, unsupported(n)
	}
	if err := ev.tick(n); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return rubyyaml.NewNull(), nil
	case bool:
		return rubyyaml.NewBool(x), nil
	case int64:
		return rubyyaml.NewInt(x), nil
	case float64:
		return &rubyyaml.Node{Kind: rubyyaml.Float, Float: x}, nil
	case string:
		return rubyyaml.NewString(x), nil
	case *StringInquirer:
		return rubyyaml.NewString(x.s), nil
	case Symbol:
		return rubyyaml.NewSymbol(string(x)), nil
	case *Array:
		if seen[x] {
			return nil, unsupported(n)
		}
		seen[x] = true
		out := rubyyaml.NewSeq()
		for _, e := range x.elems {
			item, err := ev.toNode(e, seen, depth+1, n)
			if err != nil {
				return nil, err
			}
			out.Items = append(out.Items, item)
		}
		return out, nil
	case *Hash:
		if seen[x] {
			return nil, unsupported(n)
		}
		seen[x] = true
		out := rubyyaml.NewMap()
		for i, k := range x.keys {
			key, err := ev.toNode(k, seen, depth+1, n)
			if err != nil {
				return nil, err
			}
			if key.Kind == rubyyaml.Seq || key.Kind == rubyyaml.Map || out.Has(key.Text()) {
				return nil, unsupported(n)
			}
			val, err := ev.toNode(x.vals[i], seen, depth+1, n)
			if err != nil {
				return nil, err
			}
			out.Add(key, val)
		}
		return out, nil
	}
	return nil, unsupported(n)
}
