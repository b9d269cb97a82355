package secrets

import (
	"context"
	"encoding/base64"
	"strings"
)

// gcpSecretManager reads Google Cloud secrets with `gcloud secrets versions
// access`. Names are [PROJECT/]SECRET[/VERSION] (--from is put in front);
// the project `default` and a missing project mean gcloud's default
// project, and the version defaults to `latest`. --account is `default`,
// an account email, or ACCOUNT|SA[,SA...] to impersonate service accounts.
// Keys are PROJECT/SECRET.
type gcpSecretManager struct{ cli *vendorCLI }

func (g *gcpSecretManager) Fetch(ctx context.Context, account, from string, names []string) ([]Var, error) {
	c := g.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if err := g.login(ctx); err != nil {
		return nil, err
	}
	names = prefixed(from, names)
	if len(names) == 0 {
		return nil, c.errorf("no secrets given to fetch")
	}
	user, impersonate, _ := strings.Cut(account, "|")

	var r results
	for _, n := range names {
		parts := strings.Split(n, "/")
		if len(parts) == 1 {
			parts = []string{"default", parts[0]}
		}
		project, secret, version := parts[0], parts[1], "latest"
		if len(parts) > 2 && parts[2] != "" {
			version = parts[2]
		}
		if project == "" || secret == "" {
			return nil, c.errorf("%q is not [PROJECT/]SECRET[/VERSION]", n)
		}
		args := []string{"secrets", "versions", "access", version, "--secret=" + secret}
		if project != "default" {
			args = append(args, "--project="+project)
		}
		if user != "" && user != "default" {
			args = append(args, "--account="+user)
		}
		if impersonate != "" {
			args = append(args, "--impersonate-service-account="+impersonate)
		}
		key := project + "/" + secret
		out, err := c.output(ctx, append(args, "--format=json")...)
		if err != nil {
			return nil, c.errorf("could not read %s: %w", key, err)
		}
		var resp struct {
			Payload *struct {
				Data *string `json:"data"`
			} `json:"payload"`
		}
		if err := c.decode(out, &resp, "gcloud secrets versions access"); err != nil {
			return nil, err
		}
		if resp.Payload == nil || resp.Payload.Data == nil {
			return nil, c.errorf("unexpected output from gcloud secrets versions access: no payload data for %s", key)
		}
		value, err := decodeBase64(*resp.Payload.Data)
		if err != nil {
			return nil, c.errorf("unexpected output from gcloud secrets versions access: payload of %s is not base64", key)
		}
		r.set(key, value)
	}
	return r.vars, nil
}

func decodeBase64(s string) (string, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return string(b), nil
		}
	}
	return "", err
}

// login runs `gcloud auth login` (which opens a browser or prints a URL)
// when gcloud knows no credentials at all.
func (g *gcpSecretManager) login(ctx context.Context) error {
	c := g.cli
	if g.loggedIn(ctx) {
		return nil
	}
	if err := c.interactive(ctx, "auth", "login"); err != nil {
		return c.errorf("gcloud is not signed in and `gcloud auth login` failed: %w", err)
	}
	if !g.loggedIn(ctx) {
		return c.errorf("gcloud is still not signed in after `gcloud auth login`")
	}
	return nil
}

func (g *gcpSecretManager) loggedIn(ctx context.Context) bool {
	out, err := g.cli.run(ctx, true, "auth", "list", "--format=json")
	if err != nil {
		return false
	}
	var accounts []map[string]any
	return g.cli.decode(out, &accounts, "gcloud auth list") == nil && len(accounts) > 0
}
