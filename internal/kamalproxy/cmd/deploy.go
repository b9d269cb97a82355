package cmd

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

type deployFlags struct {
	args       server.DeployArgs
	tlsStaging bool
}

func newDeployCommand() *cobra.Command {
	d := &deployFlags{}
	d.args.ServiceOptions = server.DefaultServiceOptions()
	d.args.TargetOptions = server.DefaultTargetOptions()
	so, to := &d.args.ServiceOptions, &d.args.TargetOptions
	hc := &to.HealthCheckConfig
	cmd := &cobra.Command{
		Use:   "deploy <service>",
		Short: "Deploy a target host",
		Args:  cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return d.validate(cmd)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			d.args.Service = args[0]
			if so.TLSEnabled && d.tlsStaging {
				so.ACMEDirectory = server.LetsEncryptStagingURL
			}
			var ok bool
			return call("Deploy", d.args, &ok)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&d.args.TargetURLs, "target", nil, "Target host(s) to deploy")
	f.StringSliceVar(&d.args.ReaderURLs, "read-target", nil, "Read-only target host(s) to deploy")
	f.StringSliceVar(&so.Hosts, "host", nil, "Host(s) to serve this target on (empty for wildcard)")
	f.StringSliceVar(&so.PathPrefixes, "path-prefix", nil, "Deploy the service below the specified path(s)")
	f.BoolVar(&so.StripPrefix, "strip-path-prefix", true, "With --path-prefix, strip prefix from request before forwarding")

	f.BoolVar(&so.TLSEnabled, "tls", false, "Configure TLS for this target (requires a non-empty host)")
	f.StringVar(&so.TLSOnDemandURL, "tls-on-demand-url", "", "URL (http(s)://... or /path) that must answer 200 to ?host=<name> before a certificate is issued on demand")
	f.BoolVar(&d.tlsStaging, "tls-staging", false, "Use Let's Encrypt staging environment for certificate provisioning")
	f.StringVar(&so.TLSCertificatePath, "tls-certificate-path", "", "Configure custom TLS certificate path (PEM format)")
	f.StringVar(&so.TLSPrivateKeyPath, "tls-private-key-path", "", "Configure custom TLS private key path (PEM format)")
	f.StringVar(&so.ACMECachePath, "tls-acme-cache-path", "", "Directory for ACME certificates (default: certs/ in the server's state directory)")
	f.BoolVar(&so.TLSRedirect, "tls-redirect", true, "Redirect HTTP traffic to HTTPS")
	f.StringVar(&so.CanonicalHost, "canonical-host", "", "Redirect other hosts to this one (must be one of --host)")

	f.DurationVar(&d.args.DeploymentOptions.DeployTimeout, "deploy-timeout", server.DefaultDeployTimeout, "Maximum time to wait for the new target to become healthy")
	f.DurationVar(&d.args.DeploymentOptions.DrainTimeout, "drain-timeout", server.DefaultDrainTimeout, "Maximum time to allow existing connections to drain before removing old target")
	f.BoolVar(&d.args.DeploymentOptions.Force, "force", false, "Switch without waiting for the targets to become healthy")
	f.DurationVar(&hc.Interval, "health-check-interval", server.DefaultHealthCheckInterval, "Interval between health checks")
	f.DurationVar(&hc.Timeout, "health-check-timeout", server.DefaultHealthCheckTimeout, "Time each health check must complete in")
	f.StringVar(&hc.Path, "health-check-path", server.DefaultHealthCheckPath, "Path to check for health")
	f.IntVar(&hc.Port, "health-check-port", 0, "Port to check for health (default matches target port)")
	f.StringVar(&hc.Host, "health-check-host", "", "Host header to send with health checks")
	f.DurationVar(&so.WriterAffinityTimeout, "writer-affinity-timeout", server.DefaultWriterAffinityTimeout, "Time after a write before read requests will be routed to readers")
	f.BoolVar(&so.ReadTargetsAcceptWebsockets, "read-target-websockets", false, "Route WebSocket traffic to read targets, when available")

	f.DurationVar(&to.ResponseTimeout, "target-timeout", server.DefaultTargetTimeout, "Maximum time to wait for the target server to respond when serving requests")
	f.BoolVar(&to.BufferRequests, "buffer-requests", false, "Buffer requests before forwarding to target")
	f.BoolVar(&to.BufferResponses, "buffer-responses", false, "Buffer responses before forwarding to client")
	f.Int64Var(&to.MaxMemoryBufferSize, "buffer-memory", server.DefaultMaxMemoryBufferSize, "Max size of memory buffer")
	f.Int64Var(&to.MaxRequestBodySize, "max-request-body", 0, "Max size of request body when buffering (default of 0 means unlimited)")
	f.Int64Var(&to.MaxResponseBodySize, "max-response-body", 0, "Max size of response body when buffering (default of 0 means unlimited)")
	f.StringVar(&so.ErrorPagePath, "error-pages", "", "Path to custom error pages")
	f.StringSliceVar(&to.LogRequestHeaders, "log-request-header", nil, "Additional request header to log (may be specified multiple times)")
	f.StringSliceVar(&to.LogResponseHeaders, "log-response-header", nil, "Additional response header to log (may be specified multiple times)")
	f.StringSliceVar(&to.ExcludeMetricsPaths, "exclude-metrics-path", nil, "Path to leave out of metrics (may be specified multiple times)")
	f.BoolVar(&to.ForwardHeaders, "forward-headers", false, "Forward X-Forwarded headers to target (default false if TLS enabled; otherwise true)")
	f.StringVar(&to.ClientIPHeader, "client-ip-header", "", "Header holding the client IP (e.g. CF-Connecting-IP); replaces X-Forwarded-For")
	f.BoolVar(&to.ScopeCookiePaths, "scope-cookie-paths", false, "Prefix Set-Cookie paths with the matched path prefix")

	_ = cmd.MarkFlagRequired("target")
	cmd.MarkFlagsRequiredTogether("tls-certificate-path", "tls-private-key-path")
	return cmd
}

func (d *deployFlags) validate(cmd *cobra.Command) error {
	so, to := &d.args.ServiceOptions, &d.args.TargetOptions
	so.Normalize()
	flags := cmd.Flags()
	// Same wording as cobra's required-together check, which the reference relies on.
	if c, k := flags.Changed("tls-certificate-path"), flags.Changed("tls-private-key-path"); c != k {
		missing := "tls-private-key-path"
		if k {
			missing = "tls-certificate-path"
		}
		return fmt.Errorf("if any flags in the group [tls-certificate-path tls-private-key-path] are set they must all be set; missing [%s]", missing)
	}
	if flags.Changed("max-request-body") && !flags.Changed("buffer-requests") {
		return server.ErrMaxRequestBodyNeedsBuffer
	}
	if flags.Changed("max-response-body") && !flags.Changed("buffer-responses") {
		return server.ErrMaxRespBodyNeedsBuffer
	}
	if !flags.Changed("forward-headers") {
		to.ForwardHeaders = !so.TLSEnabled
	}
	if so.TLSEnabled {
		if !so.HasConfiguredHosts() && so.TLSOnDemandURL == "" {
			return errors.New("host must be set when using TLS")
		}
		if !slices.Contains(so.PathPrefixes, "/") {
			return errors.New("TLS settings must be specified on the root path service")
		}
	}
	for _, t := range append(append([]string(nil), d.args.TargetURLs...), d.args.ReaderURLs...) {
		if err := server.ValidateTarget(strings.TrimSpace(t)); err != nil {
			return err
		}
	}
	if err := so.ValidateClient(); err != nil {
		return err
	}
	return to.Validate()
}
