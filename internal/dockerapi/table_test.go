package dockerapi

import (
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/moby/moby/api/types/container"
)

func TestDisplayPorts(t *testing.T) {
	any4, any6 := netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::")
	ports := []container.PortSummary{
		{IP: any6, PrivatePort: 443, PublicPort: 443, Type: "tcp"},
		{IP: any4, PrivatePort: 80, PublicPort: 80, Type: "tcp"},
		{IP: any4, PrivatePort: 443, PublicPort: 443, Type: "tcp"},
		{IP: any6, PrivatePort: 80, PublicPort: 80, Type: "tcp"},
		{IP: any4, PrivatePort: 8001, PublicPort: 8001, Type: "tcp"},
		{IP: any4, PrivatePort: 8000, PublicPort: 8000, Type: "tcp"},
		{IP: any4, PrivatePort: 90, PublicPort: 9090, Type: "udp"},
		{PrivatePort: 7000, Type: "tcp"},
	}
	// Ranges are cut where a port is missing; the groups still open at the
	// end follow in the order they were opened; remapped ports come last.
	want := "0.0.0.0:80->80/tcp, [::]:80->80/tcp, 0.0.0.0:443->443/tcp, 0.0.0.0:8000-8001->8000-8001/tcp, [::]:443->443/tcp, 7000/tcp, 0.0.0.0:9090->90/udp"
	if got := displayPorts(ports); got != want {
		t.Errorf("displayPorts =\n%s\nwant\n%s", got, want)
	}
	if got := displayPorts(nil); got != "" {
		t.Errorf("no ports = %q", got)
	}
}

func TestPSTable(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	got := PSTable([]container.Summary{
		{ID: strings.Repeat("a", 64), Image: "10.77.0.1:5000/app/web:v2", Command: "/app --worker --queue default", Created: now.Add(-90 * time.Second).Unix(), Status: "Up About a minute", Names: []string{"/app-web-v2"}},
		{ID: strings.Repeat("b", 64), Image: "docker.io/library/busybox:latest", ImageID: "sha256:" + strings.Repeat("c", 64), Command: "sh", Created: now.Add(-3 * time.Hour).Unix(), Status: "Exited (0) 2 hours ago", Names: []string{"/other/link", "/plain"}},
		{ID: strings.Repeat("d", 64), Image: "sha256:" + strings.Repeat("c", 64), ImageID: "sha256:" + strings.Repeat("c", 64), Created: now.Unix(), Status: "Created", Names: []string{"/by-id"}},
	}, now)
	lines := strings.Split(got, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "CONTAINER ID   IMAGE") {
		t.Fatalf("table:\n%s", got)
	}
	for i, fields := range [][]string{
		{"aaaaaaaaaaaa", "10.77.0.1:5000/app/web:v2", `"/app --worker --que…"`, "About a minute ago", "Up About a minute", "app-web-v2"},
		{"bbbbbbbbbbbb", "busybox:latest", `"sh"`, "3 hours ago", "Exited (0) 2 hours ago", "plain"},
		{"dddddddddddd", "cccccccccccc", `""`, "Less than a second ago", "Created", "by-id"},
	} {
		var got []string
		for _, f := range strings.Split(lines[i+1], "   ") {
			if f = strings.TrimSpace(f); f != "" {
				got = append(got, f)
			}
		}
		if strings.Join(got, "|") != strings.Join(fields, "|") {
			t.Errorf("row %d = %q, want %q", i+1, got, fields)
		}
	}
	// Columns line up: each starts at the same offset in every line.
	col := strings.Index(lines[0], "NAMES")
	for i, name := range []string{"app-web-v2", "plain", "by-id"} {
		// In characters: the cut command's "…" is three bytes.
		if at := utf8.RuneCountInString(lines[i+1][:strings.Index(lines[i+1], name)]); at != col {
			t.Errorf("%s at %d, NAMES at %d:\n%s", name, at, col, got)
		}
	}
}
