package proxy

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metrics is a small Prometheus text-format registry with the proxy's three
// series plus a few process gauges. A nil *Metrics records nothing.
type Metrics struct {
	mu       sync.Mutex
	series   map[metricKey]*histogram
	inFlight map[string]int64
}

type metricKey struct{ service, method, status string }

type histogram struct {
	count   uint64
	sum     float64
	buckets []uint64
}

// Same buckets as the Prometheus client's defaults.
var metricBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics creates an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{series: map[metricKey]*histogram{}, inFlight: map[string]int64{}}
}

var standardMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true}

func normalizeMethod(m string) string {
	if standardMethods[m] {
		return m
	}
	return "OTHER"
}

func (m *Metrics) addInFlight(service string, d int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.inFlight[service] += d
	m.mu.Unlock()
}

func (m *Metrics) observe(service, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	k := metricKey{service, normalizeMethod(method), strconv.Itoa(status)}
	sec := d.Seconds()
	m.mu.Lock()
	h, ok := m.series[k]
	if !ok {
		h = &histogram{buckets: make([]uint64, len(metricBuckets))}
		m.series[k] = h
	}
	h.count++
	h.sum += sec
	for i, b := range metricBuckets {
		if sec <= b {
			h.buckets[i]++
		}
	}
	m.mu.Unlock()
}

func esc(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// ServeHTTP writes the text exposition format; any path works.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.write(w)
}

func (m *Metrics) write(w io.Writer) {
	m.mu.Lock()
	keys := make([]metricKey, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.service+"\x00"+a.method+"\x00"+a.status < b.service+"\x00"+b.method+"\x00"+b.status
	})
	var sb strings.Builder
	sb.WriteString("# HELP kamal_proxy_http_requests_total HTTP requests processed, by service, method and status.\n# TYPE kamal_proxy_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&sb, "kamal_proxy_http_requests_total{method=\"%s\",service=\"%s\",status=\"%s\"} %d\n", k.method, esc(k.service), k.status, m.series[k].count)
	}
	sb.WriteString("# HELP kamal_proxy_http_request_duration_seconds Request duration in seconds.\n# TYPE kamal_proxy_http_request_duration_seconds histogram\n")
	for _, k := range keys {
		h := m.series[k]
		lbl := fmt.Sprintf("method=\"%s\",service=\"%s\",status=\"%s\"", k.method, esc(k.service), k.status)
		for i, b := range metricBuckets {
			fmt.Fprintf(&sb, "kamal_proxy_http_request_duration_seconds_bucket{%s,le=\"%s\"} %d\n", lbl, strconv.FormatFloat(b, 'g', -1, 64), h.buckets[i])
		}
		fmt.Fprintf(&sb, "kamal_proxy_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", lbl, h.count)
		fmt.Fprintf(&sb, "kamal_proxy_http_request_duration_seconds_sum{%s} %g\n", lbl, h.sum)
		fmt.Fprintf(&sb, "kamal_proxy_http_request_duration_seconds_count{%s} %d\n", lbl, h.count)
	}
	sb.WriteString("# HELP kamal_proxy_http_in_flight_requests Requests currently being served.\n# TYPE kamal_proxy_http_in_flight_requests gauge\n")
	svcs := make([]string, 0, len(m.inFlight))
	for s := range m.inFlight {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	for _, s := range svcs {
		fmt.Fprintf(&sb, "kamal_proxy_http_in_flight_requests{service=\"%s\"} %d\n", esc(s), m.inFlight[s])
	}
	m.mu.Unlock()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(&sb, "# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	fmt.Fprintf(&sb, "# TYPE go_memstats_heap_alloc_bytes gauge\ngo_memstats_heap_alloc_bytes %d\n", ms.HeapAlloc)
	fmt.Fprintf(&sb, "# TYPE go_memstats_sys_bytes gauge\ngo_memstats_sys_bytes %d\n", ms.Sys)
	if rss, ok := residentBytes(); ok {
		fmt.Fprintf(&sb, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", rss)
	}
	_, _ = io.WriteString(w, sb.String())
}

// residentBytes reads RSS from /proc (Linux only).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
