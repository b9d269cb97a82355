package cmd

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

// TestImageBuildContext runs build/kamal-proxy/build.sh in context-only mode
// and checks what the FROM scratch image will contain: the static binary,
// the user database and a home directory owned by the proxy user.
func TestImageBuildContext(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux only")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "build", "kamal-proxy", "build.sh")
	ctx := t.TempDir()
	cmd := exec.Command("sh", script)
	cmd.Env = append(os.Environ(), "CONTEXT_DIR="+ctx, "VERSION=v0.10.0-test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	dockerfile, err := os.ReadFile(filepath.Join(ctx, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM scratch", `CMD ["kamal-proxy", "run"]`, "USER kamal-proxy", "EXPOSE 80 443", `org.opencontainers.image.title="kamal-proxy"`,
		// kamal hands traffic over only to and from images that say so.
		fmt.Sprintf(`%s="%d"`, server.HandoverLabel, server.HandoverProtocol)} {
		if !strings.Contains(string(dockerfile), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}

	entries := map[string]*tar.Header{}
	var passwd string
	for _, name := range []string{"rootfs.tar", "home.tar"} {
		f, err := os.Open(filepath.Join(ctx, name))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(f)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			entries[strings.TrimPrefix(h.Name, "./")] = h
			if strings.TrimPrefix(h.Name, "./") == "etc/passwd" {
				b, _ := io.ReadAll(tr)
				passwd = string(b)
			}
		}
		f.Close()
	}
	bin := entries["usr/local/bin/kamal-proxy"]
	if bin == nil || bin.Mode&0o111 == 0 || bin.Uid != 0 {
		t.Fatalf("binary entry: %+v", bin)
	}
	home := entries["home/kamal-proxy/.config/kamal-proxy/"]
	if home == nil || home.Uid != 1000 || home.Gid != 1000 || home.Typeflag != tar.TypeDir {
		t.Fatalf("state dir entry: %+v", home)
	}
	if tmp := entries["tmp/"]; tmp == nil || tmp.Mode&0o1777 != 0o1777 {
		t.Fatalf("tmp entry: %+v", tmp)
	}
	if !strings.Contains(passwd, "kamal-proxy:x:1000:1000:kamal-proxy:/home/kamal-proxy:") {
		t.Fatalf("passwd: %q", passwd)
	}

	// The binary is static and reports the version it was built with.
	x := filepath.Join(t.TempDir(), "kamal-proxy")
	extract(t, filepath.Join(ctx, "rootfs.tar"), "./usr/local/bin/kamal-proxy", x)
	out, err := exec.Command(x, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "v0.10.0-test" {
		t.Fatalf("version: %q %v", out, err)
	}
	if out, _ := exec.Command("file", x).Output(); len(out) > 0 && !strings.Contains(string(out), "statically linked") {
		t.Errorf("binary is not static: %s", out)
	}
}

func extract(t *testing.T, archive, name, dest string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not found: %v", name, err)
		}
		if h.Name == name {
			out, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(out, tr)
			out.Close()
			return
		}
	}
}
