package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestForwardedHeaders(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	p.deploy(t, "fwd", hostOpts("fwd.test"), a)
	noFwd := hostOpts("nofwd.test")
	to := fastTargetOptions()
	to.ForwardHeaders = false
	if err := p.router.Deploy("nofwd", []string{a.addr()}, nil, fastDeploy(), noFwd, to); err != nil {
		t.Fatal(err)
	}
	send := func(host string) http.Header {
		req, _ := http.NewRequest(http.MethodGet, p.srv.URL+"/", nil)
		req.Host = host
		req.Header.Set("X-Forwarded-For", "1.2.3.4")
		req.Header.Set("X-Forwarded-Proto", "https")
		if host == "fwd.test" {
			req.Header.Set("X-Request-Id", "given-id")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header
	}
	h := send("fwd.test")
	if got := h.Get("Echo-X-Forwarded-For"); got != "1.2.3.4, 127.0.0.1" {
		t.Errorf("forwarded XFF = %q", got)
	}
	if got := h.Get("Echo-X-Forwarded-Proto"); got != "https" {
		t.Errorf("forwarded XFP = %q", got)
	}
	if got := h.Get("Echo-X-Request-Id"); got != "given-id" {
		t.Errorf("request id = %q", got)
	}
	if got := h.Values("X-Request-Id"); len(got) != 1 || got[0] != "given-id" {
		t.Errorf("echoed request id = %q", got)
	}
	if got := h.Get("Echo-X-Kamal-Target"); got != a.addr() {
		t.Errorf("X-Kamal-Target = %q", got)
	}
	if got := h.Get("Echo-Host"); got != "fwd.test" {
		t.Errorf("Host = %q", got)
	}
	h = send("nofwd.test")
	if got := h.Get("Echo-X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("XFF without forwarding = %q", got)
	}
	if got := h.Get("Echo-X-Forwarded-Proto"); got != "http" {
		t.Errorf("XFP without forwarding = %q", got)
	}
	if got := h.Get("Echo-X-Forwarded-Host"); got != "nofwd.test" {
		t.Errorf("XFH without forwarding = %q", got)
	}
	start := h.Get("Echo-X-Request-Start")
	var ms int64
	if _, err := fmt.Sscanf(start, "t=%d", &ms); err != nil || ms < time.Now().Add(-time.Minute).UnixMilli() {
		t.Errorf("X-Request-Start = %q", start)
	}
	if id := h.Get("Echo-X-Request-Id"); len(id) != 36 || id[14] != '4' {
		t.Errorf("generated request id = %q", id)
	}
}

func TestRequestBuffering(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.BufferRequests = true
	to.MaxMemoryBufferSize = 10 // force a spill to disk
	to.MaxRequestBodySize = 100
	if err := p.router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	post := func(body io.Reader) (int, string) {
		res, err := http.Post(p.srv.URL+"/?body=1", "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := post(strings.NewReader(strings.Repeat("y", 50))); status != 200 || body != "a got 50 bytes" {
		t.Fatalf("%d %q", status, body)
	}
	// Chunked (unknown length) body within the limit.
	if status, body := post(io.MultiReader(strings.NewReader(strings.Repeat("y", 60)))); status != 200 || body != "a got 60 bytes" {
		t.Fatalf("chunked: %d %q", status, body)
	}
	if status, body := post(strings.NewReader(strings.Repeat("y", 101))); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "413") {
		t.Fatalf("over limit: %d %q", status, body)
	}
}

func TestResponseBuffering(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.BufferResponses = true
	to.MaxMemoryBufferSize = 16
	to.MaxResponseBodySize = 1000
	if err := p.router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	status, body, h := p.get(t, "x", "/?size=900")
	if status != 200 || len(body) != 900 || h.Get("Content-Length") != "900" {
		t.Fatalf("buffered: %d len=%d %v", status, len(body), h)
	}
	status, body, _ = p.get(t, "x", "/?size=1001")
	if status != http.StatusBadGateway || strings.Contains(body, "xxx") {
		t.Fatalf("oversized: %d %q", status, body)
	}
}

func TestResponseBufferingBypassesSSE(t *testing.T) {
	sse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	up := newTestApp(t, "unused")
	up.srv.Config.Handler = sse
	p := newTestProxy(t)
	to := fastTargetOptions()
	to.BufferResponses = true
	if err := p.router.Deploy("app", []string{up.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(p.srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line := make([]byte, len("data: one\n"))
	if _, err := io.ReadFull(res.Body, line); err != nil || string(line) != "data: one\n" {
		t.Fatalf("event not streamed: %q %v", line, err)
	}
}

func TestTargetTimeoutGives504AndRefusedGives502(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.ResponseTimeout = 100 * time.Millisecond
	if err := p.router.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := p.get(t, "x", "/?sleep=2000"); status != http.StatusGatewayTimeout || !strings.Contains(body, "504") {
		t.Fatalf("timeout: %d %q", status, body)
	}
	a.close()
	if status, _, _ := p.get(t, "x", "/"); status != http.StatusBadGateway {
		t.Fatalf("refused: %d", status)
	}
}

func TestCustomErrorPages(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "503.html"), []byte("<p>custom: {{.Message}}</p>"), 0o644)
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	so := hostOpts()
	so.ErrorPagePath = dir
	p.deploy(t, "app", so, a)
	if err := p.router.Stop("app", time.Second, "maintenance"); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := p.get(t, "x", "/"); status != 503 || body != "<p>custom: maintenance</p>" {
		t.Fatalf("%d %q", status, body)
	}
	// Built-in page for codes the directory lacks.
	p.router.Resume("app")
	a.close()
	if status, body, _ := p.get(t, "x", "/"); status != 502 || !strings.Contains(body, "502") {
		t.Fatalf("%d %q", status, body)
	}
	// A directory without pages fails the deploy and leaves the service as it was.
	empty := t.TempDir()
	so.ErrorPagePath = empty
	b := newTestApp(t, "b")
	err := p.router.Deploy("app", []string{b.addr()}, nil, fastDeploy(), so, fastTargetOptions())
	if err == nil || err.Error() != "unable to load error pages" {
		t.Fatalf("err = %v", err)
	}
}

func TestUpstreamErrorsPassThrough(t *testing.T) {
	up := newTestApp(t, "a")
	up.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			return
		}
		w.WriteHeader(503)
		fmt.Fprint(w, "app says no")
	})
	p := newTestProxy(t)
	p.deploy(t, "app", hostOpts(), up)
	if status, body, _ := p.get(t, "x", "/"); status != 503 || body != "app says no" {
		t.Fatalf("%d %q", status, body)
	}
}

