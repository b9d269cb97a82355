package config

import (
	"reflect"
	"testing"
)

// TestLogOptionsAsKamalWritesThem: Kamal's argumentize writes key="value"
// for a present value (its to_s, escaped), key=false for false and the key
// alone for a blank value (nil, "", whitespace, [] or {}).
func TestLogOptionsAsKamalWritesThem(t *testing.T) {
	tests := []struct {
		name, options string
		want          []string
	}{
		{"false", "{compress: false}", []string{"--log-opt", "compress=false"}},
		{"true is a present value", "{compress: true}", []string{"--log-opt", `compress="true"`}},
		{"the string false", `{compress: "false"}`, []string{"--log-opt", `compress="false"`}},
		{"blank", "{tag: }", []string{"--log-opt", "tag"}},
		{"empty string", `{tag: ""}`, []string{"--log-opt", "tag"}},
		{"whitespace", `{tag: "  "}`, []string{"--log-opt", "tag"}},
		{"empty list", "{tag: []}", []string{"--log-opt", "tag"}},
		{"number", "{max-file: 3}", []string{"--log-opt", `max-file="3"`}},
		{"float", "{max-file: 3.0}", []string{"--log-opt", `max-file="3.0"`}},
		{"symbol", "{mode: !ruby/symbol non-blocking}", []string{"--log-opt", `mode="non-blocking"`}},
		{"hash as Ruby's to_s", "{labels: {a: 1, b: x}}", []string{"--log-opt", `labels="{\"a\" => 1, \"b\" => \"x\"}"`}},
		{"list as Ruby's to_s", "{env: [A, B]}", []string{"--log-opt", `env="[\"A\", \"B\"]"`}},
		{"in order", "{tag: , compress: false, max-size: 5m}", []string{"--log-opt", "tag", "--log-opt", "compress=false", "--log-opt", `max-size="5m"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, baseYAML+"logging:\n  options: "+tt.options+"\n")
			if got := c.Logging.Args(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := c.Role("web").Logging.Args(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("role: got %q, want %q", got, tt.want)
			}
		})
	}
}
