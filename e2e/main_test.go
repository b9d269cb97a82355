package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kamalgo/kamal/internal/testhosts"
)

// The environment shared by every scenario of this package: three hosts,
// a registry with credentials, a deployer daemon, and the kamal binary.
var (
	env      *testhosts.Env
	kamalBin string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if err := testhosts.CheckPrerequisites(); err != nil {
		// Only a machine that cannot run namespaces at all may skip, and
		// never in CI.
		if os.Getenv("CI") != "true" && (runtime.GOOS != "linux" || os.Geteuid() != 0) {
			fmt.Fprintf(os.Stderr, "e2e: skipping: %v\n", err)
			return 0
		}
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	// Long enough to wait for another run that holds the testhosts lock.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()

	tmp, err := os.MkdirTemp("", "kamal-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	t0 := time.Now()
	// E2E_KAMAL_BIN runs the scenarios against a binary built elsewhere.
	if kamalBin = os.Getenv("E2E_KAMAL_BIN"); kamalBin == "" {
		kamalBin = filepath.Join(tmp, "kamal")
		build := exec.CommandContext(ctx, "go", "build", "-o", kamalBin, "github.com/kamalgo/kamal/cmd/kamal")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building kamal: %v\n%s", err, out)
			return 1
		}
	}

	t1 := time.Now()
	env, err = testhosts.Start(ctx, testhosts.Options{Hosts: 3, RegistryAuth: true, Users: []testhosts.User{{Name: deployUser, Docker: true}, {Name: outsiderUser}}, SSHDLogLevel: "VERBOSE"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: starting test hosts: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: kamal built in %s, test hosts up in %s\n", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	// Tear down on Ctrl-C or SIGTERM too; after SIGKILL the next Start
	// clears what is left.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		env.Close()
		os.Exit(1)
	}()

	code := m.Run()

	t2 := time.Now()
	if err := env.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: teardown: %v\n", err)
		code = 1
	}
	fmt.Fprintf(os.Stderr, "e2e: test hosts down in %s\n", time.Since(t2).Round(time.Millisecond))
	left, err := testhosts.Leftovers("", testhosts.DefaultPrefix)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: checking leftovers: %v\n", err)
		code = 1
	} else if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: teardown left behind:\n  %s\n", strings.Join(left, "\n  "))
		code = 1
	}
	return code
}
