package secrets

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A fake vendor CLI is a shell script placed first on PATH. It appends its
// argv (each argument in brackets, plus chosen environment variables) to a
// log, then answers according to `case "$*"` arms written by the test. Any
// other argv makes it fail with status 97, so a test fails on a call it did
// not plan for.
const fakeScript = `#!/bin/sh
{ printf '%s' '{{NAME}}'; for a in "$@"; do printf ' [%s]' "$a"; done;{{ENV}} printf '\n'; } >> '{{LOG}}'
case "$*" in
{{ARMS}}
*) echo "fake {{NAME}}: unexpected arguments: $*" >&2; exit 97;;
esac
`

type adapterCase struct {
	name          string
	arms          string // case arms of the fake tool; {{DIR}} is its directory
	notInstalled  bool   // PATH holds no tool at all
	env           map[string]string
	account, from string
	names         []string
	wantCalls     []string
	want          []Var
	wantErr       string
	wantStderr    string // a substring the user must see on stderr
}

// runAdapterCases runs every case against the fake tool `bin` of adapter.
// logEnv names environment variables the fake records per call.
func runAdapterCases(t *testing.T, adapter, bin string, logEnv []string, cases []adapterCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "calls.log")
			if tc.notInstalled {
				t.Setenv("PATH", dir)
			} else {
				var env strings.Builder
				for _, name := range logEnv {
					env.WriteString(` [ -n "${` + name + `+x}" ] && printf ' {` + name + `=%s}' "$` + name + `";`)
				}
				script := strings.NewReplacer(
					"{{NAME}}", bin, "{{LOG}}", log, "{{ENV}}", env.String(),
					"{{ARMS}}", strings.ReplaceAll(tc.arms, "{{DIR}}", dir),
				).Replace(fakeScript)
				if err := os.WriteFile(filepath.Join(dir, bin), []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
				t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
			}
			for _, name := range logEnv {
				t.Setenv(name, "") // restored after the test
				os.Unsetenv(name)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}

			var stderr bytes.Buffer
			got, err := Fetch(context.Background(), FetchOptions{
				Adapter: adapter, Account: tc.account, From: tc.from, Names: tc.names,
				Streams: Streams{Stdin: strings.NewReader(""), Stderr: &stderr},
			})

			calls := readCalls(t, log)
			if !reflect.DeepEqual(calls, tc.wantCalls) {
				t.Errorf("calls:\n%s\nwant:\n%s\nstderr: %s", strings.Join(calls, "\n"), strings.Join(tc.wantCalls, "\n"), stderr.String())
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("error\n got %v\nwant %s", err, tc.wantErr)
				}
			} else if err != nil {
				t.Errorf("error: %v\nstderr: %s", err, stderr.String())
			} else if MarshalJSON(got) != MarshalJSON(tc.want) {
				t.Errorf("JSON\n got %s\nwant %s", MarshalJSON(got), MarshalJSON(tc.want))
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
			// Secret values never go to a vendor tool's argv.
			for _, v := range tc.want {
				for _, c := range calls {
					if len(v.Value) >= 4 && strings.Contains(c, v.Value) {
						t.Errorf("secret value %q appears in argv: %s", v.Value, c)
					}
				}
			}
		})
	}
}

func readCalls(t *testing.T, log string) []string {
	t.Helper()
	data, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestFetchOptions(t *testing.T) {
	tests := []struct {
		name string
		o    FetchOptions
		want string
	}{
		{"no adapter", FetchOptions{}, "No value provided for required options '--adapter'"},
		{"unknown adapter", FetchOptions{Adapter: "keychain"}, "Unknown secrets adapter: keychain"},
		{"account required", FetchOptions{Adapter: "1password"}, "No value provided for required options '--account'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fetch(context.Background(), tt.o)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	for _, name := range []string{"1Password", "LASTPASS", "Bitwarden-SM", "GCP"} {
		if _, _, err := LookupAdapter(name, Streams{}); err != nil {
			t.Errorf("LookupAdapter(%q): %v", name, err)
		}
	}
}

func TestTestAdapter(t *testing.T) {
	got, err := Fetch(context.Background(), FetchOptions{Adapter: "test", Account: "x", From: "vault", Names: []string{"ab", "héllo"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := vars("vault/ab", "ba/tluav", "vault/héllo", "olléh/tluav"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestExtract(t *testing.T) {
	doc := `{"vault/item/A":"first","other/A":"second","B":"","N":null,"NUM":42,"OBJ":{"x": 1},"vault/C":"c"}`
	tests := []struct {
		name, key, want, wantErr string
	}{
		{"suffix match takes the first key", "A", "first", ""},
		{"exact key", "other/A", "second", ""},
		{"exact key before suffix", "B", "", ""},
		{"partial path suffix", "item/A", "first", ""},
		{"number as text", "NUM", "42", ""},
		{"object as compact JSON", "OBJ", `{"x":1}`, ""},
		{"null is missing", "N", "", "Could not find secret N"},
		{"missing", "NOPE", "", "Could not find secret NOPE"},
		{"no partial name match", "C/x", "", "Could not find secret C/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract(tt.key, doc)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Extract(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
			}
		})
	}
	for in, want := range map[string]string{
		`{"A":"s3cret"`:   "secrets JSON is not valid JSON (at byte 13)",
		`s3cret`:          "secrets JSON is not valid JSON (at byte 1)",
		`["s3cret"]`:      "secrets JSON is not a JSON object of secrets",
		`{"A":"x"} extra`: "secrets JSON is not valid JSON (at byte 11)",
	} {
		_, err := Extract("A", in)
		if err == nil || err.Error() != want {
			t.Errorf("Extract(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestFormatFetch(t *testing.T) {
	got := MarshalJSON(vars("a/b", `q"\`, "html", "<&>", "ctl", "\n\t\x01", "uni", "é"))
	want := `{"a/b":"q\"\\","html":"<&>","ctl":"\n\t\u0001","uni":"é"}`
	if got != want {
		t.Errorf("MarshalJSON = %s, want %s", got, want)
	}
	if got := FormatFetch(vars("A", "x y"), true); got != `\{\"A\":\"x\ y\"\}` {
		t.Errorf("FormatFetch inline = %s", got)
	}
	if got := FormatFetch(nil, true); got != `\{\}` {
		t.Errorf("FormatFetch(nil) inline = %s", got)
	}
	// Without --inline, Kamal 2.12 prints plain JSON.
	if got := FormatFetch(vars("A", "x y"), false); got != `{"A":"x y"}` {
		t.Errorf("FormatFetch = %s", got)
	}
}

func stringsReplace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
