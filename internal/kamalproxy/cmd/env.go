package cmd

import (
	"os"
	"strconv"
	"strings"
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
