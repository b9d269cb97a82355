package commands

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryCitesNoOutsideDocument keeps the repository self-contained:
// a maintainer has only what is in it, so no file may send them to a
// reference document kept elsewhere. State the fact where it is used.
func TestRepositoryCitesNoOutsideDocument(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	// Built from parts so this file does not match itself.
	var names []string
	for _, n := range []string{"kamal-protocol", "kamal-docs", "kamal-proxy", "testhosts"} {
		names = append(names, n+"."+"md")
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "bin" || d.Name() == "testdata" && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".sh", ".yml", ".yaml", "":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range names {
			if strings.Contains(string(b), n) {
				rel, _ := filepath.Rel(root, p)
				t.Errorf("%s cites %s, a document that is not in the repository", rel, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
