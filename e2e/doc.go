// Package e2e holds the end-to-end scenarios: the kamal binary deploys to
// simulated servers (internal/testhosts) over real SSH, real Docker daemons
// and a real registry. Run as root: go test ./e2e/... (see docs/testing.md).
package e2e
