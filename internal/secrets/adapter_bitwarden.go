package secrets

import (
	"context"
	"strings"
)

// bitwarden reads Bitwarden items with `bw`. Names are ITEM (its login
// password, or else all its custom fields) or ITEM/FIELD (one custom field);
// --from ITEM puts the item in front. Keys are ITEM or ITEM/FIELD.
type bitwarden struct{ cli *vendorCLI }

type bwItem struct {
	Login *struct {
		Password *string `json:"password"`
	} `json:"login"`
	Fields []struct {
		Name  string  `json:"name"`
		Value *string `json:"value"`
	} `json:"fields"`
}

func (b *bitwarden) Fetch(ctx context.Context, account, from string, names []string) ([]Var, error) {
	c := b.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if err := b.unlock(ctx, account); err != nil {
		return nil, err
	}
	names = prefixed(from, names)
	if len(names) == 0 {
		return nil, c.errorf("no secrets given to fetch")
	}

	type request struct {
		item   string
		whole  bool
		fields []string
	}
	var reqs []*request
	byItem := map[string]*request{}
	for _, n := range names {
		item, field, hasField := strings.Cut(n, "/")
		if i := strings.IndexByte(field, '/'); i >= 0 {
			field = field[:i]
		}
		req := byItem[item]
		if req == nil {
			req = &request{item: item}
			byItem[item] = req
			reqs = append(reqs, req)
		}
		if hasField {
			req.fields = append(req.fields, field)
		} else {
			req.whole = true
		}
	}

	var r results
	for _, req := range reqs {
		out, err := c.output(ctx, "get", "item", req.item)
		if err != nil {
			return nil, c.errorf("could not read %s: %w", req.item, err)
		}
		var it bwItem
		if err := c.decode(out, &it, "bw get item"); err != nil {
			return nil, err
		}
		fields := req.fields
		if req.whole {
			if it.Login != nil && it.Login.Password != nil {
				r.set(req.item, *it.Login.Password)
			} else if len(it.Fields) > 0 {
				for _, f := range it.Fields {
					fields = append(fields, f.Name)
				}
			} else {
				return nil, c.errorf("item %s is not a login item and no fields were given", req.item)
			}
		}
		for _, name := range fields {
			found := false
			for _, f := range it.Fields {
				if f.Name == name {
					v := ""
					if f.Value != nil {
						v = *f.Value
					}
					r.set(req.item+"/"+name, v)
					found = true
					break
				}
			}
			if !found {
				return nil, c.errorf("could not find field %s in item %s", name, req.item)
			}
		}
	}
	return r.vars, nil
}

// unlock logs in and unlocks the vault as needed, then syncs it. `bw login
// --raw` and `bw unlock --raw` ask for the password and print the session
// key, which later calls get through BW_SESSION.
func (b *bitwarden) unlock(ctx context.Context, account string) error {
	c := b.cli
	status, err := b.status(ctx)
	if err != nil {
		return err
	}
	if status == "unauthenticated" {
		out, err := c.output(ctx, "login", account, "--raw")
		if err != nil {
			return c.errorf("not logged in as %s and logging in failed: %w", account, err)
		}
		b.setSession(string(out))
		if status, err = b.status(ctx); err != nil {
			return err
		}
	}
	if status == "locked" {
		out, err := c.output(ctx, "unlock", "--raw")
		if err != nil {
			return c.errorf("the vault is locked and unlocking it failed: %w", err)
		}
		b.setSession(string(out))
		if status, err = b.status(ctx); err != nil {
			return err
		}
	}
	if status != "unlocked" {
		return c.errorf("could not log in to and unlock the vault (status %q)", status)
	}
	if _, err := c.output(ctx, "sync"); err != nil {
		return c.errorf("could not sync the vault: %w", err)
	}
	return nil
}

func (b *bitwarden) setSession(token string) {
	if token = strings.TrimSpace(token); token != "" {
		b.cli.env = []string{"BW_SESSION=" + token}
	}
}

func (b *bitwarden) status(ctx context.Context) (string, error) {
	c := b.cli
	out, err := c.output(ctx, "status")
	if err != nil {
		return "", c.errorf("could not read the vault status: %w", err)
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := c.decode(out, &st, "bw status"); err != nil {
		return "", err
	}
	return st.Status, nil
}
