package config

import (
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// docSchemas maps each docs file to the schema of its top-level key.
var docSchemas = map[string]struct {
	key    string
	fields []field
}{
	"configuration": {"", rootSchema},
	"role":          {"servers", nil},
	"proxy":         {"proxy", proxySchema},
	"builder":       {"builder", builderSchema},
	"ssh":           {"ssh", sshSchema},
	"sshkit":        {"sshkit", sshkitSchema},
	"boot":          {"boot", bootSchema},
	"logging":       {"logging", loggingSchema},
	"output":        {"output", outputSchema},
	"accessory":     {"accessories", nil},
}

// TestDocsMatchSchema checks that every key the docs show is a key the
// validator accepts, and that every accepted key is documented.
func TestDocsMatchSchema(t *testing.T) {
	for name, ds := range docSchemas {
		text, ok := Docs(name)
		if !ok {
			t.Fatalf("no docs for %s", name)
		}
		// Duplicate keys show alternatives; parse each block separately by
		// reading keys line-wise from the parsed (last-wins) tree and from the
		// raw text.
		n, err := rubyyaml.Parse(name, []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fields := ds.fields
		section := n
		if ds.key != "" {
			section = n.Get(ds.key)
		}
		switch name {
		case "role":
			section, fields = section.Get("workers"), roleSchema
		case "accessory":
			section, fields = section.Get("db"), accessorySchema
		}
		for _, fl := range fields {
			if !strings.Contains(text, fl.name+":") {
				t.Errorf("%s: key %s is not documented", name, fl.name)
			}
		}
		if section == nil || section.Kind != rubyyaml.Map {
			t.Fatalf("%s: no section %q", name, ds.key)
		}
		checkDocKeys(t, name, section, fields)
	}
	for _, s := range DocSections() {
		if _, ok := Docs(s); !ok {
			t.Errorf("section %s not readable", s)
		}
	}
	if _, ok := Docs("nope"); ok {
		t.Error("unknown section found")
	}
	if a, _ := Docs(""); !strings.HasPrefix(a, "# Configuration file") {
		t.Error("overview")
	}
}

func checkDocKeys(t *testing.T, doc string, n *rubyyaml.Node, fields []field) {
	for _, k := range n.Keys {
		fl, ok := lookupField(fields, k)
		if !ok {
			t.Errorf("%s: documented key %s is not in the schema", doc, k)
			continue
		}
		if fl.typ == tHash {
			if v := n.Vals[k]; v != nil && v.Kind == rubyyaml.Map {
				checkDocKeys(t, doc, v, fl.fields)
			}
		}
	}
}

// TestDocExamplesLoad loads configs built from the documented examples.
func TestDocExamplesLoad(t *testing.T) {
	for _, section := range []string{"proxy", "builder", "ssh", "sshkit", "boot", "logging", "output"} {
		text, _ := Docs(section)
		yml := strings.Replace(baseYAML, "builder:\n  arch: amd64\n", "", 1)
		if section != "builder" {
			yml += "builder: {arch: amd64}\n"
		}
		body := text
		if section == "proxy" {
			// pick one form of each alternative
			body = strings.Replace(body, "  host: app.example.com\n", "", 1)
			body = strings.Replace(body, "  ssl: true\n", "", 1)
			body = strings.Replace(body, "  path_prefix: /api\n", "", 1)
		}
		if section == "ssh" {
			body = strings.Replace(body, "  proxy_command: ssh -W %h:%p user@bastion.example.com\n", "", 1)
		}
		if section == "builder" {
			// pack builds one arch only; the example shows two
			body = strings.Replace(body, "  pack:\n    builder: heroku/builder:24\n    buildpacks:\n      - heroku/ruby\n      - heroku/procfile\n", "", 1)
		}
		if _, err := loadYAML(t, yml+body, "", ""); err != nil {
			t.Errorf("%s example: %v", section, err)
		}
	}
}
