package secrets

import (
	"context"
	"strings"
)

// enpass reads an Enpass vault with `enpass-cli`, which works offline on
// the vault files: --from is the vault directory. Names are TITLE (every
// password of the items with that title) or TITLE/LABEL (one field). Keys
// are TITLE, or TITLE/LABEL for labelled fields. enpass-cli asks for the
// master password itself.
type enpass struct{ cli *vendorCLI }

func (e *enpass) Fetch(ctx context.Context, _, from string, names []string) ([]Var, error) {
	c := e.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if from == "" {
		return nil, c.errorf("--from must be the path of the vault")
	}
	if len(names) == 0 {
		return nil, c.errorf("no secrets given to fetch")
	}
	var titles []string
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
		if i := strings.LastIndexByte(n, '/'); i > 0 {
			titles = append(titles, n[:i])
		} else {
			titles = append(titles, n[i+1:])
		}
	}
	titles = unique(titles)
	args := append([]string{"-json", "-vault", from, "show"}, titles...)
	out, err := c.output(ctx, args...)
	if err != nil {
		return nil, c.errorf("could not read %s: %w", strings.Join(titles, ", "), err)
	}
	var cards []struct {
		Title    string `json:"title"`
		Label    string `json:"label"`
		Password string `json:"password"`
	}
	if err := c.decode(out, &cards, "enpass-cli show"); err != nil {
		return nil, err
	}
	var r results
	found := map[string]bool{}
	for _, card := range cards {
		if card.Title == "" || card.Password == "" {
			continue
		}
		key := card.Title
		if card.Label != "" {
			key += "/" + card.Label
		}
		if !wanted[card.Title] && !wanted[key] {
			continue
		}
		if r.has(key) {
			return nil, c.errorf("%s is present more than once", key)
		}
		r.set(key, card.Password)
		found[card.Title], found[key] = true, true
	}
	var missing []string
	for _, n := range names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, c.errorf("could not find %s", strings.Join(unique(missing), ", "))
	}
	return r.vars, nil
}
