package rubyyaml

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestPsychScalarTyping: the values Psych gives for the scalars of issue
// 20 item 3. Expected values follow Psych's ScalarScanner (Ruby 3.4,
// Psych 5) and Ruby's printing (Date#to_s, Time#to_s, Integer#to_s).
func TestPsychScalarTyping(t *testing.T) {
	tests := []struct {
		name, yaml string
		kind       Kind
		text       string // Ruby's to_s of the value
	}{
		// base 60: each part times 60^2, 60^1, 60^0 from the left
		{"two-part base 60", "v: 1:30", Int, "5400"},
		{"leading zero", "v: 03:30", Int, "12600"},
		{"big first part", "v: 2222:22", Int, "8000520"},
		{"three parts", "v: 1:30:00", Int, "5400"},
		{"signed first part", "v: -1:30", Int, "-1800"},
		{"base 60 float", "v: 1:30.5", Float, "5430.0"},
		{"not base 60 (80 > 59)", "v: 8080:80", String, "8080:80"},
		// dates and timestamps
		{"date", "v: 2024-01-15", Date, "2024-01-15"},
		{"single-digit date", "v: 2024-1-5", Date, "2024-01-05"},
		{"impossible date stays a string", "v: 2024-02-30", String, "2024-02-30"},
		{"UTC timestamp", "v: 2024-01-15T10:20:30Z", Time, "2024-01-15 10:20:30 UTC"},
		{"timestamp with offset", "v: 2024-01-15 10:20:30 +01:00", Time, "2024-01-15 10:20:30 +0100"},
		{"timestamp with short offset", "v: 2024-01-15 10:20:30 -5", Time, "2024-01-15 10:20:30 -0500"},
		// nulls in any case, booleans in any case
		{"nUlL", "v: nUlL", Null, ""},
		{"NuLl", "v: NuLl", Null, ""},
		{"yEs", "v: yEs", Bool, "true"},
		{"oFF", "v: oFF", Bool, "false"},
		{"six letters are a string", "v: nullnu", String, "nullnu"},
		// integers of any size
		{"beyond 64 bits", "v: 99999999999999999999", Int, "99999999999999999999"},
		{"negative beyond 64 bits", "v: -0x1_0000_0000_0000_0000", Int, "-18446744073709551616"},
		{"octal with comma", "v: 0,7", Int, "7"},
		// tags
		{"!!binary", "v: !!binary aGVsbG8=", String, "hello"},
		{"!!float of an integer", "v: !!float 1", Float, "1.0"},
		{"!!float of a quoted integer", "v: !!float '2'", Float, "2.0"},
		{"!!int of a quoted number", "v: !!int \"12\"", Int, "12"},
		{"!!str of a number", "v: !!str 12", String, "12"},
		{"!ruby/symbol", "v: !ruby/symbol deploy", Symbol, "deploy"},
		// %YAML 1.2 is read like 1.1 (scalars typed the same)
		{"%YAML 1.2", "%YAML 1.2\n---\nv: yes", Bool, "true"},
		// symbols stay symbols
		{"symbol", "v: :deploy", Symbol, "deploy"},
		{"quoted symbol", "v: :\"web app\"", Symbol, "web app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse("f.yml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			v := n.Get("v")
			if v.Kind != tt.kind || v.Text() != tt.text {
				t.Errorf("got kind %v %q, want kind %v %q", v.Kind, v.Text(), tt.kind, tt.text)
			}
		})
	}
}

func TestPsychLocalTimestamp(t *testing.T) {
	// Without a zone Psych reads the time as UTC and gives it in the local
	// zone (Time.at), so it is not a UTC time.
	n, err := Parse("f.yml", []byte("v: 2024-01-15 10:20:30.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	v := n.Get("v")
	want := time.Date(2024, 1, 15, 10, 20, 30, 500000000, time.UTC)
	if v.Kind != Time || !v.Time.Equal(want) || v.Time.Location() == time.UTC {
		t.Errorf("got %v %v", v.Kind, v.Time)
	}
}

func TestPsychFloatTagErrors(t *testing.T) {
	for src, want := range map[string]string{
		"v: !!float abc": `f.yml:1: invalid value for Float(): "abc"`,
		"v: !!float ~":   "f.yml:1: can't convert nil into Float",
	} {
		_, err := Parse("f.yml", []byte(src))
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", src, err, want)
		}
	}
	if n, _ := Parse("f.yml", []byte("v: !!float .inf")); !math.IsInf(n.Get("v").Float, 1) {
		t.Error("!!float .inf")
	}
}

// TestPsychDocumentEdges: a byte order mark, merge keys and multiple
// documents, as Psych reads them.
func TestPsychDocumentEdges(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // the document as Dump writes it
	}{
		{"BOM: the mapping sits one column in and ends at the next line in column 0",
			"\ufeffservice: app\nimage: x\n", "---\nservice: app\n"},
		{"only the first document is read", "a: 1\n---\nb: [\n", "---\na: 1\n"},
		{"merge of an alias of a list is not done",
			"l: &l [{a: 1}]\nm:\n  <<: *l\n  b: 2\n", "---\nl:\n- a: 1\nm:\n  '<<':\n  - a: 1\n  b: 2\n"},
		{"merge of a list written in place",
			"p: &p {a: 1}\nq: &q {a: 2, b: 2}\nm:\n  <<: [*p, *q]\n", "---\np:\n  a: 1\nq:\n  a: 2\n  b: 2\nm:\n  a: 1\n  b: 2\n"},
		{"a list holding a scalar is kept under <<",
			"x: &x {a: 1}\nm:\n  <<: [*x, 3]\n", "---\nx:\n  a: 1\nm:\n  '<<':\n  - a: 1\n  - 3\n"},
		{"quoted \"<<\" merges", "b: &b {a: 1}\nm:\n  \"<<\": *b\n", "---\nb:\n  a: 1\nm:\n  a: 1\n"},
		{"!!str << does not merge", "b: &b {a: 1}\nm:\n  !!str <<: *b\n", "---\nb:\n  a: 1\nm:\n  '<<':\n    a: 1\n"},
		{"dates and times print as Psych writes them",
			"d: 2024-01-15\nt: 2024-01-15T10:20:30Z\no: 2024-01-15 10:20:30.25 +01:00\n",
			"---\nd: 2024-01-15\nt: 2024-01-15 10:20:30.000000000 Z\no: 2024-01-15 10:20:30.250000000 +01:00\n"},
		{"binary that is not text prints as base64", "b: !!binary /w==\n", "---\nb: !binary |-\n  /w==\n"},
		{"binary that is ASCII prints as text", "b: !!binary aGVsbG8=\n", "---\nb: hello\n"},
		{"big integers print as numbers", "i: 99999999999999999999\n", "---\ni: 99999999999999999999\n"},
		{"strings that would read as dates are quoted", "s: '2024-01-15'\n", "---\ns: '2024-01-15'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse("f.yml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := Dump(n); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if !strings.Contains(Dump(NewString("2024-01-15")), "'") {
		t.Error("a date-like string must be quoted")
	}
}
