package secrets

import (
	"context"
	"encoding/json"
	"os"
	"strings"
)

// doppler reads secrets with `doppler secrets get`. Names are
// PROJECT/CONFIG/NAME, usually written as --from PROJECT/CONFIG plus NAME;
// with a service token (DOPPLER_TOKEN=dp.st...) the token picks the project
// and config and plain names are enough. --account is ignored. Keys are the
// secret names.
type doppler struct {
	cli    *vendorCLI
	getenv func(string) string // nil means os.Getenv
}

func (d *doppler) Fetch(ctx context.Context, _, from string, names []string) ([]Var, error) {
	c := d.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if !c.succeeds(ctx, "me", "--json") {
		if err := c.interactive(ctx, "login", "-y"); err != nil {
			return nil, c.errorf("not logged in and `doppler login` failed: %w", err)
		}
	}
	names = prefixed(from, names)
	if len(names) == 0 {
		return nil, c.errorf("no secrets given to fetch")
	}
	getenv := d.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var flags []string
	if !strings.HasPrefix(getenv("DOPPLER_TOKEN"), "dp.st") {
		parts := strings.Split(names[0], "/")
		if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
			return nil, c.errorf("missing project or config: use --from PROJECT/CONFIG or PROJECT/CONFIG/NAME")
		}
		flags = []string{"-p", parts[0], "-c", parts[1]}
	}
	var keys []string
	for _, n := range names {
		keys = append(keys, n[strings.LastIndexByte(n, '/')+1:])
	}
	keys = unique(keys)
	args := append(append([]string{"secrets", "get"}, keys...), "--json")
	out, err := c.output(ctx, append(args, flags...)...)
	if err != nil {
		return nil, c.errorf("could not read %s: %w", strings.Join(keys, ", "), err)
	}
	var got map[string]struct {
		Computed json.RawMessage `json:"computed"`
	}
	if err := c.decode(out, &got, "doppler secrets get"); err != nil {
		return nil, err
	}
	var r results
	var missing []string
	for _, k := range keys {
		s, ok := got[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		v, _ := jsonText(s.Computed)
		r.set(k, v)
	}
	if len(missing) > 0 {
		return nil, c.errorf("could not find %s", strings.Join(missing, ", "))
	}
	return r.vars, nil
}
