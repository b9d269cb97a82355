package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// DefaultPath is where Kamal looks for secrets unless secrets_path says
// otherwise.
const DefaultPath = ".kamal/secrets"

// Secrets is the lazily loaded content of a project's secrets files:
// `<path>-common`, then `<path>` (no destination) or `<path>.<destination>`.
// Later files win. The files are read, and their commands run, at most
// once, on first use, because reading them may prompt for a password.
type Secrets struct {
	path, destination string

	// opts are the dotenv options for every file (tests swap the shell).
	opts DotenvOptions

	mu     sync.Mutex
	loaded bool
	err    error
	files  []string // the candidate files that exist, in read order
	vars   []Var
	index  map[string]int
}

// New returns the secrets store for secrets_path path (DefaultPath when
// empty) and destination (may be empty). Nothing is read yet.
func New(path, destination string) *Secrets {
	if path == "" {
		path = DefaultPath
	}
	return &Secrets{path: path, destination: destination}
}

// Filenames returns the files the store reads when they exist, in order.
func (s *Secrets) Filenames() []string {
	main := s.path
	if s.destination != "" {
		main += "." + s.destination
	}
	return []string{s.path + "-common", main}
}

// Files returns the secrets files that exist, in read order.
func (s *Secrets) Files() ([]string, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	return append([]string(nil), s.files...), nil
}

// NotFoundError is a secret missing from every secrets file.
type NotFoundError struct {
	Name  string
	Files []string // existing files searched
	Tried []string // every candidate file
}

func (e *NotFoundError) Error() string {
	if len(e.Files) > 0 {
		return fmt.Sprintf("Secret '%s' not found in %s", e.Name, strings.Join(e.Files, ", "))
	}
	return fmt.Sprintf("Secret '%s' not found, no secret files (%s) provided", e.Name, strings.Join(e.Tried, ", "))
}

// Kind names the error class Kamal prints for it.
func (e *NotFoundError) Kind() string { return "Kamal::ConfigurationError" }

// Get returns the secret called name.
func (s *Secrets) Get(name string) (string, error) {
	if err := s.load(); err != nil {
		return "", err
	}
	if i, ok := s.index[name]; ok {
		return s.vars[i].Value, nil
	}
	return "", &NotFoundError{Name: name, Files: append([]string(nil), s.files...), Tried: s.Filenames()}
}

// All returns every secret in file order, later files winning.
func (s *Secrets) All() ([]Var, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	return append([]Var(nil), s.vars...), nil
}

// Values returns every non-empty secret value, for redaction.
func (s *Secrets) Values() ([]string, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	var out []string
	for _, v := range s.vars {
		if v.Value != "" {
			out = append(out, v.Value)
		}
	}
	return out, nil
}

// load reads the files once. A failure is remembered too: retrying would
// prompt for passwords again.
func (s *Secrets) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded {
		return s.err
	}
	s.loaded = true
	s.err = s.read()
	return s.err
}

func (s *Secrets) read() error {
	s.index = map[string]int{}
	for _, name := range s.Filenames() {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading secrets: %w", err)
		}
		s.files = append(s.files, name)
		opts := s.opts
		opts.File = name
		// Each file is parsed on its own, as Kamal does: $VAR sees the
		// keys above it in the same file, then the environment.
		vars, err := ParseDotenv(data, opts)
		if err != nil {
			return err
		}
		for _, v := range vars {
			if i, ok := s.index[v.Key]; ok {
				s.vars[i].Value = v.Value
				continue
			}
			s.index[v.Key] = len(s.vars)
			s.vars = append(s.vars, v)
		}
	}
	return nil
}
