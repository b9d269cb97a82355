package remote

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/kamalgo/kamal/internal/shell"
)

// Redacted replaces every secret in printed lines and error messages.
const Redacted = "[REDACTED]"

// Redactor removes registered secrets from text. It is safe for concurrent
// use; a nil *Redactor redacts nothing.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string          // longest first, so a secret containing another is replaced whole
	shownAs map[string]string // replacements other than [REDACTED] (see AddShownAs)
}

// NewRedactor returns a Redactor that already knows secrets.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.Add(s)
	}
	return r
}

// MinSecretLength is the length (in characters) below which a secret is
// not redacted. Replacing every "a" or "12" in the output would blank out
// unrelated text and, by the pattern of the gaps, show the secret anyway;
// a value that short protects nothing in the first place.
const MinSecretLength = 4

// Add registers a secret. Besides the raw value, the forms it takes inside
// commands (shell-quoted, Kamal-escaped, env-file encoded) and each line of a
// multi-line secret (key material) are registered too, so a secret is hidden
// however it was rendered. Secrets shorter than MinSecretLength (blank
// space aside) are ignored.
func (r *Redactor) Add(secret string) {
	if r == nil || utf8.RuneCountInString(strings.TrimSpace(secret)) < MinSecretLength {
		return
	}
	forms := []string{secret, shell.Quote(secret), shell.Escape(secret), shell.EnvFileValue(secret)}
	if strings.Contains(secret, "\n") {
		for _, line := range strings.Split(secret, "\n") {
			// Short lines such as PEM armour are not secret and would make
			// output unreadable; key bodies are long.
			if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				forms = append(forms, line)
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range forms {
		if f == "" || contains(r.secrets, f) {
			continue
		}
		r.secrets = append(r.secrets, f)
	}
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// AddShownAs registers text to be printed as shown instead of [REDACTED].
// It is for words only part of which is sensitive: the registry login's
// `-u "dhh"` is printed `-u [REDACTED]`, while the same user name stays
// readable elsewhere (in image names). Empty text is ignored.
func (r *Redactor) AddShownAs(text, shown string) {
	if r == nil || strings.TrimSpace(text) == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shownAs == nil {
		r.shownAs = map[string]string{}
	}
	r.shownAs[text] = shown
	if !contains(r.secrets, text) {
		r.secrets = append(r.secrets, text)
	}
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// Redact returns s with every registered secret replaced by [REDACTED].
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			with, ok := r.shownAs[secret]
			if !ok {
				with = Redacted
			}
			s = strings.ReplaceAll(s, secret, with)
		}
	}
	return s
}

// Error returns err with its message redacted. errors.Is/As still see the
// original error through Unwrap.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := r.Redact(msg)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// IsRedacted reports whether err went through a Redactor that changed it.
func IsRedacted(err error) bool {
	var re *redactedError
	return errors.As(err, &re)
}
