package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/kamalgo/kamal/internal/remote"
)

// ForceCLIEnv names the environment variable that, set to a true value
// ("1", "true"), makes every host use the docker CLI over a shell, as if its
// Docker socket could not be reached. Tests run both ways with it.
const ForceCLIEnv = "KAMAL_DOCKER_CLI"

// ForcedCLI reports whether ForceCLIEnv asks for the docker CLI.
func ForcedCLI() bool {
	v, err := strconv.ParseBool(os.Getenv(ForceCLIEnv))
	return err == nil && v
}

// Engines decides, once per host and run, how Kamal speaks to that host's
// Docker: through the Engine API over the SSH connection when the socket
// answers, else through the docker CLI. It is safe for concurrent use.
type Engines struct {
	dialer   Dialer
	socket   string
	out      *remote.Output
	forceCLI bool

	mu    sync.Mutex
	hosts map[string]*engine
}

type engine struct {
	mu      sync.Mutex // held while the host is probed
	decided bool
	api     *Client
	reason  error // why the API is not used
}

// NewEngines returns the per-host choice over d (the SSH pool). With
// forceCLI every host uses the CLI. out receives the one -v line per host
// that falls back.
func NewEngines(d Dialer, out *remote.Output, forceCLI bool) *Engines {
	if out == nil {
		out = remote.Discard()
	}
	return &Engines{dialer: d, socket: DefaultSocket, out: out, forceCLI: forceCLI, hosts: map[string]*engine{}}
}

// API returns host's Engine API client, or nil when the host is to be
// driven through the docker CLI. The first call for a host probes the
// socket (one request over the existing SSH connection); its answer holds
// for the rest of the run.
func (e *Engines) API(ctx context.Context, host string) *Client {
	en := e.engine(host)
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.decided {
		return en.api
	}
	api, reason := e.probe(ctx, host)
	if reason != nil && ctx.Err() != nil {
		return nil // interrupted: decide next time
	}
	en.decided, en.api, en.reason = true, api, reason
	if reason != nil && !e.forceCLI {
		e.out.Debugf("Docker API not reachable on %s, using the docker CLI: %v", host, reason)
	}
	return api
}

// Reason tells why host uses the docker CLI (nil if it uses the API or was
// not probed yet).
func (e *Engines) Reason(host string) error {
	en := e.engine(host)
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.reason
}

// Unusable is the per-host error for a host where the docker CLI failed as
// well (cliErr): it names both failures, so the user sees why neither way
// reached Docker. With the API in use, or forced off, cliErr is returned as
// is.
func (e *Engines) Unusable(host string, cliErr error) error {
	reason := e.Reason(host)
	if reason == nil || e.forceCLI || cliErr == nil {
		return cliErr
	}
	return &UnusableError{Host: host, API: reason, CLI: cliErr}
}

// Close closes every API client.
func (e *Engines) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, en := range e.hosts {
		if en.api != nil {
			en.api.Close()
		}
	}
	return nil
}

func (e *Engines) engine(host string) *engine {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.hosts[host]
	if !ok {
		en = &engine{}
		e.hosts[host] = en
	}
	return en
}

var errForced = errors.New("the docker CLI was asked for with " + ForceCLIEnv)

func (e *Engines) probe(ctx context.Context, host string) (*Client, error) {
	if e.forceCLI {
		return nil, errForced
	}
	api, err := New(e.dialer, host, e.socket)
	if err != nil {
		return nil, err
	}
	if _, err := api.Ping(ctx); err != nil {
		api.Close()
		return nil, err
	}
	return api, nil
}

// UnusableError is a host whose Docker could be reached neither through
// the API nor through the docker CLI.
type UnusableError struct {
	Host string
	API  error
	CLI  error
}

func (e *UnusableError) Error() string {
	return fmt.Sprintf("cannot use Docker on %s: the Docker API: %v; the docker CLI: %s",
		e.Host, e.API, strings.TrimSpace(e.CLI.Error()))
}

func (e *UnusableError) Unwrap() []error { return []error{e.CLI, e.API} }
