package remote

import (
	"reflect"
	"testing"
)

func TestFilterItems(t *testing.T) {
	hosts := []string{"1.1.1.1", "1.1.1.2", "web-1.example.com", "web-2.example.com", "db.example.com"}
	tests := []struct {
		value string
		want  []string
		err   string
	}{
		{"1.1.1.2", []string{"1.1.1.2"}, ""},
		{"1.1.1.*", []string{"1.1.1.1", "1.1.1.2"}, ""},
		{"db*,web-*", []string{"db.example.com", "web-1.example.com", "web-2.example.com"}, ""},
		{"web-?.example.com,web-1*", []string{"web-1.example.com", "web-2.example.com"}, ""},
		{"web-[2].example.com", []string{"web-2.example.com"}, ""},
		{"nope,also-nope", nil, "No --hosts match for nope,also-nope"},
		{"[", nil, "No --hosts match for ["},
	}
	for _, tt := range tests {
		got, err := FilterFlag("hosts", tt.value, hosts)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: err = %v, want %q", tt.value, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v", tt.value, got, err, tt.want)
		}
	}
}
