package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

//go:embed pages/*.html
var builtinFS embed.FS

// errorPages maps a status code to its template.
type errorPages struct {
	pages map[int]*template.Template
}

var builtinPages = mustLoadPages(builtinFS, "pages")

func mustLoadPages(fsys fs.FS, dir string) *errorPages {
	p, err := loadPages(fsys, dir)
	if err != nil {
		panic(err)
	}
	return p
}

// loadErrorPages parses <status>.html files from dir; a directory without any
// usable page is an error, as in the reference.
func loadErrorPages(dir string) (*errorPages, error) {
	p, err := loadPages(os.DirFS(dir), ".")
	if err != nil || len(p.pages) == 0 {
		return nil, ErrUnableToLoadErrorPages
	}
	return p, nil
}

func loadPages(fsys fs.FS, dir string) (*errorPages, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	out := &errorPages{pages: map[int]*template.Template{}}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".html") {
			continue
		}
		code, err := strconv.Atoi(strings.TrimSuffix(name, ".html"))
		if err != nil || code < 400 || code > 599 {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		t, err := template.New(name).Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		out.pages[code] = t
	}
	return out, nil
}

func (p *errorPages) render(code int, data any) ([]byte, bool) {
	if p == nil {
		return nil, false
	}
	t, ok := p.pages[code]
	if !ok {
		return nil, false
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

type pageData struct{ Message string }

// writeErrorPage answers with the proxy's own error: the service's custom
// page, else the built-in one, else a one-line fallback.
func writeErrorPage(w http.ResponseWriter, r *http.Request, code int, data any) {
	if data == nil {
		data = pageData{}
	}
	var pages *errorPages
	if r != nil {
		pages = stateOf(r).pages
	}
	body, ok := pages.render(code, data)
	if !ok {
		body, ok = builtinPages.render(code, data)
	}
	if !ok {
		body = []byte(fmt.Sprintf("<h1>%d %s</h1>", code, http.StatusText(code)))
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r == nil || r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
