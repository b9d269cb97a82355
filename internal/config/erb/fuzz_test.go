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
		// Numbers and format.
		"<%= ENV.fetch(\"RATIO\", \"0.5\").to_f * 2 %> <%= 2 ** -1.5 %> <%= -2 ** 2 %> <%= 0x1f + 0o17 + 0b1 + 010 %> <%= 1e-5 %> <%= 2.675.round(2) %>",
		"<%= format(\"%05.1f|%-4s|%x\", 3.14159, \"ab\", 255) %> <%= format(\"%<a>s\", a: 1) %> <%= \"%s:%d\" % [\"h\", 22] %> <%= \"%{x}\" % {x: 1} %>",
		// Control flow.
		"<% case ENV[\"X\"] when \"1\", /2/ then %>a<% when 3..4, Integer, ->(v) { v.nil? } %>b<% else %>c<% end %>",
		"<% i = 0 %><% while i < 3 do i += 1; next if i == 1; break if i > 2 end %><%= i %><% i -= 1 until i.zero? %><% loop { break } %><% for k, v in {a: 1} do %><%= k %><% end %>",
		"<%= (1..10).step(3).to_a %> <%= (\"a\"..\"e\").to_a %> <%= \"abcdef\"[1..-2] %> <%= [1, 2, 3][1..] %> <%= (1...).first(2) %>",
		"<% def host(n, d = \"x.io\", *r, k: 1, &b) = \"#{n}.#{d}\" %><% HOSTS = %w[a b] %><%= HOSTS.map { |h| host(h) } %> <%= ->(x) { x * 2 }.(3) %> <%= defined?(HOSTS) %> <%= __FILE__ %>",
		"<% def each_host; yield 1; end %><% each_host { |h| %><%= h %><% } %><%= [1, 2].map(&->(x) { x + 1 }) %>",
		"<%\n  s = <<~EOS\n    a #{1}\n      b\n  EOS\n  t = <<-'X'\n  raw #{x}\n  X\n%><%= s %><%= t %>",
		// Shell, $?, terminal output, regexp globals.
		"<%= `exit 3` %><%= $?.exitstatus %> <%= $?.success? %> <% puts \"x\"; warn \"y\"; $stderr.puts 1; p [1] %>",
		"<% if \"web-42\" =~ /(\\w+)-(\\d+)/ %><%= $1 %><%= $~[2] %><% end %><%= \"a1b2\".scan(/\\d/) %> <%= \"v1\".match(/v(?<n>\\d)/)[:n] %>",
		// Time, libraries, collections, ActiveSupport, YAML.
		"<%= Time.at(0).utc.strftime(\"%c %:z %^a %3N\") %> <%= Date.today >> 1 %> <%= Date.new(2024, 2, -1) %> <%= (Time.now - 60).to_i %>",
		"<%= Base64.strict_encode64(\"a\") %> <%= Shellwords.split(\"a 'b c'\") %> <%= Digest::SHA256.hexdigest(\"x\")[0, 7] %> <%= OpenStruct.new(a: 1).a %> <%= SecureRandom.hex(2).size %>",
		"<%= [1, 2, 3].each_slice(2).to_a %> <%= %w[a b a].tally %> <%= [1, 2].zip([3]) %> <%= (1..4).reduce(:+) %> <%= %w[x y].map.with_index(1) { |h, i| [i, h] }.to_h %>",
		"<%= {a: 1}.each_with_object({}) { |(k, v), h| h[v] = k } %> <%= {a: {b: 1}}.deep_merge(a: {c: 2}) %> <%= ENV.to_h.slice(\"X\") %> <%= ENV.values_at(\"X\", \"Y\") %>",
		"<%= \"active_model/errors\".camelize %> <%= \"Feature/ABC\".parameterize %> <%= \"post\".pluralize %> <%= \"x-men\".titleize %> <%= \"prod\".inquiry.prod? %> <%= \"ab\".center(6, \"*\") %>",
		"<%= YAML.load(\"a: [1, 2.5, yes, ~]\") %> <%= {\"a\" => [1, nil], b: \"yes\"}.to_yaml %> <%= YAML.load_file(\"missing.yml\") rescue 1 %>",
		"<% begin; Integer(\"x\"); rescue ArgumentError, KeyError => e; %><%= e.message %><% else %>no<% ensure %>!<% end %><% v = ENV.fetch(\"NO\") rescue 0 %><%= v %>",
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
			// Nothing runs: a command "exits" with the status its length gives.
			Shell: func(cmd string) (string, error) {
				if len(cmd)%3 == 0 {
					return "", errors.New("no shell in fuzzing")
				}
				if len(cmd)%3 == 1 {
					return cmd + "\n", exitError{len(cmd) % 256}
				}
				return cmd + "\n", nil
			},
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
