package secrets

import (
	"context"
	"strings"
)

// lastPass reads LastPass entries with `lpass`. Names are entry names, or
// FOLDER/NAME (--from FOLDER puts the folder in front). Keys are the entry's
// full name; the value is its password.
type lastPass struct{ cli *vendorCLI }

func (l *lastPass) Fetch(ctx context.Context, account, from string, names []string) ([]Var, error) {
	c := l.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if err := l.login(ctx, account); err != nil {
		return nil, err
	}
	names = prefixed(from, names)
	if len(names) == 0 {
		return nil, c.errorf("no secrets given to fetch")
	}
	args := append([]string{"show"}, names...)
	out, err := c.output(ctx, append(args, "--json")...)
	if err != nil {
		return nil, c.errorf("could not read %s: %w", strings.Join(names, ", "), err)
	}
	var entries []struct {
		Fullname string `json:"fullname"`
		Password string `json:"password"`
	}
	if err := c.decode(out, &entries, "lpass show"); err != nil {
		return nil, err
	}
	var r results
	for _, e := range entries {
		r.set(e.Fullname, e.Password)
	}
	if missing := r.lacking(names); len(missing) > 0 {
		return nil, c.errorf("could not find %s", strings.Join(missing, ", "))
	}
	return r.vars, nil
}

// login logs in as account unless lpass already is; `lpass login` asks for
// the master password itself.
func (l *lastPass) login(ctx context.Context, account string) error {
	c := l.cli
	out, err := c.run(ctx, true, "status", "--color", "never")
	if err == nil && strings.TrimSpace(string(out)) == "Logged in as "+account+"." {
		return nil
	}
	if err := c.interactive(ctx, "login", account); err != nil {
		return c.errorf("not logged in as %s and logging in failed: %w", account, err)
	}
	return nil
}
