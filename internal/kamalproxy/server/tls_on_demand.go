package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

const (
	onDemandTimeout  = 2 * time.Second
	onDemandBodyShow = 256 // bytes of a refusal body worth logging
)

// onDemandChecker approves certificate issuance for names nobody listed in
// advance, by asking --tls-on-demand-url. Only a 200 approves.
type onDemandChecker struct {
	url   string
	cache autocert.Cache
	local http.Handler
	log   *slog.Logger
}

func (c *onDemandChecker) allow(ctx context.Context, host string) error {
	host = strings.TrimSuffix(host, ".")
	// A certificate we already hold needs no new approval (renewals, restarts).
	for _, key := range []string{host, host + "+rsa"} {
		if _, err := c.cache.Get(ctx, key); err == nil {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, onDemandTimeout)
	defer cancel()
	status, body, err := c.ask(ctx, host)
	if err != nil {
		c.logger().Info("On-demand TLS check failed", "host", host, "url", c.url, "error", err)
		return fmt.Errorf("on-demand TLS check for %s: %w", host, err)
	}
	if status != http.StatusOK {
		c.logger().Info("On-demand TLS denied", "host", host, "url", c.url, "status", status, "body", body)
		return fmt.Errorf("on-demand TLS denied for %s (status %d)", host, status)
	}
	return nil
}

func (c *onDemandChecker) logger() *slog.Logger {
	if c.log == nil {
		return slog.Default()
	}
	return c.log
}

// checkURL adds host=<name> to the URL, keeping its own query.
func checkURL(raw, host string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("host", host)
	u.RawQuery = q.Encode()
	return u, nil
}

func (c *onDemandChecker) ask(ctx context.Context, host string) (int, string, error) {
	u, err := checkURL(c.url, host)
	if err != nil {
		return 0, "", err
	}
	if strings.HasPrefix(c.url, "/") {
		// Served by the service itself, as if the request came for host
		// over plain HTTP; marked internal so it is never redirected.
		if c.local == nil {
			return 0, "", errors.New("no local handler")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return 0, "", err
		}
		req.Host = host
		req.RemoteAddr = "127.0.0.1:0"
		req = withReqState(req, &reqState{internal: true})
		rec := &checkRecorder{header: http.Header{}}
		c.local.ServeHTTP(rec, req)
		if err := ctx.Err(); err != nil {
			// E.g. held by a pause past the timeout: nothing was answered.
			return 0, "", err
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		return rec.status, rec.body.String(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("User-Agent", "kamal-proxy")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, onDemandBodyShow))
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(body), nil
}

// checkRecorder captures the status and the start of the body of an
// in-process check.
type checkRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *checkRecorder) Header() http.Header { return r.header }
func (r *checkRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *checkRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := onDemandBodyShow - r.body.Len(); room > 0 {
		r.body.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// serveInternal serves a request made by the proxy itself through this
// service, under the longest of its path prefixes that matches.
func (s *Service) serveInternal(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	prefixes := s.options.PathPrefixes
	s.mu.RUnlock()
	best := ""
	for _, p := range prefixes {
		if pathMatches(r.URL.Path, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.serveHTTP(w, r, best)
}

func pathMatches(path, prefix string) bool {
	return prefix == rootPath || strings.HasPrefix(path+"/", prefix+"/")
}
