package commands

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strings"
	"testing"
)

// commandTypes are the result types that carry commands.
var commandTypes = map[string]bool{"Cmd": true, "FileCommands": true, "Login": true, "ClassicPlan": true, "BootConfigFile": true}

// exportedCommandBuilders lists, from this package's source, every exported
// function ("Name") and method ("Type.Name") whose results hold a command.
func exportedCommandBuilders(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() || fd.Type.Results == nil || !returnsCommand(fd.Type.Results) {
				continue
			}
			key := fd.Name.Name
			if fd.Recv != nil {
				key = receiverName(fd.Recv.List[0].Type) + "." + key
			}
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

func returnsCommand(results *ast.FieldList) bool {
	found := false
	for _, r := range results.List {
		ast.Inspect(r.Type, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && commandTypes[id.Name] {
				found = true
			}
			return true
		})
	}
	return found
}

func receiverName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return receiverName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}
