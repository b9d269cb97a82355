package cmd

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

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

func TestDeployDefaults(t *testing.T) {
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

// TestDeployTLSFlagsReachTheServer deploys TLS services through the CLI and
// reads back what the server stored: --tls-staging selects the staging
// directory (and so its own cache directory), --tls-on-demand-url is kept.
func TestDeployTLSFlagsReachTheServer(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "kp.sock")
	t.Setenv("KAMAL_PROXY_SOCKET", sock)
	srv := server.NewServer(server.Config{Bind: "127.0.0.1", StateDir: filepath.Join(dir, "state"), SocketPath: sock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	app := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer app.Close()
	target := "--target=" + strings.TrimPrefix(app.URL, "http://")
	for _, args := range [][]string{
		{"deploy", "staging", target, "--host=s.test", "--tls", "--tls-staging"},
		{"deploy", "production", target, "--host=p.test", "--tls"},
		{"deploy", "ondemand", target, "--tls", "--tls-on-demand-url=/tls-check"},
	} {
		if code, _, errOut := run(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "state", server.StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var state []struct {
		Name    string                `json:"name"`
		Options server.ServiceOptions `json:"options"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatal(err)
	}
	got := map[string]server.ServiceOptions{}
	for _, s := range state {
		got[s.Name] = s.Options
	}
	if got["staging"].ACMEDirectory != server.LetsEncryptStagingURL || got["production"].ACMEDirectory != "" {
		t.Fatalf("acme directories: staging %q production %q", got["staging"].ACMEDirectory, got["production"].ACMEDirectory)
	}
	if o := got["ondemand"]; o.TLSOnDemandURL != "/tls-check" || !o.TLSEnabled || len(o.Hosts) != 0 {
		t.Fatalf("on-demand options %+v", o)
	}
}
