package rubyyaml

import (
	"math"
	"reflect"
	"testing"
)

func TestResolvePlainScalars(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		want any
	}{
		{"40_000_000", Int, int64(40000000)},
		{"1,000", Int, int64(1000)},
		{"0x1F", Int, int64(31)},
		{"0b101", Int, int64(5)},
		{"0755", Int, int64(493)},
		{"-12", Int, int64(-12)},
		{"1:30", Int, int64(5400)},   // Psych: 1*60^2 + 30*60
		{"22:22", Int, int64(80520)}, // Psych: 22*60^2 + 22*60
		{"8080:80", String, "8080:80"},
		{"3306:3306", String, "3306:3306"},
		{"1.5", Float, 1.5},
		{"1.0e+3", Float, 1000.0},
		{".5", Float, 0.5},
		{"1e5", String, "1e5"},
		{"yes", Bool, true},
		{"No", Bool, false},
		{"ON", Bool, true},
		{"off", Bool, false},
		{"y", String, "y"},
		{"true", Bool, true},
		{"~", Null, nil},
		{"null", Null, nil},
		{"", Null, nil},
		{":verbose", Symbol, "verbose"},
		{`:"quoted sym"`, Symbol, "quoted sym"},
		{":", String, ":"},
		{".inf", Float, math.Inf(1)},
		{"1.1.1.1", String, "1.1.1.1"},
		{"v1.2", String, "v1.2"},
		{"99999999999999999999", Int, "99999999999999999999"}, // a Ruby bignum
	}
	for _, tt := range tests {
		n := tokenize(tt.in, &Node{})
		if n.Kind != tt.kind {
			t.Errorf("%q: kind %v, want %v", tt.in, n.Kind, tt.kind)
			continue
		}
		if got := n.ToAny(); tt.want != nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
