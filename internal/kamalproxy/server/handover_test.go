package server

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/syncbuf"
)

// handoverProxy is one kamal-proxy process of a hand-over test: all of a
// test's proxies share the state directory, as containers share the
// kamal-proxy-config volume.
type handoverProxy struct {
	*Server
	logs *syncbuf.Buffer
	sock string
}

// startHandoverProxy starts a proxy; tune changes its configuration before
// it starts (a running server's goroutines read it).
func startHandoverProxy(t *testing.T, stateDir, name string, tune ...func(*Config)) *handoverProxy {
	t.Helper()
	p := &handoverProxy{logs: &syncbuf.Buffer{}, sock: filepath.Join(filepath.Dir(stateDir), name+".sock")}
	cfg := Config{
		Bind: "127.0.0.1", StateDir: stateDir, SocketPath: p.sock, Version: name,
		Logger:          slog.New(slog.NewJSONHandler(p.logs, nil)),
		ShutdownTimeout: 5 * time.Second,
		Handover:        HandoverConfig{ReleaseGrace: 10 * time.Millisecond},
	}
	for _, f := range tune {
		f(&cfg)
	}
	p.Server = NewServer(cfg)
	if err := p.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return p
}

// requests is how many requests the proxy logged.
func (p *handoverProxy) requests() int { return strings.Count(p.logs.String(), `"msg":"Request"`) }

func (p *handoverProxy) deploy(t *testing.T, service, host string, app *testApp) {
	t.Helper()
	var ok bool
	args := DeployArgs{Service: service, TargetURLs: []string{app.addr()}, DeploymentOptions: fastDeploy(),
		ServiceOptions: hostOpts(host), TargetOptions: fastTargetOptions()}
	if err := Call(p.sock, "Deploy", args, &ok); err != nil || !ok {
		t.Fatalf("deploy %s through %s: %v", service, p.cfg.Version, err)
	}
}

// handoverLoad requests addr with keep-alive clients until stopped and
// counts what fails.
type handoverLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startHandoverLoad(addr string, hosts ...string) *handoverLoad {
	l := &handoverLoad{stop: make(chan struct{})}
	for i := range 6 {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer client.CloseIdleConnections()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				host := hosts[(i+n)%len(hosts)]
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				req.Host = host
				res, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 5 {
						l.errs = append(l.errs, fmt.Sprintf("%s: %v", host, err))
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	return l
}

func (l *handoverLoad) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if l.failed.Load() > 0 || l.ok.Load() == 0 {
		t.Errorf("%d requests ok, %d failed: %v", l.ok.Load(), l.failed.Load(), l.errs)
	}
}

// waitRequests waits until p served n requests.
func waitRequests(t *testing.T, p *handoverProxy, n int) {
	t.Helper()
	waitFor(t, func() bool { return p.requests() >= n })
}

// TestHandoverLosesNoRequest: a proxy with two services is replaced by a
// new process on the same state directory under a request loop, and that
// one by a third. The sockets stay the same, not one request fails, a
// request in flight finishes on the old process, every route carries
// over, and routing changes go to the new process.
func TestHandoverLosesNoRequest(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	a := startHandoverProxy(t, state, "a")
	alpha, beta, slowApp := newTestApp(t, "alpha"), newTestApp(t, "beta"), newTestApp(t, "slow")
	a.deploy(t, "alpha", "alpha.test", alpha)
	a.deploy(t, "beta", "beta.test", beta)
	a.deploy(t, "slow", "slow.test", slowApp)
	addr := a.HTTPAddr()

	load := startHandoverLoad(addr, "alpha.test", "beta.test")
	waitRequests(t, a, 20)
	slow := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/?sleep=700", nil)
		req.Host = "slow.test"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- fmt.Sprintf("%d %s", res.StatusCode, b)
	}()
	waitFor(t, func() bool { return slowApp.hits.Load() == 1 })

	b := startHandoverProxy(t, state, "b")
	if b.HTTPAddr() != addr {
		t.Fatalf("the new proxy listens on %s, the old one on %s", b.HTTPAddr(), addr)
	}
	waitRequests(t, b, 20)
	if got := <-slow; got != "200 slow /?sleep=700" {
		t.Errorf("request in flight during the hand-over: %q", got)
	}
	if n := len(b.Router.List()); n != 3 {
		t.Errorf("the new proxy has %d services, want 3", n)
	}
	// Routing changes go to the new process; the old one refuses them.
	gamma := newTestApp(t, "gamma")
	b.deploy(t, "alpha", "alpha.test", gamma)
	var ok bool
	if err := Call(a.sock, "Remove", RemoveArgs{Service: "beta"}, &ok); err == nil {
		t.Error("the old proxy still takes commands")
	}
	waitFor(t, func() bool { return gamma.hits.Load() > 10 })

	// a opened the sockets: it holds them once its requests are done.
	waitFor(t, func() bool { return strings.Contains(a.logs.String(), "Holding the published ports") })
	before := a.requests()

	c := startHandoverProxy(t, state, "c")
	waitRequests(t, c, 20)
	load.finish(t)
	if a.requests() != before {
		t.Errorf("the holder served %d requests", a.requests()-before)
	}
	// b got its sockets handed over: it ends once its requests are done.
	select {
	case <-b.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the second proxy did not end after handing over")
	}
	select {
	case <-a.Done():
		t.Fatal("the holder ended while its successor serves")
	default:
	}

	// c stops for good: the holder releases the ports and ends.
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder did not release the ports")
	}
	if ln, err := net.Listen("tcp", addr); err != nil {
		t.Errorf("the port is still held: %v", err)
	} else {
		ln.Close()
	}
}

