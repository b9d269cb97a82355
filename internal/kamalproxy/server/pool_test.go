package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReadersAndWriterAffinity(t *testing.T) {
	p := newTestProxy(t)
	w, r := newTestApp(t, "writer"), newTestApp(t, "reader")
	so := hostOpts()
	so.WriterAffinityTimeout = time.Minute
	if err := p.router.Deploy("app", []string{w.addr()}, []string{r.addr()}, fastDeploy(), so, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := p.get(t, "x", "/"); !strings.HasPrefix(body, "reader") {
		t.Fatalf("GET went to %q", body)
	}
	res, err := http.Post(p.srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(b), "writer") {
		t.Fatalf("POST went to %q", b)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == writerCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no writer affinity cookie")
	}
	req, _ := http.NewRequest(http.MethodGet, p.srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(b), "writer") {
		t.Fatalf("GET with affinity went to %q", b)
	}
}
