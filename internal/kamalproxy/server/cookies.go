package server

import (
	"net"
	"net/http"
	"strings"
)

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// scopeCookies prefixes the Path of first-party Set-Cookie headers with the
// service's path prefix, so apps mounted under /app do not clash.
func scopeCookies(h http.Header, prefix, host string) {
	values := h.Values("Set-Cookie")
	if len(values) == 0 {
		return
	}
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	out := make([]string, 0, len(values))
	for _, v := range values {
		c, err := http.ParseSetCookie(v)
		if err != nil || (c.Domain != "" && !strings.EqualFold(strings.TrimPrefix(c.Domain, "."), host)) {
			out = append(out, v)
			continue
		}
		p := c.Path
		if p == "" || p == "/" {
			c.Path = prefix
		} else if !strings.HasPrefix(p+"/", prefix+"/") {
			c.Path = prefix + p
		}
		out = append(out, c.String())
	}
	h["Set-Cookie"] = out
}
