package archtest

import (
	"bytes"
	"cmp"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/packages"
)

// maxMethods is the most methods one type may declare: past it, a type
// holds several concerns and wants splitting into small types.
const maxMethods = 80

// moduleRoot is the repository's root, two levels above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

// walkFiles calls fn for every file of the repository's working tree
// but for git's own and build outputs (bin/).
func walkFiles(t *testing.T, root string, fn func(path string)) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" || d.IsDir() && p == filepath.Join(root, "bin") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // a worktree's .git file
		}
		if d.Type().IsRegular() {
			fn(p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// loadPackages type-checks every package of the module (without tests)
// once, from source: export data would hold only the exported names.
var loadPackages = sync.OnceValues(func() ([]*packages.Package, error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	cfg := &packages.Config{Dir: root, Mode: packages.NeedName | packages.NeedSyntax | packages.NeedTypes}
	return packages.Load(cfg, "./...")
})

func typedPackages(t *testing.T) []*packages.Package {
	t.Helper()
	pkgs, err := loadPackages()
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("loaded %d packages, expected the whole module", len(pkgs))
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Errorf("%s: %v", p.PkgPath, e)
		}
	}
	return pkgs
}

// TestNoInitFunctions: wiring is by plain calls, which a reader can follow
// from main; an init function runs behind their back. Test files may.
func TestNoInitFunctions(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	files := 0
	walkFiles(t, root, func(p string) {
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Error(err)
			return
		}
		files++
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
				rel, _ := filepath.Rel(root, fset.Position(fn.Pos()).Filename)
				t.Errorf("%s:%d: func init; call the setup from where it is needed", rel, fset.Position(fn.Pos()).Line)
			}
		}
	})
	if files < 100 {
		t.Fatalf("read %d Go files, expected the whole repository", files)
	}
}

// TestNoFunctionVariables: a package-level variable holding a function
// stands in for a direct call (usually so that a test can swap it), and a
// reader cannot tell what runs. Pass the function in (a field, an option)
// instead; test files may keep their own.
func TestNoFunctionVariables(t *testing.T) {
	for _, p := range typedPackages(t) {
		scope := p.Types.Scope()
		for _, name := range scope.Names() {
			v, ok := scope.Lookup(name).(*types.Var)
			if !ok {
				continue
			}
			if _, isFunc := v.Type().Underlying().(*types.Signature); isFunc {
				pos := p.Fset.Position(v.Pos())
				t.Errorf("%s:%d: package-level function variable %s.%s", pos.Filename, pos.Line, p.PkgPath, name)
			}
		}
	}
}

// TestMethodsPerType keeps types small: one concern each, with the few
// collaborators it needs (see docs/architecture.md).
func TestMethodsPerType(t *testing.T) {
	type count struct {
		name    string
		methods int
	}
	var counts []count
	for _, p := range typedPackages(t) {
		scope := p.Types.Scope()
		for _, name := range scope.Names() {
			tn, ok := scope.Lookup(name).(*types.TypeName)
			if !ok || tn.IsAlias() {
				continue
			}
			if named, ok := tn.Type().(*types.Named); ok {
				counts = append(counts, count{p.PkgPath + "." + name, named.NumMethods()})
			}
		}
	}
	slices.SortFunc(counts, func(a, b count) int { return cmp.Compare(b.methods, a.methods) })
	for i, c := range counts {
		if c.methods > maxMethods {
			t.Errorf("%s has %d methods (at most %d): split it by concern", c.name, c.methods, maxMethods)
		} else if i < 3 {
			t.Logf("%s: %d methods", c.name, c.methods)
		}
	}
}

// TestRepositoryCitesNoOutsideDocument keeps the repository self-contained:
// a maintainer has only what is in it, so no file may send them to a
// reference document kept elsewhere. State the fact where it is used.
func TestRepositoryCitesNoOutsideDocument(t *testing.T) {
	root := moduleRoot(t)
	// Built from parts so that this file does not match itself.
	var outside []string
	for _, n := range []string{"kamal-protocol", "kamal-docs", "kamal-proxy", "testhosts"} {
		outside = append(outside, n+"."+"md")
	}
	outside = append(outside, "shared"+"/reference", ".."+"/shared")
	files := 0
	walkFiles(t, root, func(p string) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return // binary
		}
		files++
		for _, n := range outside {
			if bytes.Contains(b, []byte(n)) {
				rel, _ := filepath.Rel(root, p)
				t.Errorf("%s cites %s, which is not in the repository", rel, n)
			}
		}
	})
	if files < 100 {
		t.Fatalf("read %d files, expected the whole repository", files)
	}
}
