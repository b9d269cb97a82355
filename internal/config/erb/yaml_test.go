package erb

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestYAML: YAML.load_file, YAML.load and to_yaml with Psych's typing and
// Psych's output.
func TestYAML(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hosts.yml"), "web:\n  - 10.0.0.1\n  - 10.0.0.2\nport: 8080\nratio: 0.5\nssl: yes\nempty:\n:sym: :val\n")
	writeFile(t, filepath.Join(dir, "broken.yml"), "a: [1, 2\n")
	t.Chdir(dir)
	runCases(t, []renderCase{
		{name: "load_file", src: `<% cfg = YAML.load_file("hosts.yml") %><%= cfg["web"].join(",") %> <%= cfg["port"] + 1 %> <%= cfg["ratio"] * 2 %> <%= cfg["ssl"] %> <%= cfg["empty"].inspect %> <%= cfg[:sym].inspect %>`,
			want: "10.0.0.1,10.0.0.2 8081 1.0 true nil :val"},
		{name: "symbolize_names", src: `<%= YAML.load_file("hosts.yml", symbolize_names: true).keys.first(2) %>`, want: "[:web, :port]"},
		{name: "load", src: `<%= YAML.load("- a\n- 1_000\n- '1'\n") %> <%= YAML.safe_load("x: {y: 1}") %>`, want: `["a", 1000, "1"] {"x" => {"y" => 1}}`},
		{name: "missing file", src: `<%= YAML.load_file("nope.yml") %>`, err: "config/deploy.yml:1: No such file or directory @ rb_sysopen - nope.yml"},
		{name: "to_yaml", src: `<%= {"a" => 1, "b" => [1, "two", nil], c: {d: true}, "e" => "yes", "f" => 1.5}.to_yaml %>`,
			want: "---\na: 1\nb:\n- 1\n- two\n-\n:c:\n  :d: true\ne: 'yes'\nf: 1.5\n"},
		{name: "to_yaml scalars", src: `<%= "text".to_yaml %><%= [].to_yaml %><%= {}.to_yaml %><%= YAML.dump([1]) %>`, want: "--- text\n--- []\n--- {}\n---\n- 1\n"},
		{name: "to_yaml of a shared array", src: `<% a = [1] %><%= {x: a, y: a}.to_yaml %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: {x: a, y: a}.to_yaml"},
	})
	_, err := Render([]byte(`<%= YAML.load_file("broken.yml") %>`), (&testEnv{}).options())
	var e *Error
	if !errors.As(err, &e) || e.Kind() != "Psych::SyntaxError" {
		t.Fatalf("broken YAML: %v", err)
	}
}
