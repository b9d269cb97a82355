package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/kamalgo/kamal/internal/config/erb"
	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// DefaultConfigFile is where Kamal looks for the configuration.
const DefaultConfigFile = "config/deploy.yml"

// LoadOptions says which configuration to load.
type LoadOptions struct {
	ConfigFile  string                      // default "config/deploy.yml"
	Destination string                      // -d; also reads config/deploy.<dest>.yml
	Version     string                      // --version; else $VERSION; else git
	LookupEnv   func(string) (string, bool) // nil: os.LookupEnv

	// Shell runs the backticks and %x() of ERB; nil runs them with `sh -c`.
	// Tests that feed untrusted input set it so that nothing is executed.
	Shell func(cmd string) (string, error)

	// Git runs git with args in the current directory and returns its
	// stdout, for the commit-hash version; nil runs the git command.
	Git func(args ...string) (string, error)
}

// Load reads, renders, merges, validates and models the configuration.
func Load(opts LoadOptions) (*Config, error) {
	raw, err := LoadRaw(opts)
	if err != nil {
		return nil, err
	}
	return build(raw.root, opts)
}

// Parse builds a Config from the text of a deploy.yml held in memory (it is
// rendered through ERB like a file). opts.ConfigFile only names it in error
// messages; no destination file is read. Handy for tests of other packages.
func Parse(data []byte, opts LoadOptions) (*Config, error) {
	file := opts.ConfigFile
	if file == "" {
		file = DefaultConfigFile
	}
	n, err := parseFile(file, data, envLookup(opts), opts.Shell)
	if err != nil {
		return nil, err
	}
	return build(n, opts)
}

// LoadRaw reads the config file(s), renders ERB, parses YAML and merges the
// destination file, without validating. It is used for alias lookup.
func LoadRaw(opts LoadOptions) (*RawConfig, error) {
	file := opts.ConfigFile
	if file == "" {
		file = DefaultConfigFile
	}
	if err := ValidateDestination(opts.Destination); err != nil {
		return nil, err
	}
	lookup := envLookup(opts)
	files := []string{file}
	if opts.Destination != "" {
		files = append(files, destinationFile(file, opts.Destination))
	}
	var merged *rubyyaml.Node
	for _, f := range files {
		n, err := loadFile(f, lookup, opts.Shell)
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = n
		} else {
			merged = rubyyaml.DeepMerge(merged, n)
		}
	}
	return &RawConfig{root: merged}, nil
}

// RawConfig is a merged but unvalidated configuration.
type RawConfig struct{ root *rubyyaml.Node }

// Config validates the raw configuration and builds the model. opts gives
// the destination and version; its ConfigFile is not read again.
func (r *RawConfig) Config(opts LoadOptions) (*Config, error) { return build(r.root, opts) }

var destinationRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ValidateDestination checks a -d name: it becomes part of file names
// (config/deploy.<dest>.yml, .kamal/secrets.<dest>) and of the app
// directory on the servers, so only letters, digits, "-", "_" and "." are
// allowed, and not "..". "" (no destination) is valid.
func ValidateDestination(dest string) error {
	if dest == "" || (destinationRE.MatchString(dest) && !strings.Contains(dest, "..")) {
		return nil
	}
	return &Error{Message: fmt.Sprintf("Destination name can only include alphanumeric characters, hyphens, underscores, and periods (not \"..\"), got %q", dest), kind: KindArgument}
}

// destinationFile is Ruby's Pathname#sub_ext(".<dest>.yml").
func destinationFile(file, dest string) string {
	ext := filepath.Ext(file)
	base := strings.TrimSuffix(file, ext)
	if strings.HasSuffix(base, "/") || base == "" {
		// a dotfile such as "config/.yml": Ruby treats the whole name as stem
		base = file
	}
	return base + "." + dest + ".yml"
}

// envLookup returns the environment seen by ERB: KAMAL_DESTINATION is the
// destination (unset without one), as Kamal sets ENV before rendering.
func envLookup(opts LoadOptions) func(string) (string, bool) {
	base := opts.LookupEnv
	if base == nil {
		// Shell-outs from ERB must see it too, so set the process env.
		if opts.Destination != "" {
			os.Setenv("KAMAL_DESTINATION", opts.Destination)
		} else {
			os.Unsetenv("KAMAL_DESTINATION")
		}
		return os.LookupEnv
	}
	return func(k string) (string, bool) {
		if k == "KAMAL_DESTINATION" {
			return opts.Destination, opts.Destination != ""
		}
		return base(k)
	}
}

// maxConfigFileSize caps a config file before ERB: a deploy.yml is a few
// kilobytes, and a link to /dev/zero must not eat all memory.
const maxConfigFileSize = 4 << 20

func loadFile(file string, lookup func(string) (string, bool), shell func(string) (string, error)) (*rubyyaml.Node, error) {
	data, err := readConfigFile(file)
	if err != nil {
		return nil, err
	}
	return parseFile(file, data, lookup, shell)
}

// readConfigFile reads a config file that must be a regular file (not a
// FIFO, device or directory, which could block or never end) of at most
// maxConfigFileSize bytes.
func readConfigFile(file string) ([]byte, error) {
	fail := func(format string, args ...any) ([]byte, error) {
		return nil, &Error{Message: fmt.Sprintf(format, args...), kind: KindRuntime}
	}
	info, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) {
		// Kamal names the file by its absolute path here.
		abs, _ := filepath.Abs(file)
		return fail("Configuration file not found in %s", abs)
	}
	if err != nil {
		return fail("Cannot read configuration file %s: %v", file, err)
	}
	if !info.Mode().IsRegular() {
		return fail("Configuration file %s is not a regular file (it is a %s)", file, fileType(info.Mode()))
	}
	// O_NONBLOCK: should the file be swapped for a FIFO after the check,
	// opening it does not wait for a writer.
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fail("Cannot read configuration file %s: %v", file, err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return fail("Configuration file %s is not a regular file", file)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFileSize+1))
	if err != nil {
		return fail("Cannot read configuration file %s: %v", file, err)
	}
	if len(data) > maxConfigFileSize {
		return fail("Configuration file %s is larger than %d MiB", file, maxConfigFileSize>>20)
	}
	return data, nil
}

// fileType names what a non-regular file is, for error messages.
func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// parseFile renders and parses the content of one config file.
func parseFile(file string, data []byte, lookup func(string) (string, bool), shell func(string) (string, error)) (*rubyyaml.Node, error) {
	rendered, err := erb.Render(data, erb.Options{File: file, Dir: filepath.Dir(file), LookupEnv: lookup, Shell: shell})
	if err != nil {
		return nil, err
	}
	n, err := rubyyaml.Parse(file, rendered)
	if err != nil {
		return nil, err
	}
	if n.Kind == rubyyaml.Null {
		// an empty file (or only comments): nothing to merge
		return &rubyyaml.Node{Kind: rubyyaml.Map, File: file, Line: 1}, nil
	}
	if n.Kind != rubyyaml.Map {
		return nil, &Error{File: file, Line: n.Line, Message: "the configuration must be a YAML mapping of settings (key: value)", kind: KindConfiguration}
	}
	return n, nil
}