func TestCanonicalHostRedirectKeepsPort(t *testing.T) {
	p := newTestProxy(t)
	a := newTestApp(t, "a")
	so := hostOpts("example.com", "www.example.com")
	so.CanonicalHost = "example.com"
	p.deploy(t, "app", so, a)
	status, _, h := p.get(t, "www.example.com:8080", "/a/b?c=d")
	if status != 301 || h.Get("Location") != "http://example.com:8080/a/b?c=d" {
		t.Fatalf("%d %v", status, h)
	}
	if status, _, _ := p.get(t, "example.com", "/"); status != 200 {
		t.Fatalf("canonical host: %d", status)
	}
}

func TestStripPrefixAndScopedCookies(t *testing.T) {
	up := newTestApp(t, "a")
	up.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1", Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "t", Value: "2", Domain: "elsewhere.com"})
		fmt.Fprint(w, r.URL.Path)
	})
	p := newTestProxy(t)
	so := hostOpts()
	so.PathPrefixes = []string{"/app"}
	to := fastTargetOptions()
	to.ScopeCookiePaths = true
	if err := p.router.Deploy("app", []string{up.addr()}, nil, fastDeploy(), so, to); err != nil {
		t.Fatal(err)
	}
	status, body, h := p.get(t, "x", "/app/show")
	if status != 200 || body != "/show" {
		t.Fatalf("%d %q", status, body)
	}
	cookies := strings.Join(h.Values("Set-Cookie"), " | ")
	if !strings.Contains(cookies, "s=1; Path=/app") || !strings.Contains(cookies, "t=2; Domain=elsewhere.com") {
		t.Fatalf("cookies: %s", cookies)
	}
}

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

