package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// StrictHostKeyChecking modes, as OpenSSH names them.
const (
	strictYes       = "yes"        // unknown hosts are refused
	strictAcceptNew = "accept-new" // unknown hosts are recorded; changed keys refused (default)
	strictNo        = "no"         // unknown hosts are recorded; changed keys only warned about
)

// hostKeyPolicy is how the host key of one target is checked: OpenSSH's
// StrictHostKeyChecking, UserKnownHostsFile and GlobalKnownHostsFile.
type hostKeyPolicy struct {
	strict string
	user   []string // read, and the first one receives new keys
	global []string // read only
}

// hostKeyPolicyFor resolves the policy of alias: explicit options beat
// ssh_config (read only when enabled), which beats OpenSSH's defaults.
func hostKeyPolicyFor(o SSHOptions, cfg *sshConfig, alias string) (hostKeyPolicy, error) {
	p := hostKeyPolicy{strict: strictAcceptNew}
	if v := cfg.get(alias, "StrictHostKeyChecking"); v != "" {
		switch strings.ToLower(v) {
		case "yes", "true":
			p.strict = strictYes
		case "accept-new", "ask": // we cannot ask in parallel runs; net-ssh accepts new keys too
			p.strict = strictAcceptNew
		case "no", "off", "false":
			p.strict = strictNo
		default:
			return p, fmt.Errorf("ssh config: invalid StrictHostKeyChecking %q for %s (allowed: yes, accept-new, no, off, ask)", v, alias)
		}
	}
	switch {
	case o.KnownHostsFile != "":
		p.user = []string{expandHome(o.KnownHostsFile)}
	case cfg.get(alias, "UserKnownHostsFile") != "":
		p.user = knownHostsFiles(cfg.get(alias, "UserKnownHostsFile"))
	default:
		h := homeDir()
		p.user = []string{filepath.Join(h, ".ssh", "known_hosts"), filepath.Join(h, ".ssh", "known_hosts2")}
	}
	switch {
	case o.GlobalKnownHostsFiles != nil:
		p.global = o.GlobalKnownHostsFiles
	case cfg.get(alias, "GlobalKnownHostsFile") != "":
		p.global = knownHostsFiles(cfg.get(alias, "GlobalKnownHostsFile"))
	default:
		p.global = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	return p, nil
}

// knownHostsFiles splits an ssh_config file list ("none" is no file),
// expanding ~ and %d (the home directory).
func knownHostsFiles(v string) []string {
	var out []string
	for _, f := range strings.Fields(v) {
		if strings.EqualFold(f, "none") {
			return nil
		}
		f = strings.NewReplacer("%d", homeDir(), "%%", "%").Replace(f)
		out = append(out, expandHome(f))
	}
	return out
}

// hostKeys implements the host-key policies of a pool. With the default
// (accept-new), keys in the known hosts files must match; a host with no
// entry is trusted on first use and appended to the first user file; a host
// whose key differs from its entry is refused.
type hostKeys struct {
	out *Output

	mu       sync.Mutex
	dbs      map[string]ssh.HostKeyCallback // by file list
	accepted map[string]ssh.PublicKey       // added during this run, by normalized address
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

// Kind is the class Kamal (net-ssh) prints for this failure.
func (e *HostKeyChangedError) Kind() string { return "Net::SSH::HostKeyMismatch" }

// HostKeyUnknownError is returned, under StrictHostKeyChecking yes, for a
// host none of the known hosts files has a key for.
type HostKeyUnknownError struct {
	Host        string // normalized address
	KeyType     string
	Fingerprint string
	Files       []string // the files searched
}

func (e *HostKeyUnknownError) Error() string {
	return fmt.Sprintf("no host key is known for %s and StrictHostKeyChecking is yes: the host presented %s %s. "+
		"Check the fingerprint and add the key to %s (for example by connecting once with ssh), then retry",
		e.Host, e.KeyType, e.Fingerprint, strings.Join(e.Files, " or "))
}

// Kind is the class Kamal (net-ssh) prints for this failure.
func (e *HostKeyUnknownError) Kind() string { return "Net::SSH::HostKeyUnknown" }

func newHostKeys(out *Output) *hostKeys {
	return &hostKeys{out: out, dbs: map[string]ssh.HostKeyCallback{}, accepted: map[string]ssh.PublicKey{}}
}

// db returns the known hosts database of p, creating the file new keys go
// to (and its directory, 0700) when it is missing. Missing files are read
// as empty. Call with h.mu held.
func (h *hostKeys) db(p hostKeyPolicy) (ssh.HostKeyCallback, error) {
	key := strings.Join(p.user, "\x00") + "\x01" + strings.Join(p.global, "\x00")
	if db, ok := h.dbs[key]; ok {
		return db, nil
	}
	if len(p.user) > 0 && p.strict != strictYes {
		if err := os.MkdirAll(filepath.Dir(p.user[0]), 0o700); err != nil {
			return nil, fmt.Errorf("known hosts: %w", err)
		}
		f, err := os.OpenFile(p.user[0], os.O_CREATE|os.O_RDONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("known hosts: %w", err)
		}
		f.Close()
	}
	var files []string
	for _, f := range append(append([]string{}, p.user...), p.global...) {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	db, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	h.dbs[key] = db
	return db, nil
}

// algorithms returns the host key algorithms to ask for so a host whose
// known key is (say) RSA is not reported as changed for offering ed25519
// first. Nil means "no entry, accept the server's preference".
func (h *hostKeys) algorithms(p hostKeyPolicy, addr string) []string {
	h.mu.Lock()
	if k, ok := h.accepted[knownhosts.Normalize(addr)]; ok {
		h.mu.Unlock()
		return algorithmsFor(k.Type())
	}
	db, err := h.db(p)
	h.mu.Unlock()
	if err != nil {
		return nil // the callback reports it
	}
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
// ("host:port") under policy p; display is the name used in messages.
func (h *hostKeys) callback(p hostKeyPolicy, display string) ssh.HostKeyCallback {
	return func(addr string, remote net.Addr, key ssh.PublicKey) error {
		norm := knownhosts.Normalize(addr)
		fp := ssh.FingerprintSHA256(key)
		h.mu.Lock()
		defer h.mu.Unlock()
		if k, ok := h.accepted[norm]; ok {
			if string(k.Marshal()) == string(key.Marshal()) {
				return nil
			}
			return &HostKeyChangedError{Host: norm, File: p.firstUser(), Fingerprint: fp}
		}
		db, err := h.db(p)
		if err != nil {
			return err
		}
		err = db(addr, fakeAddr(addr), key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &re):
			return fmt.Errorf("host key for %s is marked revoked in %s:%d; refusing to connect", norm, re.Revoked.Filename, re.Revoked.Line)
		case errors.As(err, &ke) && len(ke.Want) > 0:
			changed := &HostKeyChangedError{Host: norm, File: ke.Want[0].Filename, Line: ke.Want[0].Line, Fingerprint: fp}
			if p.strict != strictNo {
				return changed
			}
			h.out.Log(Warn, "", "WARNING: "+changed.Error()+". Connecting anyway: StrictHostKeyChecking is no")
			return nil
		case errors.As(err, &ke):
			if p.strict == strictYes {
				return &HostKeyUnknownError{Host: norm, KeyType: key.Type(), Fingerprint: fp, Files: append(append([]string{}, p.user...), p.global...)}
			}
			where := "this run only (no UserKnownHostsFile)"
			if len(p.user) > 0 {
				if err := appendKey(p.user[0], norm, key); err != nil {
					return err
				}
				where = p.user[0]
			}
			h.accepted[norm] = key
			h.out.Log(Warn, "", fmt.Sprintf("Permanently added %s (%s) to %s, fingerprint %s", norm, key.Type(), where, fp))
			return nil
		default:
			return fmt.Errorf("checking host key of %s: %w", display, err)
		}
	}
}

func (p hostKeyPolicy) firstUser() string {
	if len(p.user) > 0 {
		return p.user[0]
	}
	return "(no file)"
}

func appendKey(file, norm string, key ssh.PublicKey) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("recording host key of %s: %w", norm, err)
	}
	defer f.Close()
	// Start on a fresh line even if the file lacks a trailing newline.
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		if b, err := os.ReadFile(file); err == nil && b[len(b)-1] != '\n' {
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
