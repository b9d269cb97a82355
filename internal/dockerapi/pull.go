package dockerapi

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// Auth are registry credentials for a pull. Through the API the Engine
// cannot read the login user's ~/.docker/config.json on the server, so the
// caller passes what `docker login` was given.
type Auth struct {
	Server   string
	Username string
	Password string
}

// Pull is `docker pull ref`. progress, when set, receives the lines the
// docker CLI prints without a terminal ("v1: Pulling from app",
// "a1b2c3: Pull complete", "Status: Downloaded newer image for ..."); the
// byte counters in between are skipped, as the CLI does. An error in the
// stream (an unknown tag, a refused login, a dropped connection) fails the
// pull with the Engine's message.
func (c *Client) Pull(ctx context.Context, ref string, auth *Auth, progress func(line string)) error {
	var opts client.ImagePullOptions
	if auth != nil {
		enc, err := authconfig.Encode(registry.AuthConfig{
			Username: auth.Username, Password: auth.Password, ServerAddress: auth.Server,
		})
		if err != nil {
			return fmt.Errorf("encoding credentials for %s: %w", auth.Server, err)
		}
		opts.RegistryAuth = enc
	}
	stream, err := c.api.ImagePull(ctx, ref, opts)
	if err != nil {
		return c.wrap(err)
	}
	for m, err := range stream.JSONMessages(ctx) {
		if err != nil {
			return c.wrap(fmt.Errorf("pulling %s: %w", ref, err))
		}
		if m.Error != nil {
			return fmt.Errorf("%s", m.Error.Message)
		}
		if line, ok := progressLine(m); ok && progress != nil {
			progress(line)
		}
	}
	return nil
}

// progressLine renders a pull message as the docker CLI does when its output
// is not a terminal; ok is false for byte-counter updates.
func progressLine(m jsonstream.Message) (string, bool) {
	if m.Progress != nil && (m.Progress.Current > 0 || m.Progress.Total > 0) {
		return "", false
	}
	line := m.Status
	if m.Stream != "" {
		line = m.Stream
	}
	if m.ID != "" {
		line = m.ID + ": " + line
	}
	return line, line != ""
}
