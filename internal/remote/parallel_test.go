package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/remote/sshtest"
)

func TestTwentyHostsInParallel(t *testing.T) {
	e := newTestEnv(t)
	port := sshtest.FreePort(t, "127.0.0.101")
	var hosts []string
	for i := 101; i <= 120; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		sshtest.Start(t, ip, sshtest.Options{Port: port}, e.key)
		hosts = append(hosts, ip)
	}
	o := e.opts(port)
	o.MaxConcurrentStarts = 7 // exercise the start limiter
	p := e.pool(o, nil)

	var mu sync.Mutex
	seen := map[string]string{}
	err := Parallel(context.Background(), hosts, func(ctx context.Context, host string) error {
		for range 3 {
			res, err := p.Exec(ctx, host, "echo $SSH_CONNECTION", ExecOptions{})
			if err != nil {
				return err
			}
			mu.Lock()
			seen[host] = res.Stdout
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.peakStarts > 7 || p.peakStarts < 1 {
		t.Errorf("peak concurrent connection starts = %d, limit 7", p.peakStarts)
	}
	for _, h := range hosts {
		if !strings.Contains(seen[h], " "+h+" ") {
			t.Errorf("%s: SSH_CONNECTION = %q", h, seen[h])
		}
		if n := p.ConnectionsOpened(h); n != 1 {
			t.Errorf("%s: %d connections opened, want 1", h, n)
		}
	}
}

// The same failing command on three hosts fails only where SSH_CONNECTION
// names the bad host; the unreachable host is reported with its cause and
// the others' results are still there.
func TestFailuresAreReportedPerHost(t *testing.T) {
	e := newTestEnv(t)
	port := sshtest.FreePort(t, "127.0.0.21")
	for _, ip := range []string{"127.0.0.21", "127.0.0.22", "127.0.0.23"} {
		sshtest.Start(t, ip, sshtest.Options{Port: port}, e.key)
	}
	p := e.pool(e.opts(port), nil)
	cmd := `case "$SSH_CONNECTION" in *" 127.0.0.22 "*) echo boom >&2; exit 3;; esac; echo ok`

	t.Run("one of three fails", func(t *testing.T) {
		var mu sync.Mutex
		ok := map[string]bool{}
		err := Parallel(context.Background(), []string{"127.0.0.21", "127.0.0.22", "127.0.0.23"}, func(ctx context.Context, h string) error {
			res, err := p.Exec(ctx, h, cmd, ExecOptions{})
			mu.Lock()
			ok[h] = err == nil && res.Stdout == "ok\n"
			mu.Unlock()
			return err
		})
		var he *HostError
		if !errors.As(err, &he) || he.Host != "127.0.0.22" {
			t.Fatalf("err = %#v, want a HostError for 127.0.0.22", err)
		}
		var ce *CommandError
		if !errors.As(err, &ce) || ce.ExitStatus != 3 {
			t.Fatalf("err = %v, want CommandError with status 3", err)
		}
		want := "Exception while executing on host 127.0.0.22: " + cmd + " exit status: 3\n" +
			cmd + " stdout: Nothing written\n" + cmd + " stderr: boom"
		if err.Error() != want {
			t.Errorf("message:\n%s\nwant:\n%s", err, want)
		}
		if !ok["127.0.0.21"] || !ok["127.0.0.23"] || ok["127.0.0.22"] {
			t.Errorf("per-host success = %v", ok)
		}
	})

	t.Run("unreachable host", func(t *testing.T) {
		hosts := []string{"127.0.0.21", "127.0.0.99", "127.0.0.22", "127.0.0.23"}
		var mu sync.Mutex
		ran := map[string]bool{}
		err := Parallel(context.Background(), hosts, func(ctx context.Context, h string) error {
			_, err := p.Exec(ctx, h, cmd, ExecOptions{})
			if err == nil {
				mu.Lock()
				ran[h] = true
				mu.Unlock()
			}
			return err
		})
		var hes HostErrors
		if !errors.As(err, &hes) || len(hes) != 2 {
			t.Fatalf("err = %v, want 2 host errors", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "Exceptions on 2 hosts:\nException while executing on host 127.0.0.99: connecting to 127.0.0.99:") ||
			!strings.Contains(msg, "connection refused") ||
			!strings.Contains(msg, "\nException while executing on host 127.0.0.22: ") {
			t.Errorf("message:\n%s", msg)
		}
		if !ran["127.0.0.21"] || !ran["127.0.0.23"] {
			t.Errorf("healthy hosts did not run: %v", ran)
		}
	})
}

func TestUploadSetsModeAndContent(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.24", sshtest.Options{}, e.key)
	var buf bytes.Buffer
	p := e.pool(e.opts(srv.Port), NewOutput(&buf, LevelVerbose, nil))
	dir := filepath.Join(e.dir, "remote dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "web.env")
	// An existing world-readable file is replaced, not rewritten in place.
	if err := os.WriteFile(path, []byte("OLD=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	content := []byte("SECRET=s3cr'et \"$x\"\nNON_ASCII=中文\n")
	for range 2 {
		if err := p.Upload(context.Background(), srv.IP, path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, content) {
		t.Errorf("content = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := p.Upload(context.Background(), srv.IP, "/no/such/dir/x", content, 0o644); err == nil ||
		!strings.Contains(err.Error(), "uploading /no/such/dir/x to 127.0.0.24 failed") {
		t.Errorf("upload to missing dir: %v", err)
	}
	if n := p.ConnectionsOpened(srv.IP); n != 1 {
		t.Errorf("connections = %d", n)
	}
	if !strings.Contains(buf.String(), "  INFO Uploading "+path+" 100.0%") || strings.Contains(buf.String(), "s3cr") {
		t.Errorf("log:\n%s", buf.String())
	}
}

func TestRedactionEverywhere(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.25", sshtest.Options{}, e.key)
	var buf bytes.Buffer
	red := NewRedactor("hunter2-secret")
	p := e.pool(e.opts(srv.Port), NewOutput(&buf, LevelVerbose, red))
	_, err := p.Exec(context.Background(), srv.IP, "echo hunter2-secret; echo 'hunter2-secret' >&2; exit 1", ExecOptions{})
	if err == nil {
		t.Fatal("want error")
	}
	err = (&Runner{Redactor: red}).On(context.Background(), []string{srv.IP}, func(context.Context, string) error {
		return fmt.Errorf("wrapped: %w", err)
	})
	for name, text := range map[string]string{"log": buf.String(), "error": err.Error()} {
		if strings.Contains(text, "hunter2") || !strings.Contains(text, Redacted) {
			t.Errorf("%s not redacted:\n%s", name, text)
		}
	}
}

func TestInteractiveGetsATTY(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.26", sshtest.Options{}, e.key)
	p := e.pool(e.opts(srv.Port), nil)
	var out bytes.Buffer
	res, err := p.Exec(context.Background(), srv.IP, "tty; stty size", ExecOptions{Interactive: true, Stdin: strings.NewReader(""), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Stdout, "/dev/pts/") || !strings.Contains(res.Stdout, "24 80") || out.String() != res.Stdout {
		t.Fatalf("stdout = %q, streamed %q", res.Stdout, out.String())
	}
	res = mustExec(t, p, srv.IP, "tty || true")
	if !strings.Contains(res.Stdout, "not a tty") {
		t.Fatalf("non-interactive got a tty: %q", res.Stdout)
	}
}

func TestStdinAndContextCancel(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.27", sshtest.Options{}, e.key)
	p := e.pool(e.opts(srv.Port), nil)
	res, err := p.Exec(context.Background(), srv.IP, "wc -c", ExecOptions{Stdin: strings.NewReader("12345")})
	if err != nil || strings.TrimSpace(res.Stdout) != "5" {
		t.Fatalf("wc -c = %q, %v", res.Stdout, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		<-started
		cancel()
	}()
	var once sync.Once
	_, err = p.Exec(ctx, srv.IP, "echo started; exec sleep 5", ExecOptions{Stdout: writerFunc(func(b []byte) {
		once.Do(func() { close(started) })
	})})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The connection survives a cancelled command.
	mustExec(t, p, srv.IP, "true")
	if n := p.ConnectionsOpened(srv.IP); n != 1 {
		t.Errorf("connections = %d", n)
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

func TestIdleConnectionsAreClosedAndReopened(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.28", sshtest.Options{}, e.key)
	o := e.opts(srv.Port)
	o.PoolIdleTimeout = 20 * time.Millisecond
	p := e.pool(o, nil)
	mustExec(t, p, srv.IP, "true")
	deadline := time.Now().Add(10 * time.Second)
	for p.connected(srv.IP) {
		if time.Now().After(deadline) {
			t.Fatal("idle connection was not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustExec(t, p, srv.IP, "true")
	if n := p.ConnectionsOpened(srv.IP); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
}

func TestDeadConnectionIsReplaced(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.31", sshtest.Options{}, e.key)
	p := e.pool(e.opts(srv.Port), nil)
	mustExec(t, p, srv.IP, "true")
	// Kill the sshd process serving our connection (the shell's parent).
	start := time.Now()
	_, kerr := p.Exec(context.Background(), srv.IP, "kill -9 $PPID", ExecOptions{AllowFailure: true})
	t.Logf("kill: %v after %v", kerr, time.Since(start))
	for i := range 3 {
		if res := mustExec(t, p, srv.IP, "echo alive"); res.Stdout != "alive\n" {
			t.Fatalf("attempt %d: %q", i, res.Stdout)
		}
	}
	if n := p.ConnectionsOpened(srv.IP); n != 2 {
		t.Errorf("connections = %d, want 2 (original + one replacement)", n)
	}
}

func TestKeepalivesAreSent(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.32", sshtest.Options{LogLevel: "DEBUG1"}, e.key)
	o := e.opts(srv.Port)
	o.KeepaliveInterval = 20 * time.Millisecond
	p := e.pool(o, nil)
	mustExec(t, p, srv.IP, "true")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.Log(), "keepalive@openssh.com") {
		if time.Now().After(deadline) {
			t.Fatalf("no keepalive reached sshd:\n%s", srv.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDNSFailuresAreRetried(t *testing.T) {
	e := newTestEnv(t)
	srv := sshtest.Start(t, "127.0.0.33", sshtest.Options{}, e.key)
	lookups := 0
	flaky := func(ctx context.Context, host string) ([]string, error) {
		lookups++
		if host != "app.test" || lookups <= 2 {
			return nil, &net.DNSError{Err: "temporary failure", Name: host, IsTemporary: true}
		}
		return []string{srv.IP}, nil
	}
	o := e.opts(srv.Port)
	o.DNSRetries = 2
	p := e.pool(o, nil)
	p.lookup = flaky
	if res := mustExec(t, p, "app.test", "echo $SSH_CONNECTION"); !strings.Contains(res.Stdout, " "+srv.IP+" ") || lookups != 3 {
		t.Fatalf("stdout %q after %d lookups", res.Stdout, lookups)
	}

	lookups = 0
	o.DNSRetries = 1
	p = e.pool(o, nil)
	p.lookup = flaky
	_, err := p.Exec(context.Background(), "app.test", "true", ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), "resolving app.test") || lookups != 2 {
		t.Fatalf("err = %v after %d lookups", err, lookups)
	}
}
