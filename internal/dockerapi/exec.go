package dockerapi

import (
	"bytes"
	"context"
	"fmt"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecResult is what a command run in a container printed and its exit
// status.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int
}

// Exec is `docker exec container cmd...` without a terminal or input: it
// runs cmd, waits for it to end and returns its output and exit status
// (a non-zero status is a result, not an error). Kamal drives kamal-proxy
// this way.
func (c *Client) Exec(ctx context.Context, container string, cmd []string) (ExecResult, error) {
	created, err := c.api.ExecCreate(ctx, container, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return ExecResult{}, c.wrap(err)
	}
	attached, err := c.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, c.wrap(err)
	}
	defer attached.Close()
	var stdout, stderr bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&stdout, &stderr, attached.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		attached.Close()
		<-copied
		return ExecResult{}, ctx.Err()
	}
	if err != nil {
		return ExecResult{}, c.wrap(fmt.Errorf("reading the output of %s in %s: %w", cmd[0], container, err))
	}
	inspected, err := c.api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return ExecResult{}, c.wrap(err)
	}
	return ExecResult{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: inspected.ExitCode}, nil
}

// CreateNetwork is `docker network create name` (a bridge network). An
// Engine older than API 1.44 creates a second network of the same name
// unless the request asks it to check (CheckDuplicate), as the docker CLI
// of its time did; the client module no longer sends that field, so this
// request is our own.
func (c *Client) CreateNetwork(ctx context.Context, name string) error {
	body := map[string]any{"Name": name, "Driver": "bridge", "CheckDuplicate": true}
	return c.post(ctx, "/networks/create", body)
}

// PruneContainers is `docker container prune --force --filter ...`.
func (c *Client) PruneContainers(ctx context.Context, filters []string) error {
	f, err := Filters(filters)
	if err != nil {
		return err
	}
	_, err = c.api.ContainerPrune(ctx, client.ContainerPruneOptions{Filters: f})
	return c.wrap(err)
}

// PruneImages is `docker image prune --force [--all] --filter ...`: unused
// dangling images, or with all every unused image.
func (c *Client) PruneImages(ctx context.Context, all bool, filters []string) error {
	f, err := Filters(filters)
	if err != nil {
		return err
	}
	if all {
		f.Add("dangling", "false")
	} else {
		f.Add("dangling", "true")
	}
	_, err = c.api.ImagePrune(ctx, client.ImagePruneOptions{Filters: f})
	return c.wrap(err)
}
