package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// healthCheckURL builds http://<target>[:port]/<path>.
func healthCheckURL(addr string, hc HealthCheckConfig) string {
	host := addr
	if hc.Port > 0 {
		h, _, err := net.SplitHostPort(addr)
		if err != nil {
			h = addr
		}
		host = net.JoinHostPort(h, strconv.Itoa(hc.Port))
	}
	u := url.URL{Scheme: "http", Host: host}
	return u.JoinPath(hc.Path).String()
}

var healthClientTransport = &http.Transport{
	Proxy:               nil,
	DisableKeepAlives:   true,
	MaxIdleConnsPerHost: -1,
}

// checkOnce performs one health check; any 2xx is healthy.
func checkOnce(ctx context.Context, addr string, hc HealthCheckConfig) error {
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthCheckURL(addr, hc), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kamal-proxy")
	if hc.Host != "" {
		req.Host = hc.Host
	}
	client := &http.Client{Transport: healthClientTransport}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("unexpected status %d", res.StatusCode)
	}
	return nil
}

// startHealthChecks probes the target immediately and then every interval
// until stop() or drain.
func (t *Target) startHealthChecks() {
	ctx, cancel := context.WithCancel(context.Background())
	t.mu.Lock()
	t.stopHC = cancel
	t.mu.Unlock()
	hc := t.options.HealthCheckConfig
	if hc.Interval <= 0 {
		hc.Interval = DefaultHealthCheckInterval
	}
	if hc.Timeout <= 0 {
		hc.Timeout = DefaultHealthCheckTimeout
	}
	go func() {
		ticker := time.NewTicker(hc.Interval)
		defer ticker.Stop()
		for {
			err := checkOnce(ctx, t.addr, hc)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				t.log.Info("Healthcheck failed", "url", healthCheckURL(t.addr, hc), "error", err.Error())
			}
			t.setHealth(err == nil)
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
}
