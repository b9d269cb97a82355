package config

import "github.com/kamalgo/kamal/internal/config/erb"

func init() {
	renderERB = func(src []byte, file, dir string, lookupEnv func(string) (string, bool)) ([]byte, error) {
		return erb.Render(src, erb.Options{File: file, Dir: dir, LookupEnv: lookupEnv})
	}
}
