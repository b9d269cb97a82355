package testhosts

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HTTPClient talks to the simulated hosts directly, never through a proxy
// named by the environment.
var HTTPClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}

// Get fetches url with HTTPClient. A non-empty host is sent as the Host
// header, to reach an app through its kamal-proxy route.
func Get(ctx context.Context, url, host string) (status int, body string, err error) {
	return get(ctx, HTTPClient, url, host)
}

func get(ctx context.Context, client *http.Client, url, host string) (status int, body string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// LoadOptions configures StartLoad.
type LoadOptions struct {
	Hosts []*Host // requested in turn, each client starting at another one
	Host  string  // Host header (the app's proxy host); empty for none
	Path  string  // default "/"
	// HTTPS requests https:// with Client (which trusts the app's
	// certificate); default plain HTTP with HTTPClient.
	HTTPS  bool
	Client *http.Client
	// Clients request concurrently; each stops after MaxPerClient
	// requests at the latest, so the load is bounded even if whatever it
	// watches hangs.
	Clients, MaxPerClient int
	// Key names what an answer with status 200 shows (a version, a
	// message); the load counts answers per key. Default: the whole body.
	Key func(body string) string
}

// maxLoadErrors bounds the failures a Load keeps as samples.
const maxLoadErrors = 10

// Load is a running request loop against the hosts' proxies, as clients
// of a deployed app keep requesting it during a deploy. Every request
// ends in exactly one of OK or Failed; a failure is an error or a status
// other than 200.
type Load struct {
	ok, failed atomic.Int64
	stop       chan struct{}
	stopOnce   sync.Once
	done       chan struct{}

	mu     sync.Mutex
	counts map[string]int64
	order  []string
	errs   []string
}

// StartLoad starts o.Clients goroutines requesting o.Path from o.Hosts
// until Stop, ctx ends or each sent o.MaxPerClient requests.
func StartLoad(ctx context.Context, o LoadOptions) *Load {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Key == nil {
		o.Key = func(body string) string { return body }
	}
	if o.Client == nil {
		o.Client = HTTPClient
	}
	scheme := "http://"
	if o.HTTPS {
		scheme = "https://"
	}
	l := &Load{stop: make(chan struct{}), done: make(chan struct{}), counts: map[string]int64{}}
	var wg sync.WaitGroup
	for c := 0; c < o.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < o.MaxPerClient; i++ {
				select {
				case <-l.stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				h := o.Hosts[(c+i)%len(o.Hosts)]
				url := scheme + h.IP + o.Path
				status, body, err := get(ctx, o.Client, url, o.Host)
				switch {
				case err != nil:
					l.fail(fmt.Sprintf("%s: GET %s: %v (%s)", h.Name, url, err, time.Now().Format("15:04:05.000")))
				case status != http.StatusOK:
					l.fail(fmt.Sprintf("%s: GET %s: status %d: %s (%s)", h.Name, url, status, strings.TrimSpace(body), time.Now().Format("15:04:05.000")))
				default:
					l.count(o.Key(body))
				}
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

func (l *Load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < maxLoadErrors {
		l.errs = append(l.errs, msg)
	}
}

func (l *Load) count(key string) {
	l.ok.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.counts[key]; !ok {
		l.order = append(l.order, key)
	}
	l.counts[key]++
}

// OK is the number of requests answered with 200 so far.
func (l *Load) OK() int64 { return l.ok.Load() }

// Failed is the number of requests that failed so far.
func (l *Load) Failed() int64 { return l.failed.Load() }

// Seen is how many 200 answers showed key.
func (l *Load) Seen(key string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[key]
}

// Keys are the keys seen, in the order they first appeared.
func (l *Load) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

// Counts are the answers per key.
func (l *Load) Counts() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.counts))
	for k, n := range l.counts {
		out[k] = n
	}
	return out
}

// Errors are samples of the failures (the first ten).
func (l *Load) Errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// Done is closed when every client has stopped.
func (l *Load) Done() <-chan struct{} { return l.done }

// Stop stops the clients and waits for them.
func (l *Load) Stop() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

// StopAfter lets the clients run until key was seen n times (the new
// version is being served) or every client finished, then stops them. It
// returns ctx's error if ctx ended first.
func (l *Load) StopAfter(ctx context.Context, key string, n int64) error {
	defer l.Stop()
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for l.Seen(key) < n {
		select {
		case <-l.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
	return nil
}
