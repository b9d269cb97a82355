package commands

import (
	"context"
	"io"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// mvdanShell names mvdan.cc/sh's POSIX interpreter among the test shells:
// a third implementation, run in this process, next to dash and bash.
const mvdanShell = "mvdan-sh"

// runMvdan runs script with mvdan.cc/sh's interpreter in dir; programs run
// as processes found on env's PATH, as in a real shell.
func runMvdan(t *testing.T, ctx context.Context, dir string, env []string, script string, stderr io.Writer) {
	t.Helper()
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), "")
	if err != nil {
		t.Fatalf("mvdan-sh cannot parse %q: %v", script, err)
	}
	r, err := interp.New(interp.Dir(dir), interp.Env(expand.ListEnviron(env...)), interp.StdIO(nil, io.Discard, stderr))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Run(ctx, file) // the exit status of a command run against printers means nothing
}

// payloadVariables are the variables the hostile payloads name.
var payloadVariables = map[string]bool{"A": true, "HOME": true, "1": true, "@": true, "$": true}

// checkParses parses script as POSIX and as bash text and fails when the
// syntax tree calls "pwned" or expands a variable a payload names: the
// shell-independent view of "nothing in a value runs or expands".
func checkParses(t *testing.T, label, script string) {
	t.Helper()
	for _, lang := range []syntax.LangVariant{syntax.LangPOSIX, syntax.LangBash} {
		file, err := syntax.NewParser(syntax.Variant(lang)).Parse(strings.NewReader(script), "")
		if err != nil {
			t.Errorf("%s: does not parse as %s: %v\n%s", label, lang, err, script)
			continue
		}
		syntax.Walk(file, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CallExpr:
				if len(n.Args) > 0 && n.Args[0].Lit() == "pwned" {
					t.Errorf("%s: %s parses a call of pwned", label, lang)
				}
			case *syntax.ParamExp:
				if n.Param != nil && payloadVariables[n.Param.Value] {
					t.Errorf("%s: %s parses an expansion of $%s", label, lang, n.Param.Value)
				}
			}
			return true
		})
	}
}
