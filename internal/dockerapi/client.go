// Package dockerapi talks to the Docker Engine of a server through its API,
// over the host's pooled SSH connection: sshd forwards the Engine's Unix
// socket (the direct-streamlocal@openssh.com channel), so a query costs
// neither a new SSH session nor a docker CLI process on the server.
//
// Engines decides once per host and run whether that works; where it does
// not (forwarding disabled in sshd, a login user outside the docker group,
// Docker not at the default socket), callers use the docker CLI over a shell
// as before. The client is github.com/moby/moby/client; it negotiates the API
// version down to the server's (Docker 20.10 speaks 1.41).
package dockerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/kamalgo/kamal/internal/remote"
)

// DefaultSocket is where the Docker Engine listens unless configured
// otherwise (and where the docker CLI looks without DOCKER_HOST).
const DefaultSocket = "/var/run/docker.sock"

// Dialer connects to a Unix socket on a host; *remote.Pool is one, through
// the host's SSH connection.
type Dialer interface {
	DialUnix(ctx context.Context, host, path string) (net.Conn, error)
}

// Client is the Docker Engine API of one host. It is safe for concurrent
// use; requests share a few forwarded connections (HTTP keep-alive).
type Client struct {
	host string
	api  *client.Client
	raw  *http.Client // for the few requests the module cannot make
}

// New returns a client for the Engine listening on socket on host. It does
// not connect: the first request does (see Ping).
func New(d Dialer, host, socket string) (*Client, error) {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialUnix(ctx, host, socket)
	}
	raw := &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 1}}
	api, err := client.New(
		client.WithHost("unix://"+socket),
		client.WithDialContext(dial),
	)
	if err != nil {
		return nil, fmt.Errorf("docker API client for %s: %w", host, err)
	}
	return &Client{host: host, api: api, raw: raw}, nil
}

// Host is the host the client talks to.
func (c *Client) Host() string { return c.host }

// Close releases the forwarded connections.
func (c *Client) Close() error {
	c.raw.CloseIdleConnections()
	return c.api.Close()
}

// Ping checks that the Engine answers and settles the API version: the
// highest both sides speak. It returns that version.
func (c *Client) Ping(ctx context.Context) (string, error) {
	if _, err := c.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return "", c.wrap(err)
	}
	return c.api.ClientVersion(), nil
}

// APIVersion is the negotiated API version (after the first request).
func (c *Client) APIVersion() string { return c.api.ClientVersion() }

// Version is `docker version`'s server part.
func (c *Client) Version(ctx context.Context) (client.ServerVersionResult, error) {
	v, err := c.api.ServerVersion(ctx, client.ServerVersionOptions{})
	return v, c.wrap(err)
}

// Info is `docker info`.
func (c *Client) Info(ctx context.Context) (system.Info, error) {
	res, err := c.api.Info(ctx, client.InfoOptions{})
	return res.Info, c.wrap(err)
}

// ListOptions select containers like `docker ps`.
type ListOptions struct {
	All     bool     // --all: stopped containers too
	Latest  bool     // --latest: only the newest one
	Filters []string // --filter values, e.g. "label=service=app", "status=running"
}

// Containers is `docker ps`: the newest first, as the CLI lists them.
func (c *Client) Containers(ctx context.Context, o ListOptions) ([]container.Summary, error) {
	f, err := Filters(o.Filters)
	if err != nil {
		return nil, err
	}
	opts := client.ContainerListOptions{All: o.All, Filters: f}
	if o.Latest {
		opts.Limit = 1
	}
	res, err := c.api.ContainerList(ctx, opts)
	return res.Items, c.wrap(err)
}

// Inspect is `docker container inspect`.
func (c *Client) Inspect(ctx context.Context, nameOrID string) (container.InspectResponse, error) {
	res, err := c.api.ContainerInspect(ctx, nameOrID, client.ContainerInspectOptions{})
	return res.Container, c.wrap(err)
}

// ImageInspect is `docker image inspect`.
func (c *Client) ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	return res.InspectResponse, c.wrap(err)
}

// Images is `docker image ls --filter ...`.
func (c *Client) Images(ctx context.Context, filters []string) ([]image.Summary, error) {
	f, err := Filters(filters)
	if err != nil {
		return nil, err
	}
	res, err := c.api.ImageList(ctx, client.ImageListOptions{Filters: f})
	return res.Items, c.wrap(err)
}

