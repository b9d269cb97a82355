// Package erb renders the ERB in Kamal config files (config/deploy.yml and
// accessory files) with a small interpreter for the part of Ruby those
// files use; docs/erb.md lists that part. Code outside it fails with
// "unsupported Ruby in ERB" rather than being guessed at, and Ruby's
// exceptions keep their class (*Error.Kind) for kamal's ERROR line.
//
// The pipeline, one file each: template.go cuts the template into text
// and code (trim mode "-"); lexer.go and parser.go (with parser_control.go
// for case, loops, def, lambdas, rescue) build one tree for the whole
// template, so blocks may span tags; eval.go and control.go evaluate it.
// Values are plain Go values (values.go). Methods are found by receiver
// type in builtins.go's send: numbers in numeric.go and format.go, strings
// in strings.go, collections.go and inflect.go (ActiveSupport), arrays and
// hashes in builtins.go, collections.go and enumerable.go, ranges in
// ranges.go, Time and Date in timedate.go, the standard libraries in
// stdlib.go, libs.go, yaml.go and shell.go, terminal output in output.go.
package erb
