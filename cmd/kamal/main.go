// Command kamal deploys containerized web apps to servers over SSH.
package main

import (
	"os"

	"github.com/kamalgo/kamal/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
