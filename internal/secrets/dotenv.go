package secrets

import "errors"

// Var is one KEY=value pair of a dotenv file, in file order.
type Var struct{ Key, Value string }

// DotenvOptions controls how a dotenv file is expanded.
type DotenvOptions struct {
	File      string                           // shown in error messages
	LookupEnv func(string) (string, bool)      // nil means os.LookupEnv
	Shell     func(cmd string) (string, error) // runs $(cmd); nil means sh -c
}

// ParseDotenv parses dotenv data. (Stub: the secrets work replaces it.)
func ParseDotenv(data []byte, opts DotenvOptions) ([]Var, error) {
	return nil, errors.New("dotenv: not implemented yet")
}
