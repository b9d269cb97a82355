package config

import "github.com/kamalgo/kamal/internal/secrets"

// attachSecrets gives the config its secrets store; nothing is read until a
// secret is first looked up.
func attachSecrets(c *Config) { c.Secrets = secrets.New(c.SecretsPath, c.Destination) }

// SecretLookup returns a lookup function over the config's secrets, for
// Value.Resolve.
func (c *Config) SecretLookup() func(name string) (string, error) {
	return func(name string) (string, error) { return c.Secrets.Get(name) }
}
