package secrets

import (
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// fakeEnv is the environment the parser sees in tests.
var fakeEnv = map[string]string{"HOME": "/home/u", "EMPTY": "", "USER": "deploy"}

func lookupFake(k string) (string, bool) { v, ok := fakeEnv[k]; return v, ok }

// recordingShell answers $(cmd) from a table and records what it ran.
type recordingShell struct {
	out map[string]string
	ran []string
}

func (r *recordingShell) run(cmd string) (string, error) {
	r.ran = append(r.ran, cmd)
	out, ok := r.out[cmd]
	if !ok {
		return "", errors.New("exit status 1")
	}
	return out, nil
}

func vars(kv ...string) []Var {
	var out []Var
	for i := 0; i < len(kv); i += 2 {
		out = append(out, Var{kv[i], kv[i+1]})
	}
	return out
}

func TestParseDotenv(t *testing.T) {
	shellOut := map[string]string{
		"echo hi":          "hi\n",
		"echo x":           "x\n",
		"echo $(date)":     "today\n",
		"printf 'a\\n\\n'": "a\n\n",
		"kamal version":    "2.12.0\n",
		"echo \\) x":       ")\n",
		"cat key":          "k\r\n",
	}
	tests := []struct {
		name string
		in   string
		want []Var
		ran  []string // commands the shell must have run
	}{
		{"plain", "A=1", vars("A", "1"), nil},
		{"export prefix", "export B=2", vars("B", "2"), nil},
		{"spaces around equals", "C = 3", vars("C", "3"), nil},
		{"colon separator", "D: 4", vars("D", "4"), nil},
		{"comments and blank lines", "# head\n\n  # indented\nE=5 # trailing\n\n", vars("E", "5"), nil},
		{"unquoted ends at hash", "F=a#b", vars("F", "a"), nil},
		{"unquoted trimmed", "F=   a b   ", vars("F", "a b"), nil},
		{"unquoted unescapes", `F=a\tb\\c`, vars("F", `atb\c`), nil},
		{"single quotes literal", `G='$HOME \n #x $(echo hi)'`, vars("G", `$HOME \n #x $(echo hi)`), nil},
		{"double quotes unescape", `H="a \"q\" \\ b"`, vars("H", `a "q" \ b`), nil},
		{"double quotes keep hash", `H="a # b" # c`, vars("H", "a # b"), nil},
		{"backslash n stays two characters", `I="l1\nl2"`, vars("I", `l1\nl2`), nil},
		{"legacy linebreak mode", "DOTENV_LINEBREAK_MODE=legacy\nJ=\"l1\\nl2\\r\"", vars("DOTENV_LINEBREAK_MODE", "legacy", "J", "l1\nl2\r"), nil},
		{"multi-line double quotes", "K=\"line1\nline2\"\nL=2", vars("K", "line1\nline2", "L", "2"), nil},
		{"multi-line single quotes", "K='-----BEGIN\nabc\n-----END'", vars("K", "-----BEGIN\nabc\n-----END"), nil},
		{"empty values", "A=\nB=\"\"\nC=''", vars("A", "", "B", "", "C", ""), nil},
		{"variables from earlier keys", "A=x\nB=$A-${A}", vars("A", "x", "B", "x-x"), nil},
		{"variables from the environment", "B=$HOME:${USER}", vars("B", "/home/u:deploy"), nil},
		{"earlier key wins over environment", "HOME=/mine\nB=$HOME", vars("HOME", "/mine", "B", "/mine"), nil},
		{"unset variable is empty", "B=[$NOPE][${NOPE}]", vars("B", "[][]"), nil},
		{"variable in double quotes", `B="at $USER"`, vars("B", "at deploy"), nil},
		{"escaped dollar not expanded", `B=\$HOME`, vars("B", "$HOME"), nil},
		{"escaped dollar in double quotes", `B="\$HOME \${USER}"`, vars("B", "$HOME ${USER}"), nil},
		{"lone dollar kept", "B=cost $ 5", vars("B", "cost $ 5"), nil},
		{"command substitution", "B=$(echo hi)", vars("B", "hi"), []string{"echo hi"}},
		{"command output loses one newline", `B="$(printf 'a\n\n')"`, vars("B", "a\n"), []string{`printf 'a\n\n'`}},
		{"command output loses CRLF", "B=$(cat key)", vars("B", "k"), []string{"cat key"}},
		{"command sees expanded variables", "A=x\nB=$(echo $A)", vars("A", "x", "B", "x"), []string{"echo x"}},
		{"nested command goes to the shell whole", "B=$(echo $(date))", vars("B", "today"), []string{"echo $(date)"}},
		{"escaped parenthesis inside a command", `B=$(echo \\) x)`, vars("B", ")"), []string{`echo \) x`}},
		{"escaped command not run", `B=\$(echo hi)`, vars("B", "$(echo hi)"), nil},
		{"other kamal commands go to the shell", "V=$(kamal version)", vars("V", "2.12.0"), []string{"kamal version"}},
		{"later key wins keeping its place", "A=1\nB=2\nA=3", vars("A", "3", "B", "2"), nil},
		{"key with dot", "a.b=1", vars("a.b", "1"), nil},
		{"CRLF line endings", "A=1\r\nB=\"2\"\r\n", vars("A", "1", "B", "2"), nil},
		{"export of a set key", "A=1\nexport A", vars("A", "1"), nil},
		{"lines that are not assignments are ignored", "just words\nA=1", vars("A", "1"), nil},
		{"quoted value then junk is unquoted", `A="x" y`, vars("A", `"x" y`), nil},
		{"leading space before quote", "A= 'x y'", vars("A", "x y"), nil},
		{"unicode", "A=\"héllo 世界\"", vars("A", "héllo 世界"), nil},
		{"value on the next line after a bare key", "A=\nB=2", vars("A", "", "B", "2"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := &recordingShell{out: shellOut}
			got, err := ParseDotenv([]byte(tt.in), DotenvOptions{File: ".env", LookupEnv: lookupFake, Shell: sh.run})
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if !reflect.DeepEqual(sh.ran, tt.ran) {
				t.Errorf("shell ran %q, want %q", sh.ran, tt.ran)
			}
		})
	}
}

func TestParseDotenvEnvFirst(t *testing.T) {
	in := []byte("HOME=/mine\nMINE=x\nA=$HOME $MINE")
	got, err := ParseDotenv(in, DotenvOptions{LookupEnv: lookupFake, EnvFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := vars("HOME", "/mine", "MINE", "x", "A", "/home/u x"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseDotenvErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"export of an unset key", "A=1\nexport A NOPE", `.kamal/secrets: line "export A NOPE" has an unset variable`},
		{"failing command", "A=$(false)", ".kamal/secrets: command `false` failed: exit status 1"},
		// The error shows the command as written, not with $S expanded.
		{"failing command hides expanded secrets", "S=topsecret\nA=$(false $S)", ".kamal/secrets: command `false $S` failed: exit status 1"},
		{"unknown adapter inline", "A=$(kamal secrets fetch -a nope x)", ".kamal/secrets: `$(kamal secrets fetch -a nope x)`: Unknown secrets adapter: nope"},
		{"missing account inline", "A=$(kamal secrets fetch -a test x)", ".kamal/secrets: `$(kamal secrets fetch -a test x)`: No value provided for required options '--account'"},
		{"extract of a missing secret", "J=$(kamal secrets fetch -a test --account a x)\nA=$(kamal secrets extract NOPE $J)", ".kamal/secrets: `$(kamal secrets extract NOPE $J)`: Could not find secret NOPE"},
		{"print inline", "A=$(kamal secrets print)", ".kamal/secrets: `$(kamal secrets print)`: `kamal secrets print` cannot be used while the secrets are being loaded"},
		{"unmatched quote inline", `A=$(kamal secrets extract "X Y)`, ".kamal/secrets: `$(kamal secrets extract \"X Y)`: unmatched quote in command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := &recordingShell{}
			_, err := ParseDotenv([]byte(tt.in), DotenvOptions{File: ".kamal/secrets", LookupEnv: lookupFake, Shell: sh.run})
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Error("error leaks a secret value")
			}
		})
	}
}

