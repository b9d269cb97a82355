package erb

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var errLine = regexp.MustCompile(`^config/deploy\.yml:([0-9]+): .`)

// FuzzRender feeds arbitrary templates to Render: it must never panic, and
// every error must name the file and a line of the template.
func FuzzRender(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yml.erb")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"<%= ENV.fetch(\"X\") { raise \"no\" } %>",
		"<% %w[a b].each do |h| %>- <%= h %>\n<% end -%>",
		"<% if x -%>a<% elsif y %>b<% else %>c<% end %>",
		"<%= \"a#{1 + 2}b\".gsub(/(\\d)/, '<\\1>').split(\"<\") %>",
		"<%= {a: [1, nil], \"b\" => :c}.to_json %> <%% %%> <%# c %>",
		"  <%- x = 1 -%>\n<%= x.to_s * 3 %>",
		"<%= `echo hi`.strip %> <%= %x(true) %>",
		"<%= URI.parse(\"https://u:p@h:1/p?q\").port %> <%= Time.now.strftime(\"%F %-d\") %>",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := Options{
			File: "config/deploy.yml",
			Dir:  dir,
			LookupEnv: func(k string) (string, bool) {
				return map[string]string{"X": "1", "HOME": "/home/u"}[k], k == "X" || k == "HOME"
			},
			SetEnv: func(string, string) {},
			Shell:  func(cmd string) (string, error) { return "", errors.New("no shell in fuzzing") },
			Now:    func() time.Time { return time.Unix(0, 0).UTC() },
			Stdout: io.Discard,
			Stderr: io.Discard,
		}
		lines := 1
		for _, c := range src {
			if c == '\n' {
				lines++
			}
		}
		out, err := Render(src, opts)
		if !bytes.Contains(src, []byte("<%")) && !bytes.Contains(src, []byte("%>")) {
			// Without tags a template is plain text and comes out unchanged.
			if err != nil || !bytes.Equal(out, src) {
				t.Fatalf("plain text changed: %q -> %q, %v", src, out, err)
			}
		}
		if err == nil {
			return
		}
		m := errLine.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("error without file and line: %q", err)
		}
		if l, _ := strconv.Atoi(m[1]); l < 1 || l > lines {
			t.Fatalf("error line %d outside the template's %d lines: %q", l, lines, err)
		}
	})
}
