package webapp

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeUntilSignal: the server answers once it logged its start, and
// a signal lets a request in flight finish before Serve returns.
func TestServeUntilSignal(t *testing.T) {
	var logs bytes.Buffer
	log.SetOutput(&logs)
	defer log.SetOutput(os.Stderr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inFlight, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hi") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		<-release
		fmt.Fprint(w, "done")
	})
	signals := make(chan os.Signal, 1)
	errc := make(chan error, 1)
	go func() { errc <- serve(ln, mux, signals, 10*time.Second, "test listening") }()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	get := func(path string) string {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("/"); got != "hi" {
		t.Fatalf("GET / = %q", got)
	}
	slow := make(chan string, 1)
	go func() { slow <- get("/slow") }()
	<-inFlight
	signals <- syscall.SIGTERM
	close(release)
	if got := <-slow; got != "done" {
		t.Errorf("request in flight during shutdown = %q, want done", got)
	}
	if err := <-errc; err != nil {
		t.Errorf("serve = %v", err)
	}
	for _, want := range []string{"test listening", "received terminated, shutting down"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

func TestEnvOr(t *testing.T) {
	t.Setenv("WEBAPP_TEST_SET", "x")
	t.Setenv("WEBAPP_TEST_EMPTY", "")
	for key, want := range map[string]string{"WEBAPP_TEST_SET": "x", "WEBAPP_TEST_EMPTY": "d", "WEBAPP_TEST_UNSET": "d"} {
		if got := EnvOr(key, "d"); got != want {
			t.Errorf("EnvOr(%s) = %q, want %q", key, got, want)
		}
	}
}
