package cli

import (
	"bytes"
	"io"
	"testing"

	"github.com/creack/pty"

	"github.com/kamalgo/kamal/internal/progress"
)

func TestRendererChoice(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	for _, tt := range []struct {
		name     string
		terminal bool
		ci       string
		globals  Globals
		want     string
	}{
		{"pipe", false, "", Globals{}, "plain"},
		{"terminal", true, "", Globals{}, "tty"},
		{"terminal in CI", true, "true", Globals{}, "plain"},
		{"terminal with -v", true, "", Globals{Verbose: true}, "plain"},
		{"terminal with -q", true, "", Globals{Quiet: true}, "plain"},
		{"--progress=plain", true, "", Globals{Progress: "plain"}, "plain"},
		{"--progress=tty to a pipe", false, "true", Globals{Progress: "tty"}, "tty"},
		{"--json", true, "", Globals{JSON: true, Progress: "tty"}, "json"},
	} {
		var out io.Writer = &bytes.Buffer{}
		if tt.terminal {
			out = tty
		}
		a := &App{Stdout: out, Globals: tt.globals}
		a.startProgress(func(k string) string {
			if k == "CI" {
				return tt.ci
			}
			return ""
		})
		got := "?"
		switch a.renderer().(*progress.Collector).Renderer.(type) {
		case *progress.Plain:
			got = "plain"
		case *progress.TTY:
			got = "tty"
		case *progress.JSON:
			got = "json"
		}
		a.renderer().Close()
		if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestJSONResultOfAFailedCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main([]string{"--json", "-c", "/nonexistent/deploy.yml", "app", "version"}, bytes.NewReader(nil), &out, &errOut)
	if code == 0 {
		t.Fatal("app version without a configuration succeeded")
	}
	want := `"command":"app version","ok":false,"error":"Configuration file not found in /nonexistent/deploy.yml"`
	if !bytes.Contains(out.Bytes(), []byte(want)) || bytes.Count(out.Bytes(), []byte("\n")) != 1 {
		t.Errorf("stdout:\n%s\nwant one result line with %s", out.String(), want)
	}
}
