// Command app is the sample web app of the demo (`make demo`): it answers
// "/" with the deployed version and the message baked into its image, and
// "/up" with 200 for the health checks of kamal-proxy.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	message := "hello"
	if b, err := os.ReadFile("/message.txt"); err == nil {
		message = strings.TrimSpace(string(b))
	}
	version := os.Getenv("KAMAL_VERSION")
	host, _ := os.Hostname()

	mux := http.NewServeMux()
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "OK") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s (version %.7s, container %s)\n", message, version, host)
	})
	srv := &http.Server{Addr: ":80", Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// kamal-proxy has drained the container before Docker stops it.
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("demo app %.7s listening on :80", version)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
