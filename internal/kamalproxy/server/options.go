// Package server implements a kamal-proxy compatible reverse proxy: services
// keyed by name, host and path routing, health-checked zero-downtime deploys,
// draining, maintenance modes, buffering, TLS and persisted state.
package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defaults shared by the CLI and the server.
const (
	DefaultDeployTimeout         = 30 * time.Second
	DefaultDrainTimeout          = 30 * time.Second
	DefaultPauseTimeout          = 30 * time.Second
	DefaultWriterAffinityTimeout = time.Second
	DefaultHealthCheckPath       = "/up"
	DefaultHealthCheckInterval   = time.Second
	DefaultHealthCheckTimeout    = 5 * time.Second
	DefaultTargetTimeout         = 30 * time.Second
	DefaultMaxMemoryBufferSize   = int64(1 << 20)

	rootPath = "/"
)

// Errors whose text is part of the CLI contract.
var (
	ErrServiceNotFound           = errors.New("service not found")
	ErrHostSettingsConflict      = errors.New("host settings conflict with another service")
	ErrRolloutTargetNotSet       = errors.New("rollout target not set")
	ErrAutoTLSNoWildcards        = errors.New("automatic TLS does not support wildcards")
	ErrUnableToLoadCertificate   = errors.New("unable to load certificate")
	ErrUnableToLoadErrorPages    = errors.New("unable to load error pages")
	ErrMaxRequestBodyNeedsBuffer = errors.New("max-request-body can only be set when request buffering is enabled")
	ErrMaxRespBodyNeedsBuffer    = errors.New("max-response-body can only be set when response buffering is enabled")
)

