package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestZeroDowntimeDeploys runs a bounded load (8 clients for 10 s) against a
// real proxy on loopback while a new target is deployed every 2 s over the
// command socket. Some requests outlive a switch. Every old target is shut
// down as soon as its deploy returns, as Kamal does with old containers.
// Not one request may fail; only the WebSocket may be closed.
func TestZeroDowntimeDeploys(t *testing.T) {
	if testing.Short() {
		t.Skip("long-running load test")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "kp.sock")
	srv := NewServer(Config{Bind: "127.0.0.1", StateDir: filepath.Join(dir, "state"), SocketPath: sock, Logger: discardLogger()})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	base := "http://" + srv.HTTPAddr()

	deploy := func(app *testApp) {
		t.Helper()
		to := fastTargetOptions()
		args := DeployArgs{
			Service: "web", TargetURLs: []string{app.addr()},
			DeploymentOptions: DeploymentOptions{DeployTimeout: 10 * time.Second, DrainTimeout: 10 * time.Second},
			ServiceOptions:    hostOpts("app.test"), TargetOptions: to,
		}
		var ok bool
		if err := Call(sock, "Deploy", args, &ok); err != nil || !ok {
			t.Errorf("deploy %s: %v", app.name, err)
		}
	}
	apps := []*testApp{newTestApp(t, "v0")}
	deploy(apps[0])

	ws, wsr := dialWebSocket(t, srv.HTTPAddr(), "app.test")
	defer ws.Close()
	ws.Write([]byte("hi"))
	if b := make([]byte, 2); func() bool { _, err := io.ReadFull(wsr, b); return err != nil || string(b) != "hi" }() {
		t.Fatal("websocket echo failed")
	}

	const duration = 10 * time.Second
	stop := make(chan struct{})
	var total, failed, slow atomic.Int64
	var failures sync.Map
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			defer client.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := fmt.Sprintf("/req?c=%d&i=%d", c, i)
				if c == 0 && i%3 == 0 {
					path += "&sleep=2500" // longer than the gap between deploys
					slow.Add(1)
				}
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				req.Host = "app.test"
				total.Add(1)
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					failures.Store(path, err.Error())
					continue
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 || !strings.HasPrefix(string(body), "v") {
					failed.Add(1)
					failures.Store(path, fmt.Sprintf("%d %q %v", res.StatusCode, body, err))
				}
			}
		}()
	}

	deadline := time.After(duration)
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
loop:
	for n := 1; ; n++ {
		select {
		case <-deadline:
			break loop
		case <-ticker.C:
		}
		next := newTestApp(t, fmt.Sprintf("v%d", n))
		deploy(next)
		// The deploy returned: the previous target must be unused now.
		apps[len(apps)-1].close()
		apps = append(apps, next)
	}
	close(stop)
	wg.Wait()

	failures.Range(func(k, v any) bool { t.Errorf("failed %v: %v", k, v); return true })
	t.Logf("requests=%d slow=%d failed=%d deploys=%d", total.Load(), slow.Load(), failed.Load(), len(apps)-1)
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed", failed.Load(), total.Load())
	}
	if len(apps) < 4 || total.Load() < 100 {
		t.Fatalf("load too small to mean anything: %d deploys, %d requests", len(apps)-1, total.Load())
	}
	// The WebSocket was cut by the first drain.
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := wsr.ReadByte(); err == nil {
		t.Fatal("websocket survived the drain")
	}
	fmt.Fprintf(os.Stderr, "zero-downtime: %d requests (%d slow), %d deploys, 0 failed\n", total.Load(), slow.Load(), len(apps)-1)
}
