package config

import "github.com/kamalgo/kamal/internal/config/rubyyaml"

// The sshkit section: connection pool settings.

// SSHKit holds connection pool settings.
type SSHKit struct {
	MaxConcurrentStarts int // default 30
	PoolIdleTimeout     int // seconds, default 900
	DNSRetries          int // default 3
	Raw                 map[string]any
}

var sshkitSchema = []field{
	f("max_concurrent_starts", tInt),
	f("pool_idle_timeout", tInt),
	f("dns_retries", tInt),
}

func (v *validator) validateSSHKit(n *rubyyaml.Node) {
	if n != nil {
		v.withContext("sshkit", func() { v.validateAgainst(n, sshkitSchema, false) })
	}
}

func buildSSHKit(n *rubyyaml.Node) SSHKit {
	return SSHKit{
		MaxConcurrentStarts: intOr(n.Get("max_concurrent_starts"), 30),
		PoolIdleTimeout:     intOr(n.Get("pool_idle_timeout"), 900),
		DNSRetries:          intOr(n.Get("dns_retries"), 3),
		Raw:                 rawMap(n),
	}
}
