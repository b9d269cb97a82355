package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStateWriteReplacesTheFile shows the write is temp file + rename: a
// reader that opened the old file keeps seeing a complete old document, the
// path shows the complete new one, and no temp file is left behind.
func TestStateWriteReplacesTheFile(t *testing.T) {
	dir := t.TempDir()
	a := newTestApp(t, "a")
	r := NewRouter(discardLogger(), dir, 443)
	t.Cleanup(r.Shutdown)
	if err := r.Deploy("one", []string{a.addr()}, nil, fastDeploy(), hostOpts("one.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, StateFileName)
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := r.Deploy("two", []string{a.addr()}, nil, fastDeploy(), hostOpts("two.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	count := func(data []byte) int {
		var raw []map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatalf("state is not complete JSON: %v %s", err, data)
		}
		return len(raw)
	}
	oldData, _ := io.ReadAll(old)
	newData, _ := os.ReadFile(path)
	if count(oldData) != 1 || count(newData) != 2 {
		t.Fatalf("old %s\nnew %s", oldData, newData)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, StateFileName+".tmp-*")); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}

	// A write that cannot be renamed into place (the path is a non-empty
	// directory) keeps nothing half-written and leaves no temp file.
	os.Remove(path)
	os.MkdirAll(filepath.Join(path, "x"), 0o700)
	r.mu.Lock()
	err = r.writeState()
	r.mu.Unlock()
	if err == nil {
		t.Fatal("write over a directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, StateFileName+".tmp-*")); len(left) != 0 {
		t.Fatalf("temp files left after a failed write: %v", left)
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

// originalStateKeys lists, per object of the state file, every key the
// original kamal-proxy (v0.9.2) reads when it restores state, legacy keys
// aside. Whoever switches back to it must find each one with its value.
var originalStateKeys = map[string][]string{
	"":                                   {"name", "options", "target_options", "active_targets", "active_readers", "rollout_targets", "rollout_readers", "pause_controller", "rollout_controller"},
	"options":                            {"hosts", "path_prefixes", "tls_enabled", "tls_certificate_path", "tls_private_key_path", "tls_redirect", "canonical_host", "acme_directory", "acme_cache_path", "error_page_path", "strip_prefix", "writer_affinity_timeout", "read_targets_accept_websockets"},
	"target_options":                     {"health_check_config", "response_timeout", "buffer_requests", "buffer_responses", "max_memory_buffer_size", "max_request_body_size", "max_response_body_size", "log_request_headers", "log_response_headers", "forward_headers", "scope_cookie_paths"},
	"target_options.health_check_config": {"path", "port", "interval", "timeout", "host"},
	"pause_controller":                   {"state", "stop_message", "fail_after"},
	"rollout_controller":                 {"percentage", "percentage_split_point", "allowlist"},
}

// originalView keeps only what the original reads, keyed by service name,
// and fails on any key it reads that is missing.
func originalView(t *testing.T, data []byte) map[string]map[string]any {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatalf("state: %v\n%s", err, data)
	}
	var project func(obj map[string]any, path string) map[string]any
	project = func(obj map[string]any, path string) map[string]any {
		out := map[string]any{}
		for _, k := range originalStateKeys[path] {
			v, ok := obj[k]
			if !ok {
				t.Errorf("key %q missing in %q of %v", k, path, obj)
				continue
			}
			sub := strings.TrimPrefix(path+"."+k, ".")
			if m, isObj := v.(map[string]any); isObj && originalStateKeys[sub] != nil {
				v = project(m, sub)
			}
			out[k] = v
		}
		return out
	}
	views := map[string]map[string]any{}
	for _, svc := range list {
		v := project(svc, "")
		views[v["name"].(string)] = v
	}
	return views
}

func field(v map[string]any, path string) any {
	var cur any = v
	for _, k := range strings.Split(path, ".") {
		cur = cur.(map[string]any)[k]
	}
	return cur
}

// originalUsesRollout is the original's split rule, applied to a split
// point read from the state file.
func originalUsesRollout(cookie string, splitPoint float64, allowlist []string) bool {
	if slices.Contains(allowlist, cookie) {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(cookie))
	return float64(h.Sum32()) <= splitPoint
}

// TestStateFileIsWhatTheOriginalReads deploys services with many settings
// and checks the state file the way the original would read it: every key
// present, the rollout split point set (the original reads no percentage),
// the ACME cache path absolute.
func TestStateFileIsWhatTheOriginalReads(t *testing.T) {
	dir := t.TempDir()
	a, b, c := newTestApp(t, "a"), newTestApp(t, "b"), newTestApp(t, "c")
	r := NewRouter(discardLogger(), dir, 443)
	t.Cleanup(r.Shutdown)
	cp, kp, _ := writeCert(t, "web.test")
	web := hostOpts("web.test", "www.web.test")
	web.TLSEnabled, web.TLSCertificatePath, web.TLSPrivateKeyPath = true, cp, kp
	web.CanonicalHost = "web.test"
	to := fastTargetOptions()
	to.BufferRequests, to.MaxRequestBodySize, to.LogRequestHeaders = true, 1000, []string{"User-Agent"}
	if err := r.Deploy("web", []string{a.addr()}, []string{b.addr()}, fastDeploy(), web, to); err != nil {
		t.Fatal(err)
	}
	api := hostOpts("web.test")
	api.PathPrefixes, api.StripPrefix = []string{"/api"}, false
	if err := r.Deploy("api", []string{b.addr()}, nil, fastDeploy(), api, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	auto := hostOpts("auto.test")
	auto.TLSEnabled, auto.ACMEDirectory = true, LetsEncryptStagingURL
	if err := r.Deploy("auto", []string{c.addr()}, nil, fastDeploy(), auto, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if err := r.RolloutDeploy("web", []string{c.addr()}, nil, fastDeploy()); err != nil {
		t.Fatal(err)
	}
	if err := r.RolloutSet("web", 60, []string{"beta"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop("api", time.Second, "Back soon"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	views := originalView(t, data)

	certs := filepath.Join(dir, "certs")
	for _, name := range []string{"web", "api", "auto"} {
		if got := field(views[name], "options.acme_cache_path"); got != certs {
			t.Errorf("%s: acme_cache_path %v, want %s", name, got, certs)
		}
	}
	rc := views["web"]["rollout_controller"].(map[string]any)
	split, _ := rc["percentage_split_point"].(float64)
	if rc["percentage"] != float64(60) || split != 2576980377 {
		t.Fatalf("rollout controller %v", rc)
	}
	// The original's rule on the written split point picks exactly the
	// cookies we pick, about 60 % of them.
	ctl := r.services["web"].rolloutCtl
	picked := 0
	for i := range 1000 {
		cookie := fmt.Sprintf("visitor-%d", i)
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: rolloutCookie, Value: cookie})
		ours, theirs := ctl.usesRollout(req), originalUsesRollout(cookie, split, []string{"beta"})
		if ours != theirs {
			t.Fatalf("cookie %s: ours %v, original %v", cookie, ours, theirs)
		}
		if ours {
			picked++
		}
	}
	if picked < 550 || picked > 650 {
		t.Fatalf("%d of 1000 cookies to the rollout", picked)
	}
	for path, want := range map[string]any{
		"options.tls_enabled":                         true, // inherited from the root service, as the original writes it
		"options.strip_prefix":                        false,
		"pause_controller.state":                      float64(PauseStopped),
		"pause_controller.stop_message":               "Back soon",
		"target_options.health_check_config.interval": float64(20 * time.Millisecond),
		"target_options.health_check_config.path":     "/up",
	} {
		if got := field(views["api"], path); got != want {
			t.Errorf("api %s = %v, want %v", path, got, want)
		}
	}
	for path, want := range map[string]any{
		"options.tls_certificate_path":         cp,
		"options.canonical_host":               "web.test",
		"target_options.max_request_body_size": float64(1000),
		"target_options.buffer_requests":       true,
	} {
		if got := field(views["web"], path); got != want {
			t.Errorf("web %s = %v, want %v", path, got, want)
		}
	}
	if got := field(views["auto"], "options.acme_directory"); got != LetsEncryptStagingURL {
		t.Errorf("auto acme_directory %v", got)
	}
}

// TestStateWrittenByTheOriginalRestoresAndRoundTrips restores a state file
// in the original's format (testdata, targets filled in), checks routing,
// the rollout split and the stop page, and writes back every key the
// original reads with the value it had.
func TestStateWrittenByTheOriginalRestoresAndRoundTrips(t *testing.T) {
	dir := t.TempDir()
	a, b, c := newTestApp(t, "a"), newTestApp(t, "b"), newTestApp(t, "c")
	fixture, err := os.ReadFile(filepath.Join("testdata", "original-v0.9.2.state"))
	if err != nil {
		t.Fatal(err)
	}
	fixture = []byte(strings.NewReplacer("{{A}}", a.addr(), "{{B}}", b.addr(), "{{C}}", c.addr()).Replace(string(fixture)))
	if err := os.WriteFile(filepath.Join(dir, StateFileName), fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	r := NewRouter(discardLogger(), dir, 443)
	if err := r.RestoreState(); err != nil {
		t.Fatal(err)
	}
	url := newAccessServer(t, r, discardLogger())
	get := func(path, cookie string) (int, string) {
		t.Helper()
		return getWithRolloutCookie(t, url+path, "web.test", cookie)
	}
	if status, body := get("/x", ""); status != 200 || !strings.HasPrefix(body, "a ") {
		t.Fatalf("no cookie: %d %q", status, body)
	}
	if status, body := get("/x", "beta"); status != 200 || !strings.HasPrefix(body, "c ") {
		t.Fatalf("allowlisted cookie: %d %q", status, body)
	}
	rollout := 0
	for i := range 100 {
		cookie := fmt.Sprintf("visitor-%d", i)
		_, body := get("/x", cookie)
		want := "a "
		if originalUsesRollout(cookie, 2576980377, nil) {
			want, rollout = "c ", rollout+1
		}
		if !strings.HasPrefix(body, want) {
			t.Fatalf("cookie %s reached %q, want %q", cookie, body, want)
		}
	}
	if rollout == 0 || rollout == 100 {
		t.Fatalf("split sent %d of 100 to the rollout", rollout)
	}
	if status, body := get("/admin", ""); status != 503 || !strings.Contains(body, "Back soon") {
		t.Fatalf("stopped service: %d %q", status, body)
	}

	written, err := r.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := originalView(t, written), originalView(t, fixture); !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		wb, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("written back differently:\n%s\nwant\n%s", gb, wb)
	}
}

// TestRestoreKeepsOtherServicesWhenOneIsBroken: services whose error pages
// or certificate went away, or whose entry holds a value of the wrong type,
// come back unavailable (503, error in the log and in List, entry written
// back as it was) while the others route normally; a deploy repairs them.
func TestRestoreKeepsOtherServicesWhenOneIsBroken(t *testing.T) {
	dir := t.TempDir()
	a := newTestApp(t, "a")
	pages := filepath.Join(t.TempDir(), "pages")
	os.MkdirAll(pages, 0o700)
	os.WriteFile(filepath.Join(pages, "503.html"), []byte("<p>custom</p>"), 0o600)
	cp, kp, _ := writeCert(t, "cert.test")

	r1 := NewRouter(discardLogger(), dir, 443)
	withPages := hostOpts("pages.test")
	withPages.ErrorPagePath = pages
	withCert := hostOpts("cert.test")
	withCert.TLSEnabled, withCert.TLSCertificatePath, withCert.TLSPrivateKeyPath = true, cp, kp
	for name, so := range map[string]ServiceOptions{"good": hostOpts("good.test"), "pages": withPages, "cert": withCert, "odd": hostOpts("odd.test")} {
		if err := r1.Deploy(name, []string{a.addr()}, nil, fastDeploy(), so, fastTargetOptions()); err != nil {
			t.Fatal(err)
		}
	}
	r1.Shutdown()
	os.RemoveAll(pages)
	os.Remove(cp)
	statePath := filepath.Join(dir, StateFileName)
	saved, _ := os.ReadFile(statePath)
	saved = bytes.Replace(saved, []byte(`"hosts":["odd.test"],"path_prefixes":["/"],"tls_enabled":false`), []byte(`"hosts":["odd.test"],"path_prefixes":["/"],"tls_enabled":"no"`), 1)
	if !bytes.Contains(saved, []byte(`"tls_enabled":"no"`)) {
		t.Fatalf("could not break the odd entry: %s", saved)
	}
	os.WriteFile(statePath, saved, 0o600)

	var logs bytes.Buffer
	r2 := NewRouter(slog.New(slog.NewJSONHandler(&logs, nil)), dir, 443)
	if err := r2.RestoreState(); err != nil {
		t.Fatal(err)
	}
	url := newAccessServer(t, r2, discardLogger())
	get := func(host string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if status := get("good.test"); status != 200 {
		t.Fatalf("good service: %d", status)
	}
	list := r2.List()
	for name, want := range map[string]string{
		"pages": "unable to load error pages from " + pages,
		"cert":  "unable to load certificate from " + cp,
		"odd":   "cannot unmarshal string",
	} {
		if status := get(name + ".test"); status != 503 {
			t.Errorf("%s: %d, want 503", name, status)
		}
		if d := list[name]; d.State != StateUnavailable || !strings.Contains(d.Error, want) || d.Target != a.addr() {
			t.Errorf("%s listed as %+v, want unavailable with %q", name, d, want)
		}
		if !strings.Contains(logs.String(), `"msg":"Unable to restore service; it answers 503 until deployed again","service":"`+name+`"`) {
			t.Errorf("no error logged for %s:\n%s", name, logs.String())
		}
	}
	if d := list["good"]; d.State != "running" || d.Error != "" {
		t.Fatalf("good listed as %+v", d)
	}

	// Saving (here after a pause of the good service) writes the broken
	// entries back as they were read.
	if err := r2.Pause("good", time.Second, time.Second); err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(statePath)
	before, after := originalView(t, saved), originalView(t, written)
	for _, name := range []string{"pages", "cert", "odd"} {
		if !reflect.DeepEqual(before[name], after[name]) {
			t.Errorf("%s written back as\n%v\nwas\n%v", name, after[name], before[name])
		}
	}
	if err := r2.RolloutDeploy("pages", []string{a.addr()}, nil, fastDeploy()); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("rollout on an unavailable service: %v", err)
	}

	// A deploy without the missing directory repairs the service.
	if err := r2.Deploy("pages", []string{a.addr()}, nil, fastDeploy(), hostOpts("pages.test"), fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	if d := r2.List()["pages"]; d.State != "running" || d.Error != "" || get("pages.test") != 200 {
		t.Fatalf("after deploy: %+v", d)
	}
}
