// Command proxy benchmarks kamal-proxy against direct access to the same
// upstream, on loopback only: requests/s and p50/p99 latency for small and
// 1 MB responses with keep-alive, and the proxy's resident memory with 1,000
// idle keep-alive connections. With -ref and -nginx it also measures other
// kamal-proxy binaries (the original) and nginx in front of the same
// upstream, interleaved in the same run, with wrk.
//
//	go build -o bin/kamal-proxy ./cmd/kamal-proxy
//	go run ./bench/proxy -proxy bin/kamal-proxy -duration 5s -concurrency 1,8
//	go run ./bench/proxy -proxy bin/kamal-proxy -concurrency '' -ref /path/to/original/kamal-proxy -nginx
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	bin := flag.String("proxy", "bin/kamal-proxy", "path to the kamal-proxy binary")
	duration := flag.Duration("duration", 5*time.Second, "duration of each Go-client load case")
	concurrency := flag.String("concurrency", "1,8", "comma-separated numbers of concurrent keep-alive clients, one set of Go-client cases each (1 shows the latency the proxy adds, more shows throughput); empty for none")
	idle := flag.Int("idle", 1000, "idle keep-alive connections for the memory test (0: no memory test)")
	useWrk := flag.Bool("wrk", false, "also measure each concurrency level with wrk -t1 (must be in PATH)")
	ref := flag.String("ref", "", "comma-separated other kamal-proxy binaries (e.g. the original) to measure side by side with ours, each PATH or NAME=PATH")
	withNginx := flag.Bool("nginx", false, "also measure nginx (from PATH or /usr/sbin) as a reverse proxy to the same upstream")
	rounds := flag.Int("rounds", 3, "rounds of the side-by-side comparison (with -ref or -nginx)")
	threads := flag.Int("wrk-threads", 2, "wrk threads in the comparison")
	conns := flag.Int("wrk-conns", 32, "wrk connections in the comparison")
	wrkDuration := flag.Duration("wrk-duration", 4*time.Second, "duration of each wrk run in the comparison")
	paths := flag.String("paths", "/small", "comma-separated paths for the comparison: /small (13 bytes) and /large (1 MiB)")
	flag.Parse()
	cfg := config{bin: *bin, duration: *duration, idle: *idle, useWrk: *useWrk, nginx: *withNginx,
		rounds: *rounds, threads: *threads, conns: *conns, wrkDuration: *wrkDuration}
	for _, f := range strings.Split(*concurrency, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			log.Fatalf("-concurrency: %q is not a number from 1 to 256", f)
		}
		cfg.levels = append(cfg.levels, n)
	}
	for _, f := range strings.Split(*ref, ",") {
		if f = strings.TrimSpace(f); f != "" {
			cfg.refs = append(cfg.refs, f)
		}
	}
	for _, f := range strings.Split(*paths, ",") {
		if f = strings.TrimSpace(f); f != "/small" && f != "/large" {
			log.Fatalf("-paths: %q is neither /small nor /large", f)
		}
		cfg.paths = append(cfg.paths, strings.TrimSpace(f))
	}
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

type config struct {
	bin                    string
	duration               time.Duration
	levels                 []int
	idle                   int
	useWrk                 bool
	refs                   []string
	nginx                  bool
	rounds, threads, conns int
	wrkDuration            time.Duration
	paths                  []string
}

var small = []byte("hello, world\n")
var large = []byte(strings.Repeat("x", 1<<20))

func upstream() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := small
		if r.URL.Path == "/large" {
			body = large
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// tempDirAndPort makes a private directory for one process and picks a
// free loopback port for it.
func tempDirAndPort(prefix string) (string, int, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", 0, err
	}
	port, err := freePort()
	return dir, port, err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

type proxyProc struct {
	cmd  *exec.Cmd
	env  []string
	bin  string
	port int
	dir  string
}

// startProxy runs a kamal-proxy binary with its state and command socket in
// a fresh temporary directory. The original has no --bind flag and listens
// on every interface; ours is kept on loopback.
func startProxy(bin string, original bool) (*proxyProc, error) {
	dir, httpPort, err := tempDirAndPort("kp-bench-")
	if err != nil {
		return nil, err
	}
	httpsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+dir, "KAMAL_PROXY_SOCKET="+filepath.Join(dir, "kamal-proxy.sock"))
	args := []string{"run", "--http-port=" + strconv.Itoa(httpPort), "--https-port=" + strconv.Itoa(httpsPort)}
	if !original {
		args = append(args, "--bind=127.0.0.1")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = nil // /dev/null: the access log is still encoded, as in production
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proxyProc{cmd: cmd, env: env, bin: bin, port: httpPort, dir: dir}
	if err := waitListening(httpPort); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	return p, nil
}

func waitListening(port int) error {
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on port %d after 5s", port)
}

func (p *proxyProc) client(args ...string) error {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func (p *proxyProc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()
	os.RemoveAll(p.dir)
}

func (p *proxyProc) rssKB() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return -1
}

// cpuTime returns user+system CPU time of the proxy process; dividing its
// growth by the request count gives a cost that does not depend on how busy
// the machine is.
func (p *proxyProc) cpuTime() time.Duration { return procCPU(p.cmd.Process.Pid) }

func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ is 100 on Linux
}

type result struct {
	requests int
	errors   int
	rps      float64
	p50, p99 time.Duration
}

func load(url string, d time.Duration, conc int) result {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			defer client.CloseIdleConnections()
			local := make([]time.Duration, 0, 1<<14)
			e := 0
			for time.Now().Before(deadline) {
				t0 := time.Now()
				res, err := client.Get(url)
				if err != nil {
					e++
					continue
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 {
					e++
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += e
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{requests: len(lat), errors: errs, rps: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)*50/100]
		r.p99 = lat[len(lat)*99/100]
	}
	return r
}

// idleConnections opens n keep-alive connections, sends one request on each
// and leaves them open.
func idleConnections(addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return conns, err
		}
		fmt.Fprintf(c, "GET /small HTTP/1.1\r\nHost: bench.test\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return conns, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		conns = append(conns, c)
	}
	return conns, nil
}

