package shell

import (
	"os/exec"
	"testing"
)

func TestQuoteRoundTripsThroughSh(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	values := []string{
		"", "plain", "with space", "it's", `"double"`, "$HOME", "${HOME}", "`id`", "$(id)",
		"line1\nline2", "tab\there", "中文 ünïcödé", `back\slash`, "semi;colon && rm -rf /", "'", "''",
		"*", "~", "a\x01b", "-n", "trailing\n",
	}
	for _, v := range values {
		out, err := exec.Command("sh", "-c", "printf %s "+Quote(v)).Output()
		if err != nil {
			t.Fatalf("sh failed for %q (quoted %s): %v", v, Quote(v), err)
		}
		if string(out) != v {
			t.Errorf("Quote(%q) = %s, shell printed %q", v, Quote(v), out)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"":           "''",
		"abc":        "abc",
		"a b":        "'a b'",
		"it's":       `'it'\''s'`,
		"$x":         "'$x'",
		"/a/b-c.d:e": "/a/b-c.d:e",
		"a\nb":       "'a\nb'",
		"中":          "'中'",
	}
	for in, want := range tests {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
	if got := QuoteAll("a", "b c"); got != "a 'b c'" {
		t.Errorf("QuoteAll = %q", got)
	}
}

// Expected values follow Ruby's String#dump and Kamal's escape_shell_value.
func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		// The reference's generated example.
		{"a $HOME ${HOME} `x` \"q\" 中文", "\"a \\$HOME ${HOME} \\`x\\` \\\"q\\\" \"中文"},
		{"", ""},
		{"plain", `"plain"`},
		{"a\nb", `"a\nb"`},
		{"tab\t", `"tab\t"`},
		{"\r\f\v\b\a\x1b", `"\r\f\v\b\a\e"`},
		{"\x00\x01\x7f", `"\x00\x01\x7F"`},
		{`back\slash`, `"back\\slash"`},
		{"#{x}", `"\#{x}"`},
		{"#$x", `"\#\$x"`},
		{"#@x", `"\#@x"`},
		{"#x", `"#x"`},
		{"${unclosed", `"\${unclosed"`},
		{"$", `"\$"`},
		{"${a}$b", `"${a}\$b"`},
		{"it's", `"it's"`},
		{"中文", "中文"},
		{"a中b", `"a"中"b"`},
		{"${中}", `"\${"中"}"`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestEnvFile(t *testing.T) {
	tests := []struct {
		name string
		vars []KV
		want string
	}{
		{"empty", nil, "\n"},
		{"reference example", []KV{{"A", `a "b" #c $d 中文`}, {"B", "line1\nline2"}},
			"A=a \"b\" #c $d 中文\nB=line1\\nline2\n"},
		{"empty value", []KV{{"E", ""}}, "E=\n"},
		{"interpolation hash", []KV{{"H", "#{x} #$y"}}, "H=#{x} #$y\n"},
		{"backslash", []KV{{"S", `a\b`}}, "S=a\\\\b\n"},
		{"backslash quote", []KV{{"Q", `\"`}}, "Q=\\\\\"\n"},
		{"control", []KV{{"C", "\t\x01"}}, "C=\\t\\x01\n"},
		{"backtick dollar untouched", []KV{{"D", "`$x`"}}, "D=`$x`\n"},
		{"order kept", []KV{{"Z", "1"}, {"A", "2"}}, "Z=1\nA=2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EnvFile(tt.vars); got != tt.want {
				t.Errorf("EnvFile = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	tests := []struct {
		tokens []string
		want   string
	}{
		{[]string{"docker", "ps"}, "docker ps"},
		{[]string{"mkdir", "-p", ".kamal"}, "/usr/bin/env mkdir -p .kamal"},
		{[]string{"sh -c 'x'"}, "sh -c 'x'"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Command(tt.tokens...); got != tt.want {
			t.Errorf("Command(%q) = %q, want %q", tt.tokens, got, tt.want)
		}
	}
	got := WithEnv([]KV{{"BUILDKIT_NO_CLIENT_TOKEN", "1"}}, "docker buildx build")
	if want := `( export BUILDKIT_NO_CLIENT_TOKEN="1" ; docker buildx build )`; got != want {
		t.Errorf("WithEnv = %q, want %q", got, want)
	}
}

func TestWithEnvValuesReachTheCommandUnexpanded(t *testing.T) {
	values := []string{"1", `say "hi"`, "$HOME", "${HOME}", "`id`", "$(id)", `back\slash`, `trailing\`, "it's", "line1\nline2"}
	for _, v := range values {
		line := WithEnv([]KV{{"V", v}}, `printf %s "$V"`)
		out, err := exec.Command("sh", "-c", line).Output()
		if err != nil {
			t.Fatalf("sh failed for %q (%s): %v", v, line, err)
		}
		if string(out) != v {
			t.Errorf("%s printed %q, want %q", line, out, v)
		}
	}
}
