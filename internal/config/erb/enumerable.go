package erb

import (
	"sort"
)

// enumerator is what each, map, select... return without a block, so
// that with_index and each_with_index can follow (list.map.with_index).
type enumerator struct {
	elems []Value
	meth  string // the method that will run the block
}

// enumMethod implements the Enumerable methods shared by Array, Hash (as
// [key, value] pairs), Range and Enumerator. ok is false for a method it
// does not know.
func (ev *evaluator) enumMethod(elems []Value, name string, args []Value, blk *block, n node) (v Value, ok bool, err error) {
	call := func(args ...Value) (Value, error) {
		if err := ev.tick(n); err != nil {
			return nil, err
		}
		return blk.fn(args)
	}
	list := func(out []Value) (Value, bool, error) { return &Array{elems: out}, true, nil }
	intArg := func(i int) (int64, error) {
		k, isInt := args[i].(int64)
		if !isInt {
			return 0, typeErr(n, "no implicit conversion of %s into Integer", coerceName(args[i]))
		}
		return k, nil
	}
	switch name {
	case "each_slice", "each_cons":
		if len(args) != 1 {
			break
		}
		size, err := intArg(0)
		if err != nil {
			return nil, true, err
		}
		if size <= 0 {
			return nil, true, argErr(n, "invalid size")
		}
		var groups []Value
		if name == "each_slice" {
			for i := 0; i < len(elems); i += int(size) {
				end := min(i+int(size), len(elems))
				groups = append(groups, &Array{elems: append([]Value(nil), elems[i:end]...)})
			}
		} else {
			for i := 0; i+int(size) <= len(elems); i++ {
				groups = append(groups, &Array{elems: append([]Value(nil), elems[i:i+int(size)]...)})
			}
		}
		if blk == nil {
			return list(groups)
		}
		for _, g := range groups {
			if _, err := call(g); err != nil {
				return nil, true, err
			}
		}
		return nil, true, nil
	case "each_with_object":
		if len(args) != 1 || blk == nil {
			break
		}
		for _, e := range elems {
			if _, err := call(e, args[0]); err != nil {
				return nil, true, err
			}
		}
		return args[0], true, nil
	case "inject", "reduce":
		return ev.inject(elems, args, blk, n)
	case "group_by", "partition", "chunk_while", "slice_when":
		if blk == nil || len(args) != 0 {
			break
		}
		if name == "chunk_while" || name == "slice_when" {
			var groups []Value
			var cur []Value
			for i, e := range elems {
				if i > 0 {
					r, err := call(elems[i-1], e)
					if err != nil {
						return nil, true, err
					}
					if truthy(r) != (name == "chunk_while") {
						groups = append(groups, &Array{elems: cur})
						cur = nil
					}
				}
				cur = append(cur, e)
			}
			if len(cur) > 0 {
				groups = append(groups, &Array{elems: cur})
			}
			return list(groups)
		}
		groups := newHash()
		var yes, no []Value
		for _, e := range elems {
			r, err := call(e)
			if err != nil {
				return nil, true, err
			}
			if name == "partition" {
				if truthy(r) {
					yes = append(yes, e)
				} else {
					no = append(no, e)
				}
				continue
			}
			g, found := groups.get(r)
			if !found {
				g = &Array{}
				if !groups.set(r, g) {
					return nil, true, unsupported(n)
				}
			}
			g.(*Array).elems = append(g.(*Array).elems, e)
		}
		if name == "partition" {
			return list([]Value{&Array{elems: yes}, &Array{elems: no}})
		}
		return groups, true, nil
	case "tally":
		if len(args) != 0 || blk != nil {
			break
		}
		counts := newHash()
		for _, e := range elems {
			c, _ := counts.get(e)
			k, _ := c.(int64)
			if !counts.set(e, k+1) {
				return nil, true, unsupported(n)
			}
		}
		return counts, true, nil
	case "to_h":
		if len(args) != 0 {
			break
		}
		h := newHash()
		for i, e := range elems {
			pair := e
			if blk != nil {
				r, err := call(e)
				if err != nil {
					return nil, true, err
				}
				pair = r
			}
			p, isArray := pair.(*Array)
			if !isArray {
				return nil, true, typeErr(n, "wrong element type %s at %d (expected array)", className(pair), i)
			}
			if len(p.elems) != 2 {
				return nil, true, argErr(n, "wrong array length at %d (expected 2, was %d)", i, len(p.elems))
			}
			if !h.set(p.elems[0], p.elems[1]) {
				return nil, true, unsupported(n)
			}
		}
		return h, true, nil
	case "zip":
		others := make([][]Value, len(args))
		for i, a := range args {
			o, isArray := a.(*Array)
			if !isArray {
				if r, isRange := a.(*Range); isRange {
					vals, err := ev.rangeElems(r, n)
					if err != nil {
						return nil, true, err
					}
					others[i] = vals
					continue
				}
				return nil, true, typeErr(n, "wrong argument type %s (must respond to :each)", className(a))
			}
			others[i] = o.elems
		}
		out := make([]Value, len(elems))
		for i, e := range elems {
			row := []Value{e}
			for _, o := range others {
				if i < len(o) {
					row = append(row, o[i])
				} else {
					row = append(row, nil)
				}
			}
			out[i] = &Array{elems: row}
		}
		if blk != nil {
			for _, r := range out {
				if _, err := call(r); err != nil {
					return nil, true, err
				}
			}
			return nil, true, nil
		}
		return list(out)
	case "sort_by", "min_by", "max_by", "uniq", "sum", "find_index", "index", "take_while", "drop_while", "sort", "min", "max", "one?", "each_entry":
		if blk == nil || name == "sum" && len(args) > 1 {
			break
		}
		return ev.enumBlock(elems, name, args, blk, n)
	case "drop", "take":
		if len(args) != 1 || blk != nil {
			break
		}
		k, err := intArg(0)
		if err != nil {
			return nil, true, err
		}
		if k < 0 {
			return nil, true, argErr(n, "attempt to %s negative size", name)
		}
		k = min(k, int64(len(elems)))
		if name == "take" {
			return list(append([]Value(nil), elems[:k]...))
		}
		return list(append([]Value(nil), elems[k:]...))
	case "minmax":
		if len(args) != 0 || blk != nil {
			break
		}
		lo, err := ev.arrayMethod(&Array{elems: elems}, "min", nil, nil, n)
		if err != nil {
			return nil, true, err
		}
		hi, err := ev.arrayMethod(&Array{elems: elems}, "max", nil, nil, n)
		if err != nil {
			return nil, true, err
		}
		return list([]Value{lo, hi})
	case "each_with_index", "each", "map", "collect", "select", "filter", "reject", "filter_map", "flat_map":
		if blk == nil && len(args) == 0 {
			return &enumerator{elems: elems, meth: name}, true, nil
		}
	}
	return nil, false, nil
}