func TestRolloutSplit(t *testing.T) {
	p := newTestProxy(t)
	a, b := newTestApp(t, "stable"), newTestApp(t, "canary")
	p.deploy(t, "app", hostOpts(), a)
	if err := p.router.RolloutSet("app", 50, nil); err != ErrRolloutTargetNotSet {
		t.Fatalf("err = %v", err)
	}
	if err := p.router.RolloutDeploy("app", []string{b.addr()}, nil, fastDeploy()); err != nil {
		t.Fatal(err)
	}
	if err := p.router.RolloutSet("app", 0, []string{"beta-user"}); err != nil {
		t.Fatal(err)
	}
	get := func(cookie string) string {
		req, _ := http.NewRequest(http.MethodGet, p.srv.URL+"/", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: rolloutCookie, Value: cookie})
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return strings.Fields(string(body))[0]
	}
	if got := get("beta-user"); got != "canary" {
		t.Fatalf("allowlisted: %s", got)
	}
	if got := get("someone"); got != "stable" {
		t.Fatalf("not allowlisted: %s", got)
	}
	if got := get(""); got != "stable" {
		t.Fatalf("no cookie: %s", got)
	}
	// Percentages split stable buckets.
	rc := &RolloutController{Percentage: 60}
	n := 0
	for i := range 1000 {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: rolloutCookie, Value: fmt.Sprint("user-", i)})
		if rc.usesRollout(req) {
			n++
		}
	}
	if n < 550 || n > 650 {
		t.Fatalf("60%% split gave %d of 1000", n)
	}
	if err := p.router.RolloutStop("app"); err != nil {
		t.Fatal(err)
	}
	if got := get("beta-user"); got != "stable" {
		t.Fatalf("after stop: %s", got)
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, b := newTestApp(t, "a"), newTestApp(t, "b")
	r1 := NewRouter(discardLogger(), dir, 443)
	so := hostOpts("one.test")
	so.PathPrefixes = []string{"/api"}
	if err := r1.Deploy("api", []string{a.addr()}, []string{b.addr()}, fastDeploy(), so, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if err := r1.Deploy("root", []string{b.addr()}, nil, fastDeploy(), hostOpts("one.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if err := r1.Stop("root", time.Second, "later"); err != nil {
		t.Fatal(err)
	}
	r1.Shutdown()
	data, err := os.ReadFile(filepath.Join(dir, StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(data, &raw); err != nil || len(raw) != 2 {
		t.Fatalf("state: %v %s", err, data)
	}
	for _, key := range []string{"name", "options", "target_options", "active_targets", "active_readers", "rollout_targets", "rollout_readers", "pause_controller", "rollout_controller"} {
		if _, ok := raw[0][key]; !ok {
			t.Errorf("state lacks %q", key)
		}
	}
	if hc := raw[0]["target_options"].(map[string]any)["health_check_config"].(map[string]any); hc["interval"] != float64(20*time.Millisecond) {
		t.Errorf("durations must be integer nanoseconds: %v", hc["interval"])
	}

	r2 := NewRouter(discardLogger(), dir, 443)
	if err := r2.RestoreState(); err != nil {
		t.Fatal(err)
	}
	defer r2.Shutdown()
	again, _ := r2.MarshalState()
	if !bytes.Equal(again, data) {
		t.Fatalf("round trip differs:\n%s\n%s", data, again)
	}
	list := r2.List()
	if list["root"].State != "stopped" || list["api"].Target != a.addr()+","+b.addr() || list["api"].Path != "/api" {
		t.Fatalf("restored: %+v", list)
	}
}

func TestLegacyStateAndCorruptState(t *testing.T) {
	dir := t.TempDir()
	a := newTestApp(t, "a")
	legacy := fmt.Sprintf(`[{"name":"old","active_target":%q,"hosts":["Legacy.test"],"options":{},"target_options":{"health_check_config":{"path":"/up","interval":1000000000,"timeout":1000000000}}}]`, a.addr())
	os.WriteFile(filepath.Join(dir, StateFileName), []byte(legacy), 0o600)
	r := NewRouter(discardLogger(), dir, 443)
	if err := r.RestoreState(); err != nil {
		t.Fatal(err)
	}
	if got := r.List()["old"]; got.Host != "legacy.test" || got.Target != a.addr() {
		t.Fatalf("legacy: %+v", got)
	}
	r.Shutdown()

	var logs bytes.Buffer
	os.WriteFile(filepath.Join(dir, StateFileName), []byte("[{not json"), 0o600)
	r = NewRouter(slog.New(slog.NewJSONHandler(&logs, nil)), dir, 443)
	if err := r.RestoreState(); err == nil {
		t.Fatal("corrupt state accepted")
	}
	if len(r.List()) != 0 || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("services=%d logs=%s", len(r.List()), logs.String())
	}
	matches, _ := filepath.Glob(filepath.Join(dir, StateFileName+".corrupt-*"))
	if len(matches) != 1 {
		t.Fatalf("corrupt file not kept aside: %v", matches)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFileName)); !os.IsNotExist(err) {
		t.Fatalf("corrupt file still in place: %v", err)
	}
}

func TestAccessLogLine(t *testing.T) {
	var logs bytes.Buffer
	r := NewRouter(discardLogger(), "", 443)
	srv := newAccessServer(t, r, slog.New(slog.NewJSONHandler(&logs, nil)))
	a := newTestApp(t, "a")
	to := fastTargetOptions()
	to.LogRequestHeaders = []string{"Cache-Control"}
	to.LogResponseHeaders = []string{"X-App"}
	if err := r.Deploy("app", []string{a.addr()}, nil, fastDeploy(), hostOpts(), to); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv+"/foo?x=1", nil)
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, `"msg":"Request"`) {
			json.Unmarshal([]byte(l), &line)
		}
	}
	want := map[string]any{"path": "/foo", "status": float64(200), "service": "app", "target": a.addr(), "method": "GET",
		"query": "x=1", "remote_addr": "1.2.3.4", "proto": "HTTP/1.1", "scheme": "http", "req_cache_control": "no-cache", "resp_x_app": "a"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("duration missing: %v", line)
	}
}

