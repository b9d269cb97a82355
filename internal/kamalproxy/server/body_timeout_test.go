package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowRequestBodyIsCut: a client that trickles its body is answered 408
// and disconnected, with or without request buffering; a fast body and a
// slow but steady one (above the minimum rate) go through.
func TestSlowRequestBodyIsCut(t *testing.T) {
	srv, stop := startLoggedServer(t, Config{RequestBodyTimeout: 300 * time.Millisecond, RequestBodyMinRate: 100})
	app := newTestApp(t, "app")
	app.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "read %d %v", n, err)
	})
	plain := hostOpts("plain.test")
	if err := srv.Router.Deploy("plain", []string{app.addr()}, nil, fastDeploy(), plain, fastTargetOptions()); err != nil {
		t.Fatal(err)
	}
	buffered := fastTargetOptions()
	buffered.BufferRequests = true
	if err := srv.Router.Deploy("buffered", []string{app.addr()}, nil, fastDeploy(), hostOpts("buffered.test"), buffered); err != nil {
		t.Fatal(err)
	}

	// send writes the request head, then the body in chunks with a pause
	// between them, and returns the response (or the read error).
	send := func(host string, chunks int, chunk string, pause time.Duration) (int, string, error) {
		t.Helper()
		conn, err := net.Dial("tcp", srv.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second)) // a failing test ends instead of hanging
		fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", host, chunks*len(chunk))
		res := make(chan *http.Response, 1)
		errc := make(chan error, 1)
		go func() {
			r, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				errc <- err
				return
			}
			res <- r
		}()
		for i := 0; i < chunks; i++ {
			select {
			case r := <-res:
				b, _ := io.ReadAll(r.Body)
				return r.StatusCode, string(b), nil
			case <-time.After(pause):
			}
			if _, err := io.WriteString(conn, chunk); err != nil {
				break
			}
		}
		select {
		case r := <-res:
			b, _ := io.ReadAll(r.Body)
			return r.StatusCode, string(b), nil
		case err := <-errc:
			return 0, "", err
		}
	}

	for _, host := range []string{"plain.test", "buffered.test"} {
		// One byte every 100 ms is 10 B/s, under the minimum of 100 B/s.
		status, body, err := send(host, 100, "x", 100*time.Millisecond)
		if err != nil || status != http.StatusRequestTimeout {
			t.Fatalf("%s, trickled body: %d %q %v", host, status, body, err)
		}
		// 64 bytes every 50 ms (1280 B/s) for longer than the timeout.
		status, body, err = send(host, 16, strings.Repeat("y", 64), 50*time.Millisecond)
		if err != nil || status != 200 || body != "read 1024 <nil>" {
			t.Fatalf("%s, steady body: %d %q %v", host, status, body, err)
		}
	}
	res, err := http.Post("http://"+srv.HTTPAddr()+"/", "application/octet-stream", bytes.NewReader(make([]byte, 4<<20)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("unrouted fast body: %d %s", res.StatusCode, b)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr()+"/", bytes.NewReader(make([]byte, 4<<20)))
	req.Host = "plain.test"
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != fmt.Sprintf("read %d <nil>", 4<<20) {
		t.Fatalf("fast body: %d %s", res.StatusCode, b)
	}
	logs := stop()
	if got := strings.Count(logs, `"msg":"Request body timed out"`); got != 2 {
		t.Fatalf("%d timeout log lines:\n%s", got, logs)
	}
	if !strings.Contains(logs, `"status":408`) {
		t.Fatalf("access log lacks the 408:\n%s", logs)
	}
}
