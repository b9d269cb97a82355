package config

import (
	"embed"
	"sort"
	"strings"
)

// The `kamal docs` text: one annotated example per section, in our own words.
// The examples double as a check of the schema (see docs_test.go).
//
//go:embed docs/*.yml
var docsFS embed.FS

var docAliases = map[string]string{
	"accessories": "accessory", "aliases": "alias", "roles": "role", "server": "servers",
	"builders": "builder", "anchor": "anchors", "config": "configuration", "environment": "env",
}

// Docs returns the documentation of section ("" for the overview).
func Docs(section string) (string, bool) {
	name := strings.ToLower(strings.TrimSpace(section))
	if name == "" {
		name = "configuration"
	}
	if a, ok := docAliases[name]; ok {
		name = a
	}
	data, err := docsFS.ReadFile("docs/" + name + ".yml")
	if err != nil {
		return "", false
	}
	return string(data), true
}

// DocSections lists the documented sections.
func DocSections() []string {
	entries, _ := docsFS.ReadDir("docs")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yml"))
	}
	sort.Strings(names)
	return names
}
