package config

import "github.com/kamalgo/kamal/internal/config/erb"

// erbShell runs backticks and %x() in config files; nil means `sh -c`.
// Tests that feed untrusted input replace it so nothing is executed.
var erbShell func(cmd string) (string, error)

func init() {
	renderERB = func(src []byte, file, dir string, lookupEnv func(string) (string, bool)) ([]byte, error) {
		return erb.Render(src, erb.Options{File: file, Dir: dir, LookupEnv: lookupEnv, Shell: erbShell})
	}
}
