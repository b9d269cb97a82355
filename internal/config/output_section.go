package config

import "github.com/kamalgo/kamal/internal/config/rubyyaml"

// The output section: where Kamal sends a copy of its output (an
// OpenTelemetry endpoint, a file).

// Output holds the optional output section.
type Output struct {
	OtelEndpoint string
	FilePath     string
}

var outputSchema = []field{
	h("otel", f("endpoint", tString)),
	h("file", f("path", tString)),
}

func (v *validator) validateOutput(n *rubyyaml.Node) {
	if n != nil {
		v.withContext("output", func() { v.validateAgainst(n, outputSchema, false) })
	}
}

func buildOutput(n *rubyyaml.Node) Output {
	return Output{OtelEndpoint: n.Get("otel").Get("endpoint").Text(), FilePath: n.Get("file").Get("path").Text()}
}
