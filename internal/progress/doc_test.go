package progress

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// jsonFields are the JSON names of t's fields, in order.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "-" && name != "" {
			names = append(names, name)
		}
	}
	return names
}

// TestDocumentedJSONEvents keeps docs/output.md and the events in step:
// one section per event type, whose table lists exactly its fields, and
// the schema version the document names.
func TestDocumentedJSONEvents(t *testing.T) {
	raw, err := os.ReadFile("../../docs/output.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	_, events, ok := strings.Cut(doc, "## JSON events")
	if !ok {
		t.Fatal("docs/output.md has no JSON events section")
	}
	sections := map[string]string{}
	for _, part := range strings.Split(events, "\n### ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		sections[strings.TrimSpace(title)] = body
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|")
	for _, e := range JSONEvents {
		body, ok := sections[e.Type()]
		if !ok {
			t.Errorf("docs/output.md has no section for %s", e.Type())
			continue
		}
		delete(sections, e.Type())
		var documented []string
		for _, m := range row.FindAllStringSubmatch(body, -1) {
			documented = append(documented, m[1])
		}
		want := jsonFields(reflect.TypeOf(e))
		if !slices.Equal(documented, want) {
			t.Errorf("%s: documented fields %v, the event has %v", e.Type(), documented, want)
		}
	}
	for title := range sections {
		t.Errorf("docs/output.md documents %q, which is no event", title)
	}
	// The hosts of a result name HostResult's fields.
	hosts := regexp.MustCompile("(?m)^\\| `hosts` \\|(.*)$").FindStringSubmatch(doc)
	for _, f := range jsonFields(reflect.TypeOf(HostResult{})) {
		if hosts == nil || !strings.Contains(hosts[1], "`"+f+"`") {
			t.Errorf("the result's hosts row does not name %s", f)
		}
	}
	if !strings.Contains(doc, "`schema_version` (now "+strconv.Itoa(SchemaVersion)+")") ||
		!strings.Contains(doc, "| `schema_version` | the version of these events: "+strconv.Itoa(SchemaVersion)+" |") {
		t.Errorf("docs/output.md does not name schema version %d", SchemaVersion)
	}
}