func TestMetrics(t *testing.T) {
	m := NewMetrics()
	m.observe("app", "GET", 200, 0.003)
	m.observe("app", "BREW", 404, 1)
	m.observe("", "GET", 404, 0.0001)  // unrouted
	m.observe("app", "GET", 200, 0.02) // a cached series
	m.inFlightGauge("app").Inc()
	m.inFlightGauge("app").Inc()
	m.inFlightGauge("app").Dec()
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/any/path", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	out := rec.Body.String()
	for _, want := range []string{
		`kamal_proxy_http_requests_total{method="GET",service="app",status="200"} 2`,
		`kamal_proxy_http_requests_total{method="OTHER",service="app",status="404"} 1`,
		`kamal_proxy_http_requests_total{method="GET",service="",status="404"} 1`,
		`kamal_proxy_http_request_duration_seconds_bucket{method="GET",service="app",status="200",le="0.005"} 1`,
		`kamal_proxy_http_request_duration_seconds_bucket{method="GET",service="app",status="200",le="0.025"} 2`,
		`kamal_proxy_http_request_duration_seconds_count{method="OTHER",service="app",status="404"} 1`,
		`kamal_proxy_http_in_flight_requests{service="app"} 1`,
		"# TYPE kamal_proxy_http_request_duration_seconds histogram",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
