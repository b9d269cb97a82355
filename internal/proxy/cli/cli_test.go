package cli

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/proxy"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDeployValidationMessages(t *testing.T) {
	t.Setenv("KAMAL_PROXY_SOCKET", filepath.Join(t.TempDir(), "none.sock"))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "app"}, `Error: required flag(s) "target" not set`},
		{[]string{"deploy"}, "Error: accepts 1 arg(s), received 0"},
		{[]string{"deploy", "app", "--target=web:3000", "--max-request-body=10"}, "Error: max-request-body can only be set when request buffering is enabled"},
		{[]string{"deploy", "app", "--target=web:3000", "--max-response-body=10"}, "Error: max-response-body can only be set when response buffering is enabled"},
		{[]string{"deploy", "app", "--target=web:3000", "--tls"}, "Error: host must be set when using TLS"},
		{[]string{"deploy", "app", "--target=web:3000", "--tls", "--host=a.com", "--path-prefix=/app"}, "Error: TLS settings must be specified on the root path service"},
		{[]string{"deploy", "app", "--target=web:3000", "--host=a.com", "--host=www.a.com", "--canonical-host=b.com"}, "Error: canonical-host 'b.com' must be present in the hosts list: [a.com www.a.com]"},
		{[]string{"deploy", "app", "--target=http://web:3000"}, "Error: http://web:3000 :invalid host pattern"},
		{[]string{"deploy", "app", "--target=web:3000", "--tls-certificate-path=/c"}, "Error: if any flags in the group [tls-certificate-path tls-private-key-path] are set they must all be set; missing [tls-private-key-path]"},
		{[]string{"deploy", "app", "--target=web:3000", "--tls-on-demand-url=/check"}, "Error: tls-on-demand-url requires TLS to be enabled"},
		{[]string{"deploy", "app", "--target=web:3000", "--tls", "--host=a.com", "--tls-on-demand-url=/check"}, "Error: tls-on-demand-url cannot be used with hosts"},
		{[]string{"deploy", "app", "--target=web:3000", "--tls", "--tls-on-demand-url=ftp://x/check"}, "Error: tls-on-demand-url must be an http(s) URL or a path"},
		{[]string{"deploy", "app", "--target=web:3000", "--tls", "--tls-on-demand-url=/c", "--tls-certificate-path=/c", "--tls-private-key-path=/k"}, "Error: tls-on-demand-url cannot be used with a custom certificate"},
		{[]string{"rollout", "set", "app"}, "Error: at least one of the flags in the group [percent list] is required"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != 1 || strings.TrimSpace(stderr) != tc.want {
				t.Fatalf("code=%d stderr=%q, want %q", code, stderr, tc.want)
			}
		})
	}
}

func TestMissingSocketIsAClearError(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("KAMAL_PROXY_SOCKET", sock)
	code, _, stderr := run(t, "list")
	if code != 1 || !strings.HasPrefix(stderr, "Error: dial unix "+sock) || !strings.Contains(stderr, "is kamal-proxy running?") {
		t.Fatalf("code=%d stderr=%q", code, stderr)
	}
}

func TestSocketPathRules(t *testing.T) {
	t.Setenv("KAMAL_PROXY_SOCKET", "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/7")
	if got := proxy.SocketPath(); got != "/run/user/7/kamal-proxy.sock" {
		t.Fatal(got)
	}
	t.Setenv("KAMAL_PROXY_SOCKET", "/x.sock")
	if got := proxy.SocketPath(); got != "/x.sock" {
		t.Fatal(got)
	}
}

func TestRunFlagEnvOverrides(t *testing.T) {
	t.Setenv("HTTP_PORT", "8080")
	t.Setenv("KAMAL_PROXY_HTTP_PORT", "9090")
	t.Setenv("HTTPS_PORT", "not-a-number")
	t.Setenv("METRICS_PORT", "9100")
	cmd := newRunCommand()
	for flag, want := range map[string]string{"http-port": "9090", "https-port": "443", "metrics-port": "9100", "debug": "false"} {
		if got := cmd.Flags().Lookup(flag).DefValue; got != want {
			t.Errorf("--%s default = %s, want %s", flag, got, want)
		}
	}
}

