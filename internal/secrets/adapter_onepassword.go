package secrets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
)

// onePassword reads 1Password items with `op`. Names are
// VAULT/ITEM[/SECTION]/FIELD after --from is put in front; a name without a
// field means the item's password. With --from VAULT/ITEM and no names it
// returns every field of the item. Keys are the field references without
// `op://` and without a trailing `/password`.
type onePassword struct{ cli *vendorCLI }

func (o *onePassword) Fetch(ctx context.Context, account, from string, names []string) ([]Var, error) {
	c := o.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if err := o.signIn(ctx, account); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return o.fetchItem(ctx, account, from)
	}

	type item struct {
		vault, name string
		fields      []string
	}
	var items []*item
	byKey := map[string]*item{}
	for _, ref := range prefixed(from, names) {
		parts := strings.Split(strings.TrimPrefix(ref, "op://"), "/")
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return nil, c.errorf("%q is not VAULT/ITEM[/SECTION][/FIELD] (use --from VAULT or --from VAULT/ITEM)", ref)
		}
		field := "password"
		if len(parts) > 2 {
			field = strings.Join(parts[2:], ".")
		}
		k := parts[0] + "\x00" + parts[1]
		it := byKey[k]
		if it == nil {
			it = &item{vault: parts[0], name: parts[1]}
			byKey[k] = it
			items = append(items, it)
		}
		it.fields = append(it.fields, field)
	}

	var r results
	for _, it := range items {
		labels := make([]string, len(it.fields))
		for i, f := range it.fields {
			labels[i] = "label=" + f
		}
		out, err := c.output(ctx, "item", "get", it.name, "--vault", it.vault, "--format", "json",
			"--account", account, "--fields", strings.Join(labels, ","))
		if err != nil {
			return nil, c.errorf("could not read %s from %s in the %s vault: %w", strings.Join(it.fields, ", "), it.name, it.vault, err)
		}
		var fields []opField
		if t := bytes.TrimSpace(out); len(t) > 0 && t[0] == '{' {
			var one opField
			if err := c.decode(out, &one, "op item get"); err != nil {
				return nil, err
			}
			fields = []opField{one}
		} else if err := c.decode(out, &fields, "op item get"); err != nil {
			return nil, err
		}
		if len(fields) < len(unique(it.fields)) {
			return nil, c.errorf("op returned %d of the %d fields asked from %s in the %s vault", len(fields), len(unique(it.fields)), it.name, it.vault)
		}
		for _, f := range fields {
			if err := f.add(c, &r); err != nil {
				return nil, err
			}
		}
	}
	return r.vars, nil
}

type opField struct {
	Reference string          `json:"reference"`
	Value     json.RawMessage `json:"value"`
}

func (f opField) add(c *vendorCLI, r *results) error {
	if f.Reference == "" {
		return c.errorf("unexpected output from op item get: a field has no reference")
	}
	key := strings.TrimSuffix(strings.TrimPrefix(f.Reference, "op://"), "/password")
	v, _ := jsonText(f.Value)
	r.set(key, v)
	return nil
}

// fetchItem returns every field of the item named by from (VAULT/ITEM).
func (o *onePassword) fetchItem(ctx context.Context, account, from string) ([]Var, error) {
	c := o.cli
	parts := strings.Split(strings.TrimPrefix(from, "op://"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil, c.errorf("give secret names, or --from VAULT/ITEM to fetch every field of an item")
	}
	out, err := c.output(ctx, "item", "get", parts[1], "--vault", parts[0], "--format", "json", "--account", account)
	if err != nil {
		return nil, c.errorf("could not read %s in the %s vault: %w", parts[1], parts[0], err)
	}
	var item struct {
		Fields []opField `json:"fields"`
	}
	if err := c.decode(out, &item, "op item get"); err != nil {
		return nil, err
	}
	var r results
	for _, f := range item.Fields {
		if len(f.Value) == 0 {
			continue
		}
		if err := f.add(c, &r); err != nil {
			return nil, err
		}
	}
	return r.vars, nil
}

// signIn signs in to account unless a session is already active. `op
// signin` prompts on the terminal and prints `export OP_SESSION_x="..."`;
// the token is handed to later calls through the environment. With the
// desktop app integration it prints nothing and needs no token.
func (o *onePassword) signIn(ctx context.Context, account string) error {
	c := o.cli
	if c.succeeds(ctx, "account", "get", "--account", account) {
		return nil
	}
	out, err := c.output(ctx, "signin", "--account", account, "--force")
	if err != nil {
		return c.errorf("not signed in to account %s and signing in failed: %w", account, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		name, value, ok := strings.Cut(rest, "=")
		if !ok || !strings.HasPrefix(name, "OP_SESSION_") {
			continue
		}
		c.env = append(c.env, name+"="+strings.Trim(value, `"'`))
	}
	return nil
}