// Networks is `docker network ls --filter ...`.
func (c *Client) Networks(ctx context.Context, filters []string) ([]network.Summary, error) {
	f, err := Filters(filters)
	if err != nil {
		return nil, err
	}
	res, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	return res.Items, c.wrap(err)
}

// ContainerSpec is what `docker create` sends: the container's own
// settings, the host-side ones and its networks.
type ContainerSpec struct {
	Name       string
	Config     *container.Config
	Host       *container.HostConfig
	Networking *network.NetworkingConfig
}

// Create is `docker create`; it returns the new container's ID.
func (c *Client) Create(ctx context.Context, s ContainerSpec) (string, error) {
	res, err := c.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: s.Name, Config: s.Config, HostConfig: s.Host, NetworkingConfig: s.Networking,
	})
	return res.ID, c.wrap(err)
}

// Start is `docker start`.
func (c *Client) Start(ctx context.Context, nameOrID string) error {
	_, err := c.api.ContainerStart(ctx, nameOrID, client.ContainerStartOptions{})
	return c.wrap(err)
}

// Stop is `docker stop [-t timeout]`; a nil timeout leaves it to the
// container's own stop timeout or the Engine's default.
func (c *Client) Stop(ctx context.Context, nameOrID string, timeout *int) error {
	_, err := c.api.ContainerStop(ctx, nameOrID, client.ContainerStopOptions{Timeout: timeout})
	return c.wrap(err)
}

// Remove is `docker rm [--force]`.
func (c *Client) Remove(ctx context.Context, nameOrID string, force bool) error {
	_, err := c.api.ContainerRemove(ctx, nameOrID, client.ContainerRemoveOptions{Force: force})
	return c.wrap(err)
}

// Rename is `docker rename`.
func (c *Client) Rename(ctx context.Context, nameOrID, newName string) error {
	_, err := c.api.ContainerRename(ctx, nameOrID, client.ContainerRenameOptions{NewName: newName})
	return c.wrap(err)
}

// RemoveImage is `docker image rm [--force] ref`.
func (c *Client) RemoveImage(ctx context.Context, ref string, force bool) error {
	_, err := c.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: force})
	return c.wrap(err)
}

// Tag is `docker tag source target`.
func (c *Client) Tag(ctx context.Context, source, target string) error {
	_, err := c.api.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target})
	return c.wrap(err)
}

// post sends body as JSON to the versioned path and turns an error status
// into the Engine's message, worded as the docker CLI words it.
func (c *Client) post(ctx context.Context, path string, body any) error {
	if _, err := c.Ping(ctx); err != nil {
		return err
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker/v"+c.APIVersion()+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.raw.Do(req)
	if err != nil {
		return c.wrap(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 400 {
		return nil
	}
	var e struct{ Message string }
	if json.Unmarshal(msg, &e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(msg))
	}
	return &daemonError{msg: e.Message, kind: errhttp.ToNative(resp.StatusCode)}
}

// daemonError is an error status from the Engine; it unwraps to the
// errdefs kind of the status (not found, conflict...), as the client
// module's errors do.
type daemonError struct {
	msg  string
	kind error
}

func (e *daemonError) Error() string { return "Error response from daemon: " + e.msg }
func (e *daemonError) Unwrap() error { return e.kind }

// Filters turns `--filter` values ("label=service=app", "status=running")
// into the API's filter set, so one list of filters serves the CLI command
// and the API call alike.
func Filters(values []string) (client.Filters, error) {
	f := client.Filters{}
	for _, v := range values {
		key, value, ok := strings.Cut(v, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("bad docker filter %q: want key=value", v)
		}
		f.Add(key, value)
	}
	return f, nil
}

// IsNotFound reports whether err says the container, image or network does
// not exist.
func IsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// wrap keeps the Engine's own error wording, which is the docker CLI's
// ("Error response from daemon: No such container: web"), and names the
// host only for failures to reach the Engine at all.
func (c *Client) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var refused *remote.UnixSocketError
	if errors.As(err, &refused) {
		return refused
	}
	if client.IsErrConnectionFailed(err) {
		return &UnreachableError{Host: c.host, Err: err}
	}
	return err
}

// UnreachableError is an Engine that could not be reached over SSH (the
// connection dropped, or nothing answered on the socket).
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("docker API on %s: %v", e.Host, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }
