package cmd

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newRunCommand() *cobra.Command {
	var cfg server.Config
	var debug bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			log := slog.New(server.NewLogHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
			slog.SetDefault(log)
			cfg.Logger = log
			cfg.EagerCertificates = true
			cfg.StateDir = server.DefaultStateDir()
			cfg.SocketPath = server.SocketPath()
			cfg.Version = Version
			cfg.Handover = server.HandoverConfig{
				ReleaseGrace: time.Second,
				TeardownWait: envDuration("HANDOVER_TEARDOWN_WAIT", 5*time.Second),
				// A test aid, see docs/proxy.md.
				Pause: envDuration("HANDOVER_PAUSE", 0),
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
			defer signal.Stop(sig)
			srv := server.NewServer(cfg)
			if err := srv.Start(); err != nil {
				return fmt.Errorf("start server: %w", err)
			}
			select {
			case <-sig:
				// Non-nil when it held the published ports for a newer
				// proxy: the exit status makes Docker start it at boot.
				return srv.Shutdown()
			case <-srv.Done():
				return nil // handed over, or released the ports it held
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Bind, "bind", envString("BIND", ""), "Address to listen on (default all interfaces)")
	f.IntVar(&cfg.HTTPPort, "http-port", envInt("HTTP_PORT", 80), "Port to serve HTTP traffic on")
	f.IntVar(&cfg.HTTPSPort, "https-port", envInt("HTTPS_PORT", 443), "Port to serve HTTPS traffic on")
	f.IntVar(&cfg.MetricsPort, "metrics-port", envInt("METRICS_PORT", 0), "Publish metrics on the specified port (default zero to disable)")
	f.BoolVar(&debug, "debug", envBool("DEBUG", false), "Include debugging logs")
	f.StringVar(&cfg.ACMEDirectory, "tls-acme-directory", envString("TLS_ACME_DIRECTORY", ""),
		"ACME directory URL for automatic TLS of services that name none (default Let's Encrypt)")
	f.DurationVar(&cfg.RequestBodyTimeout, "request-body-timeout", envDuration("REQUEST_BODY_TIMEOUT", server.DefaultRequestBodyTimeout),
		"Time a request body may take, plus one second per --request-body-min-rate bytes received (negative to disable)")
	f.Int64Var(&cfg.RequestBodyMinRate, "request-body-min-rate", int64(envInt("REQUEST_BODY_MIN_RATE", server.DefaultRequestBodyMinRate)),
		"Bytes per second a request body must keep up to extend --request-body-timeout (negative for a fixed timeout)")
	f.BoolVar(&cfg.HTTP3, "http3", envBool("HTTP3", false), "Also serve HTTP/3 (QUIC, UDP on the HTTPS port)")
	return cmd
}