// HealthCheckConfig says how a target is probed.
type HealthCheckConfig struct {
	Path     string        `json:"path"`
	Port     int           `json:"port"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	Host     string        `json:"host"`
}

// DeploymentOptions apply to one deploy call only; they are not persisted.
type DeploymentOptions struct {
	DeployTimeout time.Duration
	DrainTimeout  time.Duration
	Force         bool
}

// ServiceOptions configure routing, TLS and affinity of a service.
type ServiceOptions struct {
	Hosts                       []string      `json:"hosts"`
	PathPrefixes                []string      `json:"path_prefixes"`
	TLSEnabled                  bool          `json:"tls_enabled"`
	TLSCertificatePath          string        `json:"tls_certificate_path"`
	TLSPrivateKeyPath           string        `json:"tls_private_key_path"`
	TLSOnDemandURL              string        `json:"tls_on_demand_url"`
	TLSRedirect                 bool          `json:"tls_redirect"`
	CanonicalHost               string        `json:"canonical_host"`
	ACMEDirectory               string        `json:"acme_directory"`
	ACMECachePath               string        `json:"acme_cache_path"`
	ErrorPagePath               string        `json:"error_page_path"`
	StripPrefix                 bool          `json:"strip_prefix"`
	WriterAffinityTimeout       time.Duration `json:"writer_affinity_timeout"`
	ReadTargetsAcceptWebsockets bool          `json:"read_targets_accept_websockets"`
}

// TargetOptions configure how requests reach a target.
type TargetOptions struct {
	HealthCheckConfig   HealthCheckConfig `json:"health_check_config"`
	ResponseTimeout     time.Duration     `json:"response_timeout"`
	BufferRequests      bool              `json:"buffer_requests"`
	BufferResponses     bool              `json:"buffer_responses"`
	MaxMemoryBufferSize int64             `json:"max_memory_buffer_size"`
	MaxRequestBodySize  int64             `json:"max_request_body_size"`
	MaxResponseBodySize int64             `json:"max_response_body_size"`
	LogRequestHeaders   []string          `json:"log_request_headers"`
	LogResponseHeaders  []string          `json:"log_response_headers"`
	ForwardHeaders      bool              `json:"forward_headers"`
	ScopeCookiePaths    bool              `json:"scope_cookie_paths"`
	ExcludeMetricsPaths []string          `json:"exclude_metrics_paths"`
	ClientIPHeader      string            `json:"client_ip_header"`
}

// DefaultServiceOptions returns the options a deploy without flags gets.
func DefaultServiceOptions() ServiceOptions {
	return ServiceOptions{
		PathPrefixes:          []string{rootPath},
		TLSRedirect:           true,
		StripPrefix:           true,
		WriterAffinityTimeout: DefaultWriterAffinityTimeout,
	}
}

// DefaultTargetOptions returns the target options a deploy without flags gets.
func DefaultTargetOptions() TargetOptions {
	return TargetOptions{
		HealthCheckConfig: HealthCheckConfig{
			Path:     DefaultHealthCheckPath,
			Interval: DefaultHealthCheckInterval,
			Timeout:  DefaultHealthCheckTimeout,
		},
		ResponseTimeout:     DefaultTargetTimeout,
		MaxMemoryBufferSize: DefaultMaxMemoryBufferSize,
		ForwardHeaders:      true,
	}
}

// NormalizeHosts lowercases hosts, drops a trailing dot and duplicates.
// Lowercasing is a deliberate fix: the reference matches case-sensitively.
func NormalizeHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = normalizeHost(h)
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// NormalizePathPrefix turns "app/", "/app" and "app" into "/app".
func NormalizePathPrefix(p string) string {
	return "/" + strings.Trim(p, "/")
}

// NormalizePathPrefixes normalises each prefix; none means the root path.
func NormalizePathPrefixes(prefixes []string) []string {
	out := make([]string, 0, len(prefixes))
	for _, p := range prefixes {
		p = NormalizePathPrefix(p)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{rootPath}
	}
	return out
}

// Normalize puts hosts and prefixes in canonical form.
func (o *ServiceOptions) Normalize() {
	o.Hosts = NormalizeHosts(o.Hosts)
	o.PathPrefixes = NormalizePathPrefixes(o.PathPrefixes)
	o.CanonicalHost = normalizeHost(o.CanonicalHost)
}

// HasConfiguredHosts reports whether at least one real host is set.
func (o ServiceOptions) HasConfiguredHosts() bool {
	for _, h := range o.Hosts {
		if h != "" {
			return true
		}
	}
	return false
}

func (o ServiceOptions) servesRoot() bool { return slices.Contains(o.PathPrefixes, rootPath) }

// Validate checks the combination of options and returns the reference's
// messages, prefixed like the reference server does.
func (o ServiceOptions) Validate() error {
	if err := o.ValidateClient(); err != nil {
		return fmt.Errorf("service options invalid: %w", err)
	}
	return nil
}

// ValidateClient is Validate without the server's prefix, as the CLI reports it.
func (o ServiceOptions) ValidateClient() error {
	if o.TLSEnabled {
		if !o.HasConfiguredHosts() && o.TLSOnDemandURL == "" {
			return errors.New("host must be set when using TLS")
		}
		if !o.servesRoot() {
			return errors.New("TLS settings must be specified on the root path service")
		}
	}
	if o.TLSOnDemandURL != "" {
		if !o.TLSEnabled {
			return errors.New("tls-on-demand-url requires TLS to be enabled")
		}
		if o.HasConfiguredHosts() {
			return errors.New("tls-on-demand-url cannot be used with hosts")
		}
		if o.TLSCertificatePath != "" {
			return errors.New("tls-on-demand-url cannot be used with a custom certificate")
		}
		if o.CanonicalHost != "" {
			return errors.New("tls-on-demand-url cannot be used with canonical-host")
		}
		if err := ValidateTLSOnDemandURL(o.TLSOnDemandURL); err != nil {
			return err
		}
	}
	if (o.TLSCertificatePath == "") != (o.TLSPrivateKeyPath == "") {
		return errors.New("tls-certificate-path and tls-private-key-path must be set together")
	}
	if o.CanonicalHost != "" && o.HasConfiguredHosts() && !slices.Contains(o.Hosts, o.CanonicalHost) {
		return fmt.Errorf("canonical-host '%s' must be present in the hosts list: %v", o.CanonicalHost, o.Hosts)
	}
	for _, h := range o.Hosts {
		if strings.Contains(h, "*") && !strings.HasPrefix(h, "*.") || strings.Count(h, "*") > 1 {
			return fmt.Errorf("%s :invalid host pattern", h)
		}
	}
	return nil
}

// ValidateTLSOnDemandURL accepts http(s) URLs with a host, or absolute paths.
func ValidateTLSOnDemandURL(s string) error {
	if strings.HasPrefix(s, "/") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("tls-on-demand-url must be an http(s) URL or a path")
	}
	return nil
}

// Validate checks target options that the server can verify on its own. A
// body limit without buffering is refused by the CLI only when the buffering
// flag was not given at all; the server just ignores such a limit.
func (o TargetOptions) Validate() error {
	if o.MaxMemoryBufferSize < 0 || o.MaxRequestBodySize < 0 || o.MaxResponseBodySize < 0 {
		return errors.New("buffer sizes must not be negative")
	}
	return nil
}

// IsHealthCheckRequest reports whether r asks for the health path, which is
// answered with 200 while a service is paused or stopped.
func (o TargetOptions) IsHealthCheckRequest(r *http.Request, prefix string) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := NormalizePathPrefix(o.HealthCheckConfig.Path)
	if r.URL.Path == p {
		return true
	}
	return prefix != rootPath && r.URL.Path == prefix+p
}

var targetPattern = regexp.MustCompile(`^(\w[-_.\w+]+)(:\d+)?$`)

// ValidateTarget checks a "host[:port]" target address.
func ValidateTarget(t string) error {
	if !targetPattern.MatchString(t) {
		return fmt.Errorf("%s :invalid host pattern", t)
	}
	return nil
}
