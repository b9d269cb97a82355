package secrets

import (
	"context"
	"strings"
)

// bitwardenSM reads Bitwarden Secrets Manager secrets with `bws`, which
// authenticates with BWS_ACCESS_TOKEN. Names are secret IDs, or the single
// name `all` (every secret the machine account sees) or PROJECT_ID/all;
// --from is put in front. Keys are the secrets' keys.
type bitwardenSM struct{ cli *vendorCLI }

type bwsSecret struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

func (b *bitwardenSM) Fetch(ctx context.Context, _, from string, names []string) ([]Var, error) {
	c := b.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if !c.succeeds(ctx, "run", "echo OK") {
		return nil, c.errorf("could not authenticate; is BWS_ACCESS_TOKEN set to a valid access token?")
	}
	if len(names) == 0 {
		return nil, c.errorf("nothing to fetch: give secret IDs, `all` or PROJECT_ID/all")
	}
	names = prefixed(from, names)

	var r results
	add := func(s bwsSecret) error {
		if s.Key == nil || s.Value == nil {
			return c.errorf("unexpected output from bws: a secret has no key or value")
		}
		r.set(*s.Key, *s.Value)
		return nil
	}
	if len(names) == 1 && (names[0] == "all" || strings.HasSuffix(names[0], "/all")) {
		args := []string{"secret", "list"}
		if project := strings.TrimSuffix(names[0], "/all"); names[0] != "all" {
			args = append(args, project)
		}
		out, err := c.output(ctx, append(args, "--output", "json")...)
		if err != nil {
			return nil, c.errorf("could not list secrets: %w", err)
		}
		var list []bwsSecret
		if err := c.decode(out, &list, "bws secret list"); err != nil {
			return nil, err
		}
		for _, s := range list {
			if err := add(s); err != nil {
				return nil, err
			}
		}
		return r.vars, nil
	}
	for _, id := range names {
		out, err := c.output(ctx, "secret", "get", id, "--output", "json")
		if err != nil {
			return nil, c.errorf("could not read %s: %w", id, err)
		}
		var s bwsSecret
		if err := c.decode(out, &s, "bws secret get"); err != nil {
			return nil, err
		}
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return r.vars, nil
}
