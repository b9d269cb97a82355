package cmd

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// envInt reads KAMAL_PROXY_<name>, then <name>; unparsable values are ignored.
func envInt(name string, def int) int {
	for _, k := range []string{"KAMAL_PROXY_" + name, name} {
		if v, ok := os.LookupEnv(k); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return def
}

// envDuration reads KAMAL_PROXY_<name>, then <name>, as a Go duration.
func envDuration(name string, def time.Duration) time.Duration {
	for _, k := range []string{"KAMAL_PROXY_" + name, name} {
		if v, ok := os.LookupEnv(k); ok {
			if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
				return d
			}
		}
	}
	return def
}

func envString(name, def string) string {
	for _, k := range []string{"KAMAL_PROXY_" + name, name} {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v
		}
	}
	return def
}

func envBool(name string, def bool) bool {
	for _, k := range []string{"KAMAL_PROXY_" + name, name} {
		if v, ok := os.LookupEnv(k); ok {
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
				return b
			}
		}
	}
	return def
}
