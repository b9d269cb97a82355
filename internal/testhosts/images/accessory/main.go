// Command accessory is the program of the accessory test image (built FROM
// scratch by testhosts.BuildImage). As a server it records each start in
// $DATA_DIR/boots.log (a mounted directory, so the count survives a
// reboot) and answers over HTTP with files, modes and env vars as the
// container sees them. Given arguments it runs one small tool instead, for
// `accessory exec` in an image without a shell.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts/images/internal/webapp"
)

func main() {
	log.SetFlags(0)
	log.SetOutput(os.Stdout)
	args := os.Args[1:]
	// `docker run IMAGE /app cat x` passes the entrypoint's path again.
	if len(args) > 0 && args[0] == "/app" {
		args = args[1:]
	}
	if len(args) > 0 {
		if err := tool(os.Stdout, args); err != nil {
			fmt.Fprintln(os.Stderr, "accessory:", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(); err != nil {
		log.Printf("accessory: %v", err)
		os.Exit(1)
	}
}

// tool runs: cat PATH, mode PATH (octal permissions), env, getenv NAME,
// echo WORDS..., ls DIR.
func tool(w io.Writer, args []string) error {
	need := func(n int) error {
		if len(args) != n+1 {
			return fmt.Errorf("%s takes %d argument(s)", args[0], n)
		}
		return nil
	}
	switch args[0] {
	case "cat":
		if err := need(1); err != nil {
			return err
		}
		b, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "mode":
		if err := need(1); err != nil {
			return err
		}
		m, err := mode(args[1])
		if err != nil {
			return err
		}
		fmt.Fprintln(w, m)
	case "env":
		env := os.Environ()
		sort.Strings(env)
		for _, kv := range env {
			fmt.Fprintln(w, kv)
		}
	case "getenv":
		if err := need(1); err != nil {
			return err
		}
		fmt.Fprintln(w, os.Getenv(args[1]))
	case "echo":
		fmt.Fprintln(w, strings.Join(args[1:], " "))
	case "ls":
		if err := need(1); err != nil {
			return err
		}
		entries, err := os.ReadDir(args[1])
		if err != nil {
			return err
		}
		for _, e := range entries {
			fmt.Fprintln(w, e.Name())
		}
	default:
		return fmt.Errorf("unknown tool %q (cat, mode, env, getenv, echo, ls)", args[0])
	}
	return nil
}

func mode(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%04o", st.Mode().Perm()), nil
}

// boots counts the lines of the boot log.
func boots(logPath string) int {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

func serve() error {
	port := webapp.EnvOr("PORT", "80")
	dataDir := webapp.EnvOr("DATA_DIR", "/data")
	bootLog := filepath.Join(dataDir, "boots.log")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(bootLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, time.Now().UTC().Format(time.RFC3339Nano))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	host, _ := os.Hostname()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	mux := http.NewServeMux()
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "OK") })
	mux.HandleFunc("/boots", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, boots(bootLog)) })
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/mode", func(w http.ResponseWriter, r *http.Request) {
		m, err := mode(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		fmt.Fprintln(w, m)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.URL.Query().Get("name"))
		if !ok {
			http.Error(w, "unset", http.StatusNotFound)
			return
		}
		fmt.Fprintln(w, v)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "accessory host=%s boots=%d\n", host, boots(bootLog))
	})

	return webapp.Serve(mux, port, signals, 5*time.Second, fmt.Sprintf("accessory listening on :%s, boot %d", port, boots(bootLog)))
}