func TestDeployDefaultsAndVersion(t *testing.T) {
	cmd := newDeployCommand()
	for flag, want := range map[string]string{
		"deploy-timeout": "30s", "drain-timeout": "30s", "health-check-path": "/up", "health-check-interval": "1s",
		"health-check-timeout": "5s", "target-timeout": "30s", "buffer-memory": "1048576", "tls-redirect": "true",
		"strip-path-prefix": "true", "writer-affinity-timeout": "1s", "forward-headers": "false", "force": "false",
		"health-check-port": "0", "health-check-host": "", "scope-cookie-paths": "false", "read-target-websockets": "false",
	} {
		f := cmd.Flags().Lookup(flag)
		if f == nil {
			t.Errorf("missing --%s", flag)
			continue
		}
		if f.DefValue != want {
			t.Errorf("--%s default = %s, want %s", flag, f.DefValue, want)
		}
	}
	code, out, _ := run(t, "version")
	var major, minor, patch int
	fmt.Sscanf(Version, "v%d.%d.%d", &major, &minor, &patch)
	if code != 0 || out != Version+"\n" || major != 0 || minor < 9 || (minor == 9 && patch < 2) {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestClientServerRoundTrip drives a real server through the CLI over the
// Unix socket: deploy, list, stop, resume, remove.
func TestClientServerRoundTrip(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "kp.sock")
	t.Setenv("KAMAL_PROXY_SOCKET", sock)
	srv := proxy.NewServer(proxy.Config{Bind: "127.0.0.1", StateDir: filepath.Join(dir, "state"), SocketPath: sock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer app.Close()
	target := strings.TrimPrefix(app.URL, "http://")

	if code, _, stderr := run(t, "deploy", "web", "--target="+target, "--host=Web.Test", "--health-check-interval=50ms"); code != 0 {
		t.Fatalf("deploy: %s", stderr)
	}
	get := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/", nil)
		req.Host = "web.test"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := get(); status != 200 || body != "hello" {
		t.Fatalf("%d %q", status, body)
	}
	_, out, _ := run(t, "ls")
	if !strings.Contains(out, "web") || !strings.Contains(out, "web.test") || !strings.Contains(out, target) || !strings.Contains(out, "running") {
		t.Fatalf("list: %q", out)
	}
	if code, _, stderr := run(t, "stop", "web", "--message=Upgrading", "--drain-timeout=1s"); code != 0 {
		t.Fatal(stderr)
	}
	if status, body := get(); status != 503 || !strings.Contains(body, "Upgrading") {
		t.Fatalf("%d %q", status, body)
	}
	run(t, "resume", "web")
	if status, _ := get(); status != 200 {
		t.Fatalf("after resume: %d", status)
	}
	if code, _, stderr := run(t, "rm", "web"); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := run(t, "remove", "web"); code != 1 || strings.TrimSpace(stderr) != "Error: service not found" {
		t.Fatalf("second remove: %d %q", code, stderr)
	}
}

// TestKamalGeneratedDeployCommandsParse feeds the argument lists Kamal
// generates (see the protocol reference) through flag parsing and
// validation; reaching the socket means every flag was accepted.
func TestKamalGeneratedDeployCommandsParse(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("KAMAL_PROXY_SOCKET", sock)
	cmds := [][]string{
		{"deploy", "app-web", `--target=f00dcafe1234:3000`, `--host=app.example.com`, `--deploy-timeout=30s`, `--drain-timeout=30s`,
			"--buffer-requests", "--buffer-responses", `--log-request-header=Cache-Control`, `--log-request-header=Last-Modified`, `--log-request-header=User-Agent`},
		{"deploy", "app-web", "--target=f00dcafe1234:3000", "--host=a.example.com", "--host=b.example.com", "--deploy-timeout=60s", "--drain-timeout=30s",
			"--health-check-interval=3s", "--health-check-timeout=3s", "--health-check-path=/health", "--target-timeout=10s", "--buffer-requests",
			"--buffer-responses=false", "--buffer-memory=2000000", "--max-request-body=40000000", "--max-response-body=0", "--path-prefix=/api",
			"--path-prefix=/oauth", "--strip-path-prefix=false", "--forward-headers", "--tls-redirect=false", "--log-request-header=Cache-Control",
			"--log-request-header=X-Forwarded-Proto", "--log-response-header=X-Request-ID", "--error-pages=/home/kamal-proxy/.apps-config/app/error_pages/999"},
		{"deploy", "app-web", "--target=web:3000", "--host=a.example.com", "--tls", "--tls-certificate-path=/c.pem", "--tls-private-key-path=/k.pem"},
		{"deploy", "app-web", "--target=web:3000", "--tls", "--tls-on-demand-url=https://auth.example.com/check?k=v"},
		{"deploy", "app-web", "--target=web:3000", "--tls", "--tls-on-demand-url=/tls-check"},
		{"stop", "app-web", "--drain-timeout=30s", "--message=Down for maintenance"},
		{"resume", "app-web"},
		{"remove", "app-web"},
	}
	for _, args := range cmds {
		code, _, stderr := run(t, args...)
		if code != 1 || !strings.HasPrefix(stderr, "Error: dial unix "+sock) {
			t.Errorf("%v: code=%d stderr=%q", args[:2], code, stderr)
		}
	}
}
