// Package webapp is the small HTTP server behind the test images. Each image
// program picks a behaviour; the server answers "/" with its version and
// hostname and "/up" with the health status.
package webapp

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Behaviour selects how the server misbehaves, if at all.
type Behaviour struct {
	Unhealthy   bool   // /up answers 500 (so does a non-empty UNHEALTHY env var)
	BootDelay   bool   // wait BOOT_DELAY seconds (default 5) before listening
	IgnoreTerm  bool   // SIGTERM is ignored; only SIGKILL stops the process
	AssetDir    string // when set, /assets/NAME is served from this directory
	DefaultName string
}

// Main runs the server until SIGTERM or SIGINT and exits the process.
func Main(b Behaviour) {
	log.SetFlags(0)
	log.SetOutput(os.Stdout)
	if tool(os.Args[1:]) {
		return
	}
	if err := run(b); err != nil {
		log.Printf("%s: %v", b.DefaultName, err)
		os.Exit(1)
	}
}

func run(b Behaviour) error {
	port := EnvOr("PORT", "80")
	unhealthy := b.Unhealthy || os.Getenv("UNHEALTHY") != ""
	version := EnvOr("VERSION", "unknown")
	host, _ := os.Hostname()

	signals := make(chan os.Signal, 1)
	if b.IgnoreTerm {
		signal.Ignore(syscall.SIGTERM)
		signal.Notify(signals, syscall.SIGINT)
	} else {
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	}

	if b.BootDelay {
		secs, err := strconv.Atoi(EnvOr("BOOT_DELAY", "5"))
		if err != nil || secs < 0 {
			return fmt.Errorf("BOOT_DELAY must be a number of seconds, got %q", os.Getenv("BOOT_DELAY"))
		}
		log.Printf("booting for %ds before listening", secs)
		// Booting slowly is the point of this image.
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-signals:
			return nil
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) {
		if unhealthy {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "OK")
	})
	if b.AssetDir != "" {
		mux.Handle("/assets/", http.StripPrefix("/assets/", http.FileServer(http.Dir(b.AssetDir))))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "version=%s host=%s\n", version, host)
	})

	return Serve(mux, port, signals, 10*time.Second, fmt.Sprintf("%s version %s listening on :%s", b.DefaultName, version, port))
}

// tool runs the small commands tests need in an image without a shell:
// `echo WORDS...` and `env` for `kamal app exec`, and `healthcheck` for a
// Docker HEALTHCHECK in exec form, which exits 1 unless /up answers 200.
// A leading "/app" is skipped,
// since `docker run IMAGE /app echo x` passes it after the entrypoint. It
// reports whether args named a tool.
func tool(args []string) bool {
	if len(args) > 0 && args[0] == "/app" {
		args = args[1:]
	}
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "echo":
		fmt.Println(strings.Join(args[1:], " "))
	case "env":
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
	case "healthcheck":
		if err := Healthcheck("http://127.0.0.1:" + EnvOr("PORT", "80") + "/up"); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("healthy")
	default:
		return false
	}
	return true
}

// Healthcheck GETs url and fails unless it answers 200 within a few seconds.
func Healthcheck(url string) error {
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{}}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}
