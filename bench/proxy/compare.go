package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// contender is one way to reach the upstream: directly or through a proxy.
type contender struct {
	name string
	base string               // "http://127.0.0.1:port"
	cpu  func() time.Duration // CPU time used so far; nil when not measured
}

// wrkResult is what the comparison reads from one wrk run.
type wrkResult struct {
	rps      float64
	p50, p99 string
	errors   int // socket errors and non-2xx/3xx responses
}

func runWrk(url string, threads, conns int, d time.Duration) (wrkResult, error) {
	out, err := exec.Command("wrk", fmt.Sprintf("-t%d", threads), fmt.Sprintf("-c%d", conns),
		fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency", url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	var r wrkResult
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			r.p50 = f[1]
		case len(f) == 2 && f[0] == "99%":
			r.p99 = f[1]
		case strings.HasPrefix(line, "  Socket errors:"):
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for _, v := range f[2:] {
				n, _ := strconv.Atoi(strings.TrimSuffix(v, ","))
				r.errors += n
			}
		case strings.HasPrefix(line, "  Non-2xx or 3xx responses:"):
			n, _ := strconv.Atoi(f[len(f)-1])
			r.errors += n
		}
	}
	return r, nil
}

func loadAverage() string {
	la, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(la))[:3], " ")
}

// compare measures every contender with the same wrk settings, one after
// the other inside each round, so that the background load of the shared
// machine hits all of them alike; the start of the order rotates with the
// round. Ratios are computed within a round.
func compare(cs []contender, path string, rounds, threads, conns int, d time.Duration) error {
	fmt.Printf("\nwrk -t%d -c%d -d%s --latency, %s, keep-alive, loopback, %d rounds (interleaved)\n\n", threads, conns, d, path, rounds)
	head := "| round | load (1/5/15 min) |"
	sep := "|---|---|"
	for _, c := range cs {
		head += " " + c.name + " req/s |"
		sep += "---:|"
	}
	ratios := ratioPairs(cs)
	for _, rp := range ratios {
		head += " " + cs[rp[0]].name + "/" + cs[rp[1]].name + " |"
		sep += "---:|"
	}
	fmt.Println(head)
	fmt.Println(sep)
	all := make([][]wrkResult, rounds)
	cpus := make([][]float64, rounds)
	for round := range rounds {
		load := loadAverage()
		res := make([]wrkResult, len(cs))
		cpu := make([]float64, len(cs))
		for k := range cs {
			i := (k + round) % len(cs)
			c := cs[i]
			var cpu0 time.Duration
			if c.cpu != nil {
				cpu0 = c.cpu()
			}
			r, err := runWrk(c.base+path, threads, conns, d)
			if err != nil {
				return err
			}
			res[i] = r
			if c.cpu != nil && r.rps > 0 {
				cpu[i] = float64((c.cpu() - cpu0).Microseconds()) / (r.rps * d.Seconds())
			}
		}
		all[round], cpus[round] = res, cpu
		line := fmt.Sprintf("| %d | %s |", round+1, load)
		for _, r := range res {
			e := ""
			if r.errors > 0 {
				e = fmt.Sprintf(" (%d errors)", r.errors)
			}
			line += fmt.Sprintf(" %.0f%s |", r.rps, e)
		}
		for _, rp := range ratios {
			line += fmt.Sprintf(" %.2fx |", res[rp[0]].rps/res[rp[1]].rps)
		}
		fmt.Println(line)
	}

	fmt.Printf("\nlatency (p50 / p99) and CPU per request of the proxy process(es), same runs\n\n| round |")
	for _, c := range cs {
		fmt.Printf(" %s |", c.name)
	}
	fmt.Printf("\n|---|%s\n", strings.Repeat("---|", len(cs)))
	for round, res := range all {
		fmt.Printf("| %d |", round+1)
		for i, r := range res {
			cpu := ""
			if cpus[round][i] > 0 {
				cpu = fmt.Sprintf(", %.0f µs CPU", cpus[round][i])
			}
			fmt.Printf(" %s / %s%s |", r.p50, r.p99, cpu)
		}
		fmt.Println()
	}

	fmt.Println()
	for _, rp := range ratios {
		var rs []float64
		for _, res := range all {
			rs = append(rs, res[rp[0]].rps/res[rp[1]].rps)
		}
		sort.Float64s(rs)
		fmt.Printf("%s/%s: min %.2fx, median %.2fx, max %.2fx\n", cs[rp[0]].name, cs[rp[1]].name, rs[0], rs[len(rs)/2], rs[len(rs)-1])
	}
	return nil
}

// ratioPairs lists (ours, other) index pairs: ours against every other
// contender. cs[0] is direct and cs[1] is ours.
func ratioPairs(cs []contender) [][2]int {
	var out [][2]int
	for i := 2; i < len(cs); i++ {
		out = append(out, [2]int{1, i})
	}
	return append(out, [2]int{1, 0})
}

// nginxProc is nginx from the system (Debian's package) configured as a
// plain reverse proxy to the same upstream: 2 workers, keep-alive
// connections to the upstream, access log on (written to /dev/null like the
// proxies' logs).
type nginxProc struct {
	cmd  *exec.Cmd
	dir  string
	port int
}

const nginxConf = `worker_processes 2;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
%[4]s
events { worker_connections 4096; }
http {
	access_log /dev/null combined;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	upstream app {
		server %[2]s;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:%[3]d;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Forwarded-Host $host;
		}
	}
}
`

func startNginx(upstream string) (*nginxProc, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nginx"); err2 != nil {
			return nil, fmt.Errorf("nginx not found (apt-get install nginx): %w", err)
		}
		bin = "/usr/sbin/nginx"
	}
	dir, port, err := tempDirAndPort("nginx-bench-")
	if err != nil {
		return nil, err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the default (nobody) cannot use the temp dir
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, upstream, port, user)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nginxProc{cmd: cmd, dir: dir, port: port}
	if err := waitListening(port); err != nil {
		n.stop()
		return nil, fmt.Errorf("nginx: %w", err)
	}
	return n, nil
}

func (n *nginxProc) stop() {
	n.cmd.Process.Signal(os.Interrupt)
	n.cmd.Wait()
	os.RemoveAll(n.dir)
}

// cpuTime is the CPU time of the master and its workers.
func (n *nginxProc) cpuTime() time.Duration {
	pid := n.cmd.Process.Pid
	total := procCPU(pid)
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			total += procCPU(c)
		}
	}
	return total
}
