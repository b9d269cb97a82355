package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys implements the host-key policy: keys in known_hosts must match;
// a host with no entry is trusted on first use and appended to the file
// (like OpenSSH's StrictHostKeyChecking=accept-new); a host whose key
// differs from its entry is refused.
type hostKeys struct {
	file string
	out  *Output

	mu       sync.Mutex
	db       ssh.HostKeyCallback
	accepted map[string]ssh.PublicKey // added during this run, by normalized address
}

// HostKeyChangedError is returned when a host presents a key that differs
// from the one recorded in known_hosts.
type HostKeyChangedError struct {
	Host        string // address as recorded, e.g. "[127.0.0.2]:2222"
	File        string
	Line        int
	Fingerprint string // SHA256 fingerprint of the key the host presented
}

func (e *HostKeyChangedError) Error() string {
	return fmt.Sprintf("host key verification failed for %s: the host presented %s, which does not match the key in %s:%d. "+
		"The host may have been reinstalled, or someone may be intercepting the connection. "+
		"If the change is expected, remove the old entry (ssh-keygen -R %q -f %s) and retry",
		e.Host, e.Fingerprint, e.File, e.Line, e.Host, e.File)
}

func newHostKeys(file string, out *Output) (*hostKeys, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	f.Close()
	db, err := knownhosts.New(file)
	if err != nil {
		return nil, fmt.Errorf("known hosts %s: %w", file, err)
	}
	return &hostKeys{file: file, out: out, db: db, accepted: map[string]ssh.PublicKey{}}, nil
}

// algorithms returns the host key algorithms to ask for so a host whose
// known key is (say) RSA is not reported as changed for offering ed25519
// first. Nil means "no entry, accept the server's preference".
func (h *hostKeys) algorithms(addr string) []string {
	h.mu.Lock()
	if k, ok := h.accepted[knownhosts.Normalize(addr)]; ok {
		h.mu.Unlock()
		return algorithmsFor(k.Type())
	}
	db := h.db
	h.mu.Unlock()
	probe, _, _ := ed25519.GenerateKey(rand.Reader)
	pk, _ := ssh.NewPublicKey(probe)
	var ke *knownhosts.KeyError
	if err := db(addr, fakeAddr(addr), pk); !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		for _, a := range algorithmsFor(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// callback returns the ssh.HostKeyCallback for a connection to addr
// ("host:port"); display is the name used in messages.
func (h *hostKeys) callback(display string) ssh.HostKeyCallback {
	return func(addr string, remote net.Addr, key ssh.PublicKey) error {
		norm := knownhosts.Normalize(addr)
		h.mu.Lock()
		defer h.mu.Unlock()
		if k, ok := h.accepted[norm]; ok {
			if string(k.Marshal()) == string(key.Marshal()) {
				return nil
			}
			return &HostKeyChangedError{Host: norm, File: h.file, Fingerprint: ssh.FingerprintSHA256(key)}
		}
		err := h.db(addr, fakeAddr(addr), key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &re):
			return fmt.Errorf("host key for %s is marked revoked in %s:%d; refusing to connect", norm, re.Revoked.Filename, re.Revoked.Line)
		case errors.As(err, &ke) && len(ke.Want) > 0:
			return &HostKeyChangedError{Host: norm, File: ke.Want[0].Filename, Line: ke.Want[0].Line, Fingerprint: ssh.FingerprintSHA256(key)}
		case errors.As(err, &ke):
			if err := h.appendKey(norm, key); err != nil {
				return err
			}
			h.accepted[norm] = key
			h.out.Log(Warn, "", fmt.Sprintf("Permanently added %s (%s) to %s, fingerprint %s",
				norm, key.Type(), h.file, ssh.FingerprintSHA256(key)))
			return nil
		default:
			return fmt.Errorf("checking host key of %s: %w", display, err)
		}
	}
}

func (h *hostKeys) appendKey(norm string, key ssh.PublicKey) error {
	f, err := os.OpenFile(h.file, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("recording host key of %s: %w", norm, err)
	}
	defer f.Close()
	// Start on a fresh line even if the file lacks a trailing newline.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		if b, err := os.ReadFile(h.file); err == nil && b[len(b)-1] != '\n' {
			if _, err := f.WriteString("\n"); err != nil {
				return fmt.Errorf("recording host key of %s: %w", norm, err)
			}
		}
	}
	if _, err := f.WriteString(knownhosts.Line([]string{norm}, key) + "\n"); err != nil {
		return fmt.Errorf("recording host key of %s: %w", norm, err)
	}
	return nil
}

// fakeAddr satisfies knownhosts, which wants a net.Addr it can split even
// when the connection is a proxy command's pipes.
type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