// crash ends p the way a killed process ends: every socket closes, nothing
// is handed over or released.
func (p *handoverProxy) crash() {
	p.ho.mu.Lock()
	if p.ho.ln != nil {
		p.ho.ln.Close()
	}
	p.ho.role = roleStopped
	p.ho.mu.Unlock()
	p.rpcLn.Close()
	<-p.traffic.stopAccepting(time.Now(), p.Server.log)
	p.socks.close()
	p.Router.Shutdown()
}

// fakeSuccessor talks the new side of the conversation up to step, then
// hangs up, as a new proxy killed there would.
func fakeSuccessor(t *testing.T, p *handoverProxy, protocol int, step string) string {
	t.Helper()
	c, err := dialPacket(p.rendezvous("handover"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, handoverMsg{Type: msgHello, Protocol: protocol}); err != nil {
		t.Fatal(err)
	}
	m, files, err := recv(c, 10*time.Second)
	closeFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != msgListeners {
		return m.Type + " " + m.Reason
	}
	if step == msgListeners {
		return step
	}
	send(c, handoverMsg{Type: msgReady})
	if _, _, err := expect(c, msgStopped, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return msgStopped
}

// TestHandoverToADyingSuccessor: a new proxy that dies during the hand-over,
// before or after the old one stopped accepting, leaves the old one
// serving every request and taking commands.
func TestHandoverToADyingSuccessor(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	a := startHandoverProxy(t, state, "a")
	a.deploy(t, "alpha", "alpha.test", newTestApp(t, "alpha"))
	load := startHandoverLoad(a.HTTPAddr(), "alpha.test")
	for i, step := range []string{msgListeners, msgStopped, msgStopped} {
		n := a.requests()
		if got := fakeSuccessor(t, a, HandoverProtocol, step); got != step {
			t.Fatalf("hand-over to a successor dying after %s: %q", step, got)
		}
		waitFor(t, func() bool { return strings.Count(a.logs.String(), "Hand-over failed; serving again") == i+1 })
		waitRequests(t, a, n+20)
	}
	load.finish(t)
	a.deploy(t, "beta", "beta.test", newTestApp(t, "beta"))

	if got := fakeSuccessor(t, a, HandoverProtocol+1, ""); !strings.HasPrefix(got, msgRefused+" the new kamal-proxy speaks hand-over protocol 2") {
		t.Errorf("a successor of another protocol: %q", got)
	}
	if n := strings.Count(a.logs.String(), "Hand-over failed; serving again"); n != 3 {
		t.Errorf("%d failed hand-overs logged, want 3", n)
	}
}

// TestHolderServesARestartedSuccessor: when the proxy the ports are held
// for dies, its restart gets the held sockets.
func TestHolderServesARestartedSuccessor(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	a := startHandoverProxy(t, state, "a")
	a.deploy(t, "alpha", "alpha.test", newTestApp(t, "alpha"))
	b := startHandoverProxy(t, state, "b")
	waitFor(t, func() bool { return strings.Contains(a.logs.String(), "Holding the published ports") })
	b.crash()

	c := startHandoverProxy(t, state, "c")
	if c.HTTPAddr() != a.HTTPAddr() {
		t.Fatalf("the restarted proxy listens on %s, the held socket is %s", c.HTTPAddr(), a.HTTPAddr())
	}
	res, err := http.Get("http://" + c.HTTPAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	load := startHandoverLoad(c.HTTPAddr(), "alpha.test")
	waitRequests(t, c, 20)
	load.finish(t)
	if !strings.Contains(a.logs.String(), "Handing the held sockets to a restarted kamal-proxy") {
		t.Error("the holder did not hand its sockets over")
	}
}

// TestHolderStoppingKeepsItsStatus: a holder that is stopped itself (Docker
// stops every container at daemon shutdown) refuses to release and ends
// with ErrStoppedWhileHolding, so that Docker starts it again at boot.
func TestHolderStoppingKeepsItsStatus(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	a := startHandoverProxy(t, state, "a", func(c *Config) { c.Handover.ReleaseGrace = 10 * time.Second })
	b := startHandoverProxy(t, state, "b")
	waitFor(t, func() bool { return strings.Contains(a.logs.String(), "Holding the published ports") })

	released := make(chan error, 1)
	go func() { released <- b.Shutdown() }()
	waitFor(t, func() bool { return strings.Contains(a.logs.String(), "Asked to release the published ports") })
	if err := a.Shutdown(); err != ErrStoppedWhileHolding {
		t.Errorf("holder stopped: %v, want ErrStoppedWhileHolding", err)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.logs.String(), "The holder of the published ports keeps them") {
		t.Errorf("the successor's log:\n%s", b.logs.String())
	}
}

// TestHandoverAnswersConnectionsAcceptedBefore: a connection the old
// process accepted just before the hand-over, whose request arrives after
// it, gets its answer from the old process (http.Server.Shutdown alone
// would close it unanswered), and is not kept alive: a request the fast
// loop serves, and one it hands to net/http.
func TestHandoverAnswersConnectionsAcceptedBefore(t *testing.T) {
	for _, c := range []struct{ name, raw, body string }{
		{"fast loop", "GET / HTTP/1.1\r\nHost: alpha.test\r\n\r\n", "alpha /?"},
		{"net/http", "POST /p HTTP/1.1\r\nHost: alpha.test\r\nContent-Length: 2\r\n\r\nhi", "alpha /p?"},
	} {
		t.Run(c.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			a := startHandoverProxy(t, state, "a")
			a.deploy(t, "alpha", "alpha.test", newTestApp(t, "alpha"))
			conn, err := net.Dial("tcp", a.HTTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			waitFor(t, func() bool { // accepted, by the fast loop
				a.traffic.fast.mu.Lock()
				defer a.traffic.fast.mu.Unlock()
				return len(a.traffic.fast.conns) == 1
			})
			b := startHandoverProxy(t, state, "b")
			io.WriteString(conn, c.raw)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("the connection accepted before the hand-over: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || string(body) != c.body || !res.Close {
				t.Errorf("got %d %q (close %v), want 200 %q and the connection closed", res.StatusCode, body, res.Close, c.body)
			}
			if a.requests() != 1 || b.requests() != 0 {
				t.Errorf("old served %d, new %d; want the old one to answer", a.requests(), b.requests())
			}
		})
	}
}
