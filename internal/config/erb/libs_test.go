package erb

import (
	"regexp"
	"testing"
)

// TestLibraries: Base64, Shellwords, Digest and OpenStruct as Ruby's
// libraries document them.
func TestLibraries(t *testing.T) {
	runCases(t, []renderCase{
		{name: "require", src: `<% require "base64"; require "shellwords"; require "digest"; require "securerandom"; require "ostruct"; require "time"; require "digest/sha2" %>ok`, want: "ok"},
		{name: "base64", src: `<%= Base64.strict_encode64("user:pa ss") %> <%= Base64.encode64("hi").inspect %> <%= Base64.decode64("aGk=\n") %> <%= Base64.urlsafe_encode64("\xff\xfe", padding: false) %> <%= Base64.strict_decode64("aGk=") %>`,
			want: `dXNlcjpwYSBzcw== "aGk=\n" hi __4 hi`},
		{name: "base64 long lines", src: `<%= Base64.encode64("a" * 50).lines.map(&:size) %>`, want: "[61, 9]"},
		{name: "base64 invalid", src: `<%= Base64.strict_decode64("a") %>`, err: "config/deploy.yml:1: invalid base64"},
		{name: "shellwords", src: `<%= Shellwords.escape("it's a file") %> <%= "a b".shellescape %> <%= Shellwords.split("a 'b c' \"d\\\"e\"") %> <%= ["x y", "z"].shelljoin %> <%= Shellwords.escape("") %>`,
			want: `it\'s\ a\ file a\ b ["a", "b c", "d\"e"] x\ y z ''`},
		{name: "shellwords unmatched", src: `<%= Shellwords.split("a 'b") %>`, err: `config/deploy.yml:1: Unmatched quote: "a 'b"`},
		{name: "digest", src: `<%= Digest::SHA256.hexdigest("abc") %> <%= Digest::MD5.hexdigest("") %> <%= Digest::SHA1.hexdigest("abc")[0, 8] %> <%= Digest::SHA256.base64digest("abc") %>`,
			want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad d41d8cd98f00b204e9800998ecf8427e a9993e36 ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
		{name: "ostruct", src: `<% os = OpenStruct.new(name: "web", "port" => 80) %><%= os.name %> <%= os.port %> <%= os.missing.inspect %> <%= os[:name] %> <% os.port = 8080 %><%= os.port %> <%= os.to_h %> <%= os %> <%= os.respond_to?(:name) %>`,
			want: `web 80 nil web 8080 {name: "web", port: 8080} #<OpenStruct name="web", port=8080> true`},
	})
}

// TestSecureRandom checks shapes: the values are random.
func TestSecureRandom(t *testing.T) {
	out, err := Render([]byte(`<%= SecureRandom.hex %>|<%= SecureRandom.hex(4) %>|<%= SecureRandom.uuid %>|<%= SecureRandom.alphanumeric(12) %>|<%= SecureRandom.urlsafe_base64 %>|<%= SecureRandom.random_number(10) %>`), (&testEnv{}).options())
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^[0-9a-f]{32}\|[0-9a-f]{8}\|[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\|[A-Za-z0-9]{12}\|[A-Za-z0-9_-]{22}\|[0-9]$`)
	if !want.Match(out) {
		t.Fatalf("got %q", out)
	}
	again, _ := Render([]byte(`<%= SecureRandom.hex %>`), (&testEnv{}).options())
	if string(again) == string(out[:32]) {
		t.Fatal("SecureRandom.hex repeated itself")
	}
}
