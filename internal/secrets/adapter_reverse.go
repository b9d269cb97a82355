package secrets

import "context"

// reverser is Kamal's `test` adapter: each secret's value is its name
// (with --from in front) reversed. It runs nothing.
type reverser struct{}

func (reverser) Fetch(_ context.Context, _, from string, names []string) ([]Var, error) {
	var r results
	for _, n := range prefixed(from, names) {
		rs := []rune(n)
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		r.set(n, string(rs))
	}
	return r.vars, nil
}