// enumBlock implements the Enumerable methods that take a block and
// compare or pick elements with it.
func (ev *evaluator) enumBlock(elems []Value, name string, args []Value, blk *block, n node) (Value, bool, error) {
	keys := make([]Value, len(elems))
	for i, e := range elems {
		if err := ev.tick(n); err != nil {
			return nil, true, err
		}
		if name == "sort" {
			break
		}
		k, err := blk.fn([]Value{e})
		if err != nil {
			return nil, true, err
		}
		keys[i] = k
		switch name {
		case "find_index", "index":
			if truthy(k) {
				return int64(i), true, nil
			}
		case "take_while":
			if !truthy(k) {
				return &Array{elems: append([]Value(nil), elems[:i]...)}, true, nil
			}
		case "drop_while":
			if !truthy(k) {
				return &Array{elems: append([]Value(nil), elems[i:]...)}, true, nil
			}
		}
	}
	switch name {
	case "find_index", "index":
		return nil, true, nil
	case "take_while":
		return &Array{elems: append([]Value(nil), elems...)}, true, nil
	case "drop_while":
		return &Array{}, true, nil
	case "sum":
		init := Value(int64(0))
		if len(args) == 1 {
			init = args[0]
		}
		v, err := ev.sum(keys, init, n)
		return v, true, err
	case "one?":
		c := 0
		for _, k := range keys {
			if truthy(k) {
				c++
			}
		}
		return c == 1, true, nil
	case "uniq":
		seen := newHash()
		var out []Value
		for i, k := range keys {
			if _, dup := seen.get(k); dup {
				continue
			}
			if !seen.set(k, true) {
				return nil, true, unsupported(n)
			}
			out = append(out, elems[i])
		}
		return &Array{elems: out}, true, nil
	case "sort_by", "min_by", "max_by":
		idx := make([]int, len(elems))
		for i := range idx {
			idx[i] = i
		}
		bad := false
		sort.SliceStable(idx, func(a, b int) bool {
			c, ok := compare(keys[idx[a]], keys[idx[b]])
			if !ok {
				bad = true
			}
			return c < 0
		})
		if bad {
			return nil, true, argErr(n, "comparison of %s with %s failed", className(keys[0]), className(keys[len(keys)-1]))
		}
		if name == "sort_by" {
			out := make([]Value, len(idx))
			for i, j := range idx {
				out[i] = elems[j]
			}
			return &Array{elems: out}, true, nil
		}
		if len(idx) == 0 {
			return nil, true, nil
		}
		if name == "min_by" {
			return elems[idx[0]], true, nil
		}
		// max_by: the first of the largest.
		best := idx[len(idx)-1]
		for _, j := range idx {
			if c, _ := compare(keys[j], keys[best]); c == 0 {
				return elems[j], true, nil
			}
		}
		return elems[best], true, nil
	case "sort", "min", "max":
		out := append([]Value(nil), elems...)
		var failure error
		sort.SliceStable(out, func(a, b int) bool {
			if failure != nil {
				return false
			}
			r, err := blk.fn([]Value{out[a], out[b]})
			if err != nil {
				failure = err
				return false
			}
			c, isInt := r.(int64)
			if !isInt {
				failure = argErr(n, "comparison of %s with %s failed", className(out[a]), className(out[b]))
				return false
			}
			return c < 0
		})
		if failure != nil {
			return nil, true, failure
		}
		switch name {
		case "min":
			if len(out) == 0 {
				return nil, true, nil
			}
			return out[0], true, nil
		case "max":
			if len(out) == 0 {
				return nil, true, nil
			}
			return out[len(out)-1], true, nil
		}
		return &Array{elems: out}, true, nil
	}
	return nil, false, nil
}

