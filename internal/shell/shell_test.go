package shell

import (
	"os"
	"os/exec"
	"strings"
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
		// Difference: control characters and #{ #$ #@, which String#dump
		// escapes in a way the shell does not read back, are written as
		// they are inside plain double quotes.
		{"a\nb", "\"a\nb\""},
		{"tab\t", "\"tab\t\""},
		{"\r\f\v\b\a\x1b", "\"\r\f\v\b\a\x1b\""},
		{"\x01\x7f", "\"\x01\x7f\""},
		{"a\n$HOME ${HOME} `x` \"q\" \\", "\"a\n\\$HOME ${HOME} \\`x\\` \\\"q\\\" \\\\\""},
		{`back\slash`, `"back\\slash"`},
		{"#{x}", `"#{x}"`},
		{"#$x", `"#\$x"`},
		{"#@x", `"#@x"`},
		{"#x", `"#x"`},
		{"${unclosed", `"\${unclosed"`},
		{"$", `"\$"`},
		{"${a}$b", `"${a}\$b"`},
		// Difference: only ${NAME} is left for the shell to expand.
		{"${A:=x}${A@P}", `"\${A:=x}\${A@P}"`},
		{"${A:-$(id)}", `"\${A:-\$(id)}"`},
		{"${1}${}${_a1}", `"\${1}\${}${_a1}"`},
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

// hostileValues are values whose every shell-special character must reach
// the program as it is.
var hostileValues = []string{
	"", "plain", "with space", "it's", `"double"`, "$HOME", "`id`", "$(id)", "$((1+1))",
	"line1\nline2", "tab\there", "中文 ünïcödé", `back\slash`, `trailing\`, "semi;colon && rm -rf /", "'", "''",
	"*", "~", "a\x01b\x1b[31m", "-n", "trailing\n", "#{x} #$y #@z", "${A:=$(id)}${A@P}", "${unclosed", "${}",
	"a\\nb", "\\c", "!$ !!", "a\r\n",
}

// shells returns dash and bash; a missing one skips, except under CI.
func shells(t *testing.T) []string {
	var out []string
	for _, name := range []string{"dash", "bash"} {
		p, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed: %v", name, err)
			}
			t.Skipf("%s not installed", name)
		}
		out = append(out, p)
	}
	return out
}

func TestEscapedValuesReachTheProgramIntact(t *testing.T) {
	for _, sh := range shells(t) {
		for _, v := range hostileValues {
			if v == "" {
				continue // Kamal writes nothing for an empty value
			}
			out, err := exec.Command(sh, "-c", "printf %s "+Escape(v)).Output()
			if err != nil {
				t.Fatalf("%s failed for %q (escaped %s): %v", sh, v, Escape(v), err)
			}
			if string(out) != v {
				t.Errorf("%s: Escape(%q) = %s, printed %q", sh, v, Escape(v), out)
			}
		}
	}
}

// ${NAME} is expanded, as in Kamal (for values such as "${HOST_TOKEN}").
func TestEscapeExpandsPlainNames(t *testing.T) {
	for _, sh := range shells(t) {
		cmd := exec.Command(sh, "-c", "printf %s "+Escape("a ${KAMAL_TEST_X} b\n${KAMAL_TEST_X}"))
		cmd.Env = []string{"KAMAL_TEST_X=x y"}
		out, err := cmd.Output()
		if err != nil || string(out) != "a x y b\nx y" {
			t.Errorf("%s: %q, %v", sh, out, err)
		}
	}
}

// DumpWord reads back as String#dump text, with nothing expanded.
func TestDumpWord(t *testing.T) {
	for _, sh := range shells(t) {
		for _, v := range hostileValues {
			out, err := exec.Command(sh, "-c", "printf %s "+DumpWord(v)).Output()
			if err != nil {
				t.Fatalf("%s failed for %q: %v", sh, v, err)
			}
			want := ""
			if v != "" {
				want = mapASCIIRuns(v, func(run string) string { d := Dump(run); return unDump(d[1 : len(d)-1]) })
			}
			if string(out) != want {
				t.Errorf("%s: DumpWord(%q) = %s, printed %q, want %q", sh, v, DumpWord(v), out, want)
			}
		}
	}
}

// unDump reads back what double quotes make of \" and \\.
func unDump(d string) string {
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(d)
}

func TestUnquote(t *testing.T) {
	for _, tc := range []struct {
		word, want string
		ok         bool
	}{
		{"plain", "plain", true},
		{"--target=abc:80", "--target=abc:80", true},
		{`--host="app.example.com"`, "--host=app.example.com", true},
		{`"a \"q\" \\ \$HOME \` + "`x\\`" + `"`, "a \"q\" \\ $HOME `x`", true},
		{`'it'\''s'`, "it's", true},
		{`"中文"中文`, "中文中文", true},
		{`a#b`, "a#b", true},
		{`"$HOME"`, "", false},
		{`${NAME}`, "", false},
		{"a b", "", false},
		{`*.txt`, "", false},
		{`~/x`, "", false},
		{`"open`, "", false},
		{`'open`, "", false},
		{`x;y`, "", false},
		{`#comment`, "", false},
	} {
		got, ok := Unquote(tc.word)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Unquote(%q) = %q, %v; want %q, %v", tc.word, got, ok, tc.want, tc.ok)
		}
	}
	// Every value Quote and Escape write reads back as the value.
	for _, v := range []string{"a b", "it's", `"q"`, "tab\there", "中文 x", "a$b", "back`tick", "new\nline", ""} {
		if got, ok := Unquote(Quote(v)); v != "" && (!ok || got != v) {
			t.Errorf("Unquote(Quote(%q)) = %q, %v", v, got, ok)
		}
		if got, ok := Unquote(Escape(v)); v != "" && (!ok || got != v) {
			t.Errorf("Unquote(Escape(%q)) = %q, %v", v, got, ok)
		}
	}
}
