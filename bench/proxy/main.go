// Command proxy benchmarks kamal-proxy against direct access to the same
// upstream, on loopback only: requests/s and p50/p99 latency for small and
// 1 MB responses with keep-alive, and the proxy's resident memory with 1,000
// idle keep-alive connections.
//
//	go build -o bin/kamal-proxy ./cmd/kamal-proxy
//	go run ./bench/proxy -proxy bin/kamal-proxy -duration 5s -concurrency 1,8
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
	duration := flag.Duration("duration", 5*time.Second, "duration of each load case")
	concurrency := flag.String("concurrency", "1,8", "comma-separated numbers of concurrent keep-alive clients, one set of cases each (1 shows the latency the proxy adds, more shows throughput)")
	idle := flag.Int("idle", 1000, "idle keep-alive connections for the memory test")
	useWrk := flag.Bool("wrk", false, "also measure with wrk (must be in PATH)")
	flag.Parse()
	var levels []int
	for _, f := range strings.Split(*concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			log.Fatalf("-concurrency: %q is not a number from 1 to 256", f)
		}
		levels = append(levels, n)
	}
	if err := run(*bin, *duration, levels, *idle, *useWrk); err != nil {
		log.Fatal(err)
	}
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
}

func startProxy(bin string) (*proxyProc, error) {
	dir, err := os.MkdirTemp("", "kp-bench-")
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	httpsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "HOME="+dir, "KAMAL_PROXY_SOCKET="+filepath.Join(dir, "kp.sock"))
	cmd := exec.Command(bin, "run", "--bind=127.0.0.1", "--http-port="+strconv.Itoa(httpPort), "--https-port="+strconv.Itoa(httpsPort))
	cmd.Env = env
	cmd.Stdout = nil // /dev/null: the access log is still encoded, as in production
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proxyProc{cmd: cmd, env: env, bin: bin, port: httpPort}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort)); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("proxy did not start")
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
func (p *proxyProc) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
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

// wrkRun runs wrk with one thread and returns its req/s, p50 and p99 lines.
func wrkRun(url string, d time.Duration, conc int) (string, error) {
	out, err := exec.Command("wrk", "-t1", fmt.Sprintf("-c%d", conc), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency", url).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("wrk: %v: %s", err, out)
	}
	var rps, p50, p99 string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			rps = f[1]
		case len(f) == 2 && f[0] == "50%":
			p50 = f[1]
		case len(f) == 2 && f[0] == "99%":
			p99 = f[1]
		}
	}
	return fmt.Sprintf("%s | %s | %s", rps, p50, p99), nil
}

func run(bin string, d time.Duration, levels []int, idle int, useWrk bool) error {
	up, closeUp, err := upstream()
	if err != nil {
		return err
	}
	defer closeUp()
	p, err := startProxy(bin)
	if err != nil {
		return err
	}
	defer p.stop()
	if err := p.client("deploy", "bench", "--target="+up, "--health-check-path=/small"); err != nil {
		return err
	}
	proxied := fmt.Sprintf("http://127.0.0.1:%d", p.port)
	direct := "http://" + up
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average at start: %s\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}

	for _, conc := range levels {
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

		if useWrk {
			fmt.Printf("\nwrk -t1 -c%d -d%s --latency\n\n| case | path | req/s | p50 | p99 |\n|---|---|---:|---:|---:|\n", conc, d)
			for _, path := range []string{"/small", "/large"} {
				for _, c := range []struct{ name, base string }{{"direct", direct}, {"proxy", proxied}} {
					line, err := wrkRun(c.base+path, d, conc)
					if err != nil {
						return err
					}
					fmt.Printf("| %s | %s | %s |\n", c.name, path, line)
				}
			}
		}
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("\nload average at the end: %s\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}

	before := p.rssKB()
	conns, err := idleConnections(fmt.Sprintf("127.0.0.1:%d", p.port), idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("idle connections (%d opened): %w", len(conns), err)
	}
	time.Sleep(500 * time.Millisecond)
	after := p.rssKB()
	fmt.Printf("\nproxy RSS: %.1f MiB before, %.1f MiB with %d idle keep-alive connections (%.1f KiB per connection)\n",
		float64(before)/1024, float64(after)/1024, len(conns), float64(after-before)/float64(len(conns)))
	return nil
}
