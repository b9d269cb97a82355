// Command kamal-proxy is a zero-downtime reverse proxy compatible with
// Basecamp's kamal-proxy command line.
package main

import (
	"os"

	"github.com/kamalgo/kamal/internal/kamalproxy/cmd"
)

func main() {
	os.Exit(cmd.Main(os.Args[1:], os.Stdout, os.Stderr))
}
