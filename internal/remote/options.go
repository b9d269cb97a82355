package remote

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SSHOptions are the connection settings for every host of a run. They map
// to Kamal's `ssh:` and `sshkit:` config keys; zero values mean "not set"
// and fall back to ssh_config (when enabled) and then to the defaults below.
type SSHOptions struct {
	User         string   // default: ssh_config User, else "root"
	Port         int      // default: ssh_config Port, else 22
	Proxy        string   // jump host "[user@]host[:port]"; user defaults to root like Kamal
	ProxyCommand string   // run locally, stdin/stdout are the connection; %h %p %r %% expanded
	Keys         []string // private key files ("~/" expanded)
	KeyData      []string // private key material (PEM / OpenSSH format)
	KeysOnly     bool     // use only Keys/KeyData, not other agent identities

	UseConfig   bool     // read ssh_config files (Kamal `config: true`)
	ConfigFiles []string // explicit files; empty with UseConfig = ~/.ssh/config, /etc/ssh/ssh_config

	LogLevel          string        // debug|info print connection events; warn|error|fatal (default) don't
	ForwardAgent      bool          // forward the local ssh-agent to the host
	AgentSocket       string        // default $SSH_AUTH_SOCK; "-" disables the agent
	KeepaliveInterval time.Duration // default 30s (Kamal's); negative disables

	// Host keys (see docs/ssh.md). KnownHostsFile is the file read and
	// written; default: ssh_config UserKnownHostsFile, else
	// ~/.ssh/known_hosts and known_hosts2. GlobalKnownHostsFiles are read
	// only; nil means ssh_config GlobalKnownHostsFile, else
	// /etc/ssh/ssh_known_hosts and ssh_known_hosts2.
	KnownHostsFile        string
	GlobalKnownHostsFiles []string

	MaxConcurrentStarts int           // concurrent handshakes, default 30
	PoolIdleTimeout     time.Duration // close idle connections after, default 900s
	DNSRetries          int           // default 3; negative = no retries
	ConnectTimeout      time.Duration // TCP connect + handshake, default 30s

	// Persist keeps each directly made connection open in a keeper
	// process for this long after its last use, for later runs (see
	// persist.go; KAMAL_SSH_PERSIST). Zero: every run connects itself.
	Persist time.Duration
}

const (
	defaultUser                = "root"
	defaultPort                = 22
	defaultKeepalive           = 30 * time.Second
	defaultMaxConcurrentStarts = 30
	defaultPoolIdleTimeout     = 900 * time.Second
	defaultDNSRetries          = 3
	defaultConnectTimeout      = 30 * time.Second
)

func (o SSHOptions) withDefaults() SSHOptions {
	if o.KeepaliveInterval == 0 {
		o.KeepaliveInterval = defaultKeepalive
	}
	if o.MaxConcurrentStarts <= 0 {
		o.MaxConcurrentStarts = defaultMaxConcurrentStarts
	}
	if o.PoolIdleTimeout <= 0 {
		o.PoolIdleTimeout = defaultPoolIdleTimeout
	}
	if o.DNSRetries == 0 {
		o.DNSRetries = defaultDNSRetries
	} else if o.DNSRetries < 0 {
		o.DNSRetries = 0
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.AgentSocket == "" {
		o.AgentSocket = os.Getenv("SSH_AUTH_SOCK")
	}
	if o.UseConfig && len(o.ConfigFiles) == 0 {
		o.ConfigFiles = []string{filepath.Join(homeDir(), ".ssh", "config"), "/etc/ssh/ssh_config"}
	}
	if !o.UseConfig {
		o.ConfigFiles = nil
	}
	return o
}

func (o SSHOptions) logConnections() bool {
	switch strings.ToLower(o.LogLevel) {
	case "debug", "info":
		return true
	}
	return false
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "/"
}

func expandHome(p string) string {
	if p == "~" {
		return homeDir()
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(homeDir(), p[2:])
	}
	return p
}

// endpoint is a parsed "[user@]host[:port]" (IPv6 in brackets).
type endpoint struct {
	User string
	Host string
	Port int
}

func parseEndpoint(s string) (endpoint, error) {
	var e endpoint
	if s == "" {
		return e, fmt.Errorf("empty host")
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		e.User, s = s[:i], s[i+1:]
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port (or a bare IPv6 address).
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		port = ""
	}
	if host == "" {
		return e, fmt.Errorf("invalid host %q", s)
	}
	e.Host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return e, fmt.Errorf("invalid port %q in %q", port, s)
		}
		e.Port = n
	}
	return e, nil
}
