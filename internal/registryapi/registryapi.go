// Package registryapi asks a container registry (the Docker Registry HTTP
// API v2, as Docker Hub and every private registry speak it) whether an
// image tag exists, without pulling it and without a `docker login`: the
// credentials are sent with the request only, nothing is written.
package registryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// dockerHub is where images without a registry host live.
const dockerHub = "registry-1.docker.io"

// manifestTypes are the manifests a HEAD may answer with (Docker v2, OCI,
// and their lists), as docker pull accepts them.
var manifestTypes = strings.Join([]string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}, ", ")

// Client asks registries about tags.
type Client struct {
	HTTP *http.Client // default: 15 s timeout
}

// Ref is a repository (with its registry host, if any) and a tag.
type Ref struct {
	Server, Repository, Tag string
	Username, Password      string
}

// ParseRef splits "[server/]repository:tag" as docker does: the first
// path element is a registry host when it has a dot or a colon or is
// localhost.
func ParseRef(image string) (Ref, error) {
	repo, tag := image, "latest"
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		repo, tag = image[:i], image[i+1:]
	}
	if repo == "" || tag == "" {
		return Ref{}, fmt.Errorf("invalid image reference %q", image)
	}
	r := Ref{Repository: repo, Tag: tag}
	if first, rest, ok := strings.Cut(repo, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.Server, r.Repository = first, rest
	}
	return r, nil
}

// ErrNotFound is a tag the registry does not have.
var ErrNotFound = errors.New("not found in the registry")

// Exists reports whether r's tag exists in its registry: nil when it does,
// ErrNotFound when the registry says it does not, another error when the
// registry could not be asked (unreachable, credentials refused).
func (c *Client) Exists(ctx context.Context, r Ref) error {
	server, repo := r.Server, r.Repository
	if server == "" || server == "docker.io" || server == "index.docker.io" {
		server = dockerHub
		if !strings.Contains(repo, "/") {
			repo = "library/" + repo
		}
	}
	path := "/v2/" + repo + "/manifests/" + url.PathEscape(r.Tag)
	resp, err := c.head(ctx, "https://"+server+path, r, "")
	if err != nil && isPlainHTTP(err) {
		// A registry without TLS (one docker daemons are told is
		// insecure) answers on plain HTTP.
		resp, err = c.head(ctx, "http://"+server+path, r, "")
	}
	if err != nil {
		return fmt.Errorf("asking %s for %s:%s: %w", server, r.Repository, r.Tag, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s refused the credentials for %s (HTTP %d)", server, r.Repository, resp.StatusCode)
	}
	return fmt.Errorf("asking %s for %s:%s: HTTP %d", server, r.Repository, r.Tag, resp.StatusCode)
}

func isPlainHTTP(err error) bool {
	return strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// head sends HEAD u, answering one authentication challenge (basic, or a
// bearer token fetched with the credentials).
func (c *Client) head(ctx context.Context, u string, r Ref, auth string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", manifestTypes)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || auth != "" {
		return resp, nil
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	scheme, params := parseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "basic":
		if r.Username == "" && r.Password == "" {
			return resp, nil
		}
		req.SetBasicAuth(r.Username, r.Password)
		return c.head(ctx, u, r, req.Header.Get("Authorization"))
	case "bearer":
		token, err := c.token(ctx, params, r)
		if err != nil {
			return nil, err
		}
		return c.head(ctx, u, r, "Bearer "+token)
	}
	return resp, nil
}

// token gets a bearer token from the challenge's realm.
func (c *Client) token(ctx context.Context, params map[string]string, r Ref) (string, error) {
	realm, err := url.Parse(params["realm"])
	if err != nil || realm.Scheme == "" {
		return "", fmt.Errorf("the registry asked for a token from %q", params["realm"])
	}
	q := realm.Query()
	for _, k := range []string{"service", "scope"} {
		if v := params[k]; v != "" {
			q.Set(k, v)
		}
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	if r.Username != "" || r.Password != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the registry's token service answered HTTP %d", resp.StatusCode)
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("reading the registry's token: %w", err)
	}
	if body.Token != "" {
		return body.Token, nil
	}
	return body.AccessToken, nil
}

// parseChallenge splits `Bearer realm="...",service="..."`.
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest != "" {
		var kv string
		rest = strings.TrimLeft(rest, ", ")
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				break
			}
			kv, rest = after[1:end+1], after[end+2:]
		} else {
			kv, rest, _ = strings.Cut(after, ",")
		}
		params[strings.ToLower(strings.TrimSpace(key))] = kv
	}
	return scheme, params
}