func run(cfg config) error {
	up, closeUp, err := upstream()
	if err != nil {
		return err
	}
	defer closeUp()
	p, err := startProxy(cfg.bin, false)
	if err != nil {
		return err
	}
	defer p.stop()
	deployArgs := []string{"deploy", "bench", "--target=" + up, "--health-check-path=/small"}
	if err := p.client(deployArgs...); err != nil {
		return err
	}
	proxied := fmt.Sprintf("http://127.0.0.1:%d", p.port)
	direct := "http://" + up
	cs := []contender{{name: "direct", base: direct}, {name: "ours", base: proxied, cpu: p.cpuTime}}
	refs := []*proxyProc{}
	for i, entry := range cfg.refs {
		name := "ref"
		if len(cfg.refs) > 1 {
			name = fmt.Sprintf("ref%d", i+1)
		}
		bin := entry
		if n, path, ok := strings.Cut(entry, "="); ok {
			name, bin = n, path
		}
		r, err := startProxy(bin, true)
		if err != nil {
			return err
		}
		defer r.stop()
		if err := r.client(deployArgs...); err != nil {
			return fmt.Errorf("%s: %w", bin, err)
		}
		fmt.Printf("%s: %s\n", name, bin)
		refs = append(refs, r)
		cs = append(cs, contender{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", r.port), cpu: r.cpuTime})
	}
	if cfg.nginx {
		n, err := startNginx(up)
		if err != nil {
			return err
		}
		defer n.stop()
		cs = append(cs, contender{name: "nginx", base: fmt.Sprintf("http://127.0.0.1:%d", n.port), cpu: n.cpuTime})
	}
	fmt.Printf("load average at start: %s\n", loadAverage())

	for _, conc := range cfg.levels {
		if err := goClientCases(direct, proxied, p, cfg.duration, conc, cfg.useWrk); err != nil {
			return err
		}
	}
	if len(cs) > 2 && cfg.rounds > 0 {
		for _, path := range cfg.paths {
			if err := compare(cs, path, cfg.rounds, cfg.threads, cfg.conns, cfg.wrkDuration); err != nil {
				return err
			}
		}
	}
	fmt.Printf("\nload average at the end: %s\n", loadAverage())

	if cfg.idle > 0 {
		if err := idleMemory("ours", p, cfg.idle); err != nil {
			return err
		}
		for i, r := range refs {
			if err := idleMemory(cs[2+i].name, r, cfg.idle); err != nil {
				return err
			}
		}
	}
	return nil
}

// goClientCases measures direct and proxied requests with the Go client
// (and wrk -t1 with useWrk) at one concurrency level.
func goClientCases(direct, proxied string, p *proxyProc, d time.Duration, conc int, useWrk bool) error {
	fmt.Printf("\nconcurrency %d, %s per case, keep-alive, loopback\n\n", conc, d)
	fmt.Println("| case | path | req/s | p50 | p99 | errors |")
	fmt.Println("|---|---|---:|---:|---:|---:|")
	results := map[string]result{}
	for _, path := range []string{"/small", "/large"} {
		for _, c := range []struct{ name, base string }{{"direct", direct}, {"proxy", proxied}} {
			cpu0 := p.cpuTime()
			r := load(c.base+path, d, conc)
			results[c.name+path] = r
			cpu := ""
			if c.name == "proxy" && r.requests > 0 {
				cpu = fmt.Sprintf(" (proxy CPU %.0f µs/request)", float64((p.cpuTime()-cpu0).Microseconds())/float64(r.requests))
			}
			fmt.Printf("| %s | %s | %.0f | %s | %s | %d |%s\n", c.name, path, r.rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors, cpu)
		}
	}
	fmt.Println()
	for _, path := range []string{"/small", "/large"} {
		dr, pr := results["direct"+path], results["proxy"+path]
		fmt.Printf("%s: proxy throughput %.2fx direct, added p50 %s\n", path, pr.rps/dr.rps, (pr.p50 - dr.p50).Round(time.Microsecond))
	}
	if !useWrk {
		return nil
	}
	fmt.Printf("\nwrk -t1 -c%d -d%s --latency\n\n| case | path | req/s | p50 | p99 |\n|---|---|---:|---:|---:|\n", conc, d)
	for _, path := range []string{"/small", "/large"} {
		for _, c := range []struct{ name, base string }{{"direct", direct}, {"proxy", proxied}} {
			r, err := runWrk(c.base+path, 1, conc, d)
			if err != nil {
				return err
			}
			fmt.Printf("| %s | %s | %.0f | %s | %s |\n", c.name, path, r.rps, r.p50, r.p99)
		}
	}
	return nil
}

// idleMemory opens n keep-alive connections to the proxy, leaves them idle
// and reports how much its resident memory grew.
func idleMemory(name string, p *proxyProc, n int) error {
	before := p.rssKB()
	conns, err := idleConnections(fmt.Sprintf("127.0.0.1:%d", p.port), n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("%s: idle connections (%d opened): %w", name, len(conns), err)
	}
	time.Sleep(500 * time.Millisecond)
	after := p.rssKB()
	fmt.Printf("\n%s RSS: %.1f MiB before, %.1f MiB with %d idle keep-alive connections (%.1f KiB per connection)\n",
		name, float64(before)/1024, float64(after)/1024, len(conns), float64(after-before)/float64(len(conns)))
	return nil
}
