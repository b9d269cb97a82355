package server

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the proxy's Prometheus series in a registry of its own (not
// the global default one, so that several servers can live in one process,
// as in tests). A nil *Metrics records nothing.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	handler  http.Handler

	// The vectors hash their label values on every lookup; these caches
	// resolve each label combination once (the set is as bounded as the
	// series themselves).
	seriesCache   sync.Map // seriesKey -> *series
	inFlightCache sync.Map // service -> prometheus.Gauge
}

type seriesKey struct{ service, method, status string }

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics creates the registry with the three proxy series plus the Go
// runtime and process collectors, as the reference serves them.
func NewMetrics() *Metrics {
	labels := []string{"service", "method", "status"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kamal_proxy_http_requests_total",
			Help: "HTTP requests processed, by service, method and status.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kamal_proxy_http_request_duration_seconds",
			Help:    "Request duration in seconds.",
			Buckets: prometheus.DefBuckets,
		}, labels),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kamal_proxy_http_in_flight_requests",
			Help: "Requests currently being served.",
		}, []string{"service"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.inFlight,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Like the reference, the exporter is the root handler: any path works.
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

var standardMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true}

func normalizeMethod(m string) string {
	if standardMethods[m] {
		return m
	}
	return "OTHER"
}

// statusLabels avoids formatting (and allocating) the status label on
// every request.
var statusLabels = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// inFlightGauge returns the in-flight gauge of service, or nil when metrics
// are off.
func (m *Metrics) inFlightGauge(service string) prometheus.Gauge {
	if m == nil {
		return nil
	}
	if g, ok := m.inFlightCache.Load(service); ok {
		return g.(prometheus.Gauge)
	}
	g, _ := m.inFlightCache.LoadOrStore(service, m.inFlight.WithLabelValues(service))
	return g.(prometheus.Gauge)
}

func (m *Metrics) observe(service, method string, status int, sec float64) {
	if m == nil {
		return
	}
	k := seriesKey{service, normalizeMethod(method), statusLabel(status)}
	v, ok := m.seriesCache.Load(k)
	if !ok {
		v, _ = m.seriesCache.LoadOrStore(k, &series{
			requests: m.requests.WithLabelValues(k.service, k.method, k.status),
			duration: m.duration.WithLabelValues(k.service, k.method, k.status),
		})
	}
	s := v.(*series)
	s.requests.Inc()
	s.duration.Observe(sec)
}

// ServeHTTP serves the exposition format (text or protobuf, as negotiated).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.handler.ServeHTTP(w, r)
}
