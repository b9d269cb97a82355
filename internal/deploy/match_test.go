package deploy

import (
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"web", "web", true},
		{"web", "web2", false},
		{"web*", "web-1", true},
		{"*", "anything.example.com", true},
		{"*.example.com", "a.b.example.com", true}, // * crosses dots (and slashes)
		{"1.1.1.*", "1.1.1.12", true},
		{"1.1.1.*", "1.1.2.1", false},
		{"1.1.1.?", "1.1.1.3", true},
		{"1.1.1.?", "1.1.1.33", false},
		{"vm[12]", "vm2", true},
		{"vm[!12]", "vm2", false},
		{"vm[!12]", "vm3", true},
		{"{web,job}s", "jobs", true},
		{"{web,job}s", "dbs", false},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{"a.b", "axb", false}, // dot is literal
		{"{unclosed", "{unclosed", true},
		{"[unclosed", "[unclosed", true},
		{"wörker-*", "wörker-1", true}, // non-ASCII characters stay whole
		{"w?rker", "wörker", true},
		{`\ö*`, "öl", true},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestFilterItemsKeepsFilterOrderWithoutDuplicates(t *testing.T) {
	items := []string{"1.1.1.1", "1.1.1.2", "1.1.1.3"}
	got := filterItems([]string{"1.1.1.3", "1.1.1.*"}, items)
	if want := []string{"1.1.1.3", "1.1.1.1", "1.1.1.2"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
