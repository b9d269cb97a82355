package webapp

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

// Serve answers on :port with h until a signal arrives on signals, then
// shuts down, letting requests in flight finish within grace. It logs
// started once it listens, the moment a container is ready.
func Serve(h http.Handler, port string, signals <-chan os.Signal, grace time.Duration, started string) error {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	return serve(ln, h, signals, grace, started)
}

func serve(ln net.Listener, h http.Handler, signals <-chan os.Signal, grace time.Duration, started string) error {
	log.Print(started)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case sig := <-signals:
		log.Printf("received %s, shutting down", sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// EnvOr is the environment variable key, or def when it is unset or empty.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
