package remote

import (
	"fmt"
	"path"
	"strings"
)

// FilterItems returns the items matched by any filter, like Kamal's
// filter_specific_items: filters are tried in order, each adds the items it
// matches (in item order), duplicates are dropped. A filter matches like
// Ruby's File.fnmatch: * and ? wildcards and [...] classes. An invalid
// pattern only matches itself literally.
func FilterItems(filters, items []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range filters {
		for _, it := range items {
			if seen[it] {
				continue
			}
			ok, err := path.Match(f, it)
			if err != nil {
				ok = f == it
			}
			if ok {
				seen[it] = true
				out = append(out, it)
			}
		}
	}
	return out
}

// FilterFlag applies a comma-separated --hosts or --roles value (flag is
// "hosts" or "roles") to items. No match is Kamal's error
// "No --hosts match for <value>".
func FilterFlag(flag, value string, items []string) ([]string, error) {
	var filters []string
	for _, f := range strings.Split(value, ",") {
		if f = strings.TrimSpace(f); f != "" {
			filters = append(filters, f)
		}
	}
	matched := FilterItems(filters, items)
	if len(matched) == 0 {
		//lint:ignore ST1005 Kamal's message, word for word
		return nil, fmt.Errorf("No --%s match for %s", flag, strings.Join(filters, ","))
	}
	return matched, nil
}