// captureStderr runs f with os.Stderr redirected and returns what it wrote.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stderr = old }()
	f()
	w.Close()
	os.Stderr = old
	return <-done
}

func TestParseDotenvRealShell(t *testing.T) {
	got, err := ParseDotenv([]byte("A=$(echo one)\nB=\"$(echo $A-two)\""), DotenvOptions{LookupEnv: lookupFake})
	if err != nil {
		t.Fatal(err)
	}
	if want := vars("A", "one", "B", "one-two"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	var perr error
	stderr := captureStderr(t, func() {
		_, perr = ParseDotenv([]byte("A=$(echo oops >&2; exit 3)"), DotenvOptions{File: ".kamal/secrets", LookupEnv: lookupFake})
	})
	want := ".kamal/secrets: command `echo oops >&2; exit 3` failed: exit status 3"
	if perr == nil || perr.Error() != want {
		t.Errorf("error %v, want %q", perr, want)
	}
	if stderr != "oops\n" {
		t.Errorf("stderr %q, want the command's own stderr", stderr)
	}
}

func TestParseDotenvInlineKamalSecrets(t *testing.T) {
	in := `# fetched once, extracted many times
SECRETS=$(kamal secrets fetch --adapter test --account acct --from vault/item abc de.f)
ABC=$(kamal secrets extract abc $SECRETS)
FULL=$(kamal secrets extract vault/item/de.f ${SECRETS})
QUOTED="$(kamal secrets extract 'de.f' $SECRETS --inline)"
RAW=$(kamal secrets fetch -a test --account=acct "two words")
ADAPTER=test
VIA_VARS=$(kamal secrets fetch --adapter $ADAPTER --account ${USER} --from "$HOME" k)
`
	sh := &recordingShell{}
	got, err := ParseDotenv([]byte(in), DotenvOptions{File: ".kamal/secrets", LookupEnv: lookupFake, Shell: sh.run})
	if err != nil {
		t.Fatal(err)
	}
	want := vars(
		"SECRETS", `\{\"vault/item/abc\":\"cba/meti/tluav\",\"vault/item/de.f\":\"f.ed/meti/tluav\"\}`,
		"ABC", "cba/meti/tluav",
		"FULL", "f.ed/meti/tluav",
		"QUOTED", "f.ed/meti/tluav",
		"RAW", `\{\"two\ words\":\"sdrow\ owt\"\}`,
		"ADAPTER", "test",
		"VIA_VARS", `\{\"/home/u/k\":\"k/u/emoh/\"\}`,
	)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if len(sh.ran) != 0 {
		t.Errorf("kamal secrets commands went to the shell: %q", sh.ran)
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a b  c", []string{"a", "b", "c"}},
		{`'a b' "c d" e\ f`, []string{"a b", "c d", "e f"}},
		{`"a\"b\\c\d\$"`, []string{`a"b\c\d$`}},
		{`x'y'"z"`, []string{"xyz"}},
		{`''`, []string{""}},
		{`\{\"A\":\"x\ y\"\}`, []string{`{"A":"x y"}`}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := ShellSplit(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ShellSplit(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `a "b`} {
		if _, err := ShellSplit(bad); err != errUnmatchedQuote {
			t.Errorf("ShellSplit(%q) error %v, want unmatched quote", bad, err)
		}
	}
}

func TestShellEscapeRoundTrip(t *testing.T) {
	tests := map[string]string{
		"":              "''",
		"abc-1.2,3:+/@": "abc-1.2,3:+/@",
		`{"a":"b c"}`:   `\{\"a\":\"b\ c\"\}`,
		"x\ny":          "x'\n'y",
		"é$`'":          "\\é\\$\\`\\'",
	}
	for in, want := range tests {
		got := ShellEscape(in)
		if got != want {
			t.Errorf("ShellEscape(%q) = %q, want %q", in, got, want)
		}
		words, err := ShellSplit(got)
		if err != nil || len(words) != 1 || words[0] != in {
			t.Errorf("ShellSplit(ShellEscape(%q)) = %q, %v", in, words, err)
		}
	}
}

func FuzzParseDotenv(f *testing.F) {
	for _, s := range []string{"A=1", "A=\"x\ny\"", "A='$B'", "A=$(x)", `A=\$(x)`, "export A", "A=${B", "A=\"\\\"", "A: b #c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh := func(string) (string, error) { return "out", nil }
		_, _ = ParseDotenv([]byte(strings.ReplaceAll(s, "kamal", "k")), DotenvOptions{LookupEnv: lookupFake, Shell: sh})
	})
}