// inject is inject/reduce: with a block, an operator symbol, and an
// optional initial value.
func (ev *evaluator) inject(elems []Value, args []Value, blk *block, n node) (Value, bool, error) {
	var acc Value
	start := 0
	op := ""
	switch {
	case blk != nil && len(args) == 1:
		acc = args[0]
	case blk != nil && len(args) == 0:
		if len(elems) == 0 {
			return nil, true, nil
		}
		acc, start = elems[0], 1
	case blk == nil && len(args) == 1:
		s, isSym := args[0].(Symbol)
		if !isSym {
			return nil, false, nil
		}
		op = string(s)
		if len(elems) == 0 {
			return nil, true, nil
		}
		acc, start = elems[0], 1
	case blk == nil && len(args) == 2:
		s, isSym := args[1].(Symbol)
		if !isSym {
			return nil, false, nil
		}
		acc, op = args[0], string(s)
	default:
		return nil, false, nil
	}
	for _, e := range elems[start:] {
		if err := ev.tick(n); err != nil {
			return nil, true, err
		}
		var err error
		if op != "" {
			acc, err = ev.send(acc, op, []Value{e}, nil, n)
		} else {
			acc, err = blk.fn([]Value{acc, e})
		}
		if err != nil {
			return nil, true, err
		}
	}
	return acc, true, nil
}

// enumeratorMethod runs an enumerator's method with an index
// (with_index, each_with_index) or hands it to the array methods.
func (ev *evaluator) enumeratorMethod(e *enumerator, name string, args []Value, blk *block, n node) (Value, error) {
	switch name {
	case "with_index", "each_with_index", "with_object":
		if blk == nil {
			break
		}
		offset := int64(0)
		if name == "with_index" && len(args) == 1 {
			k, ok := args[0].(int64)
			if !ok && args[0] != nil {
				return nil, typeErr(n, "no implicit conversion of %s into Integer", coerceName(args[0]))
			}
			offset = k
		} else if name == "with_object" && len(args) != 1 || name != "with_object" && len(args) > 1 {
			break
		}
		i := offset
		pairs := make([]Value, len(e.elems))
		for k, x := range e.elems {
			if name == "with_object" {
				pairs[k] = &Array{elems: []Value{x, args[0]}}
				continue
			}
			pairs[k] = &Array{elems: []Value{x, i}}
			i++
		}
		// The block gets (element, index); the enumerator's method decides
		// what to do with the block's results.
		inner := &block{fn: func(a []Value) (Value, error) {
			p := a[0].(*Array)
			return blk.fn(p.elems)
		}}
		r, err := ev.arrayMethod(&Array{elems: pairs}, e.meth, nil, inner, n)
		if err != nil {
			return nil, err
		}
		if name == "with_object" {
			return args[0], nil
		}
		// select/reject keep the elements, not the pairs.
		if out, ok := r.(*Array); ok && (e.meth == "select" || e.meth == "filter" || e.meth == "reject") {
			for k, p := range out.elems {
				out.elems[k] = p.(*Array).elems[0]
			}
		}
		if e.meth == "each" || e.meth == "each_with_index" {
			return &Array{elems: e.elems}, nil
		}
		return r, nil
	case "to_a", "force", "entries":
		return &Array{elems: append([]Value(nil), e.elems...)}, nil
	case "size", "count":
		if blk == nil && len(args) == 0 {
			return int64(len(e.elems)), nil
		}
	case "inspect", "to_s":
		return nil, unsupported(n)
	}
	if e.meth == "each_with_index" {
		pairs := make([]Value, len(e.elems))
		for k, x := range e.elems {
			pairs[k] = &Array{elems: []Value{x, int64(k)}}
		}
		return ev.arrayMethod(&Array{elems: pairs}, name, args, blk, n)
	}
	return ev.arrayMethod(&Array{elems: e.elems}, name, args, blk, n)
}
