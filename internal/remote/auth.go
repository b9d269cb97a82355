package remote

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

var errNoIdentities = errors.New("no SSH identities available: no keys configured or found, and no ssh-agent identities")

// auth holds the identities shared by every connection of a pool.
type auth struct {
	opts SSHOptions

	mu        sync.Mutex
	agentConn net.Conn
	agent     agent.ExtendedAgent
	explicit  []ssh.Signer    // from Keys and KeyData
	wanted    []ssh.PublicKey // public keys of encrypted key files, to be signed by the agent
	loadErr   error
	loaded    bool
}

func newAuth(o SSHOptions) *auth { return &auth{opts: o} }

func (a *auth) load() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.loaded {
		return a.loadErr
	}
	a.loaded = true
	for _, f := range a.opts.Keys {
		if err := a.addKeyFile(expandHome(f), true); err != nil {
			a.loadErr = err
			return err
		}
	}
	for i, data := range a.opts.KeyData {
		s, err := ssh.ParsePrivateKey([]byte(data))
		if err != nil {
			// Never echo the key material itself.
			a.loadErr = fmt.Errorf("ssh key_data entry %d: cannot parse private key: %s", i+1, keyParseReason(err))
			return a.loadErr
		}
		a.explicit = append(a.explicit, s)
	}
	if sock := a.opts.AgentSocket; sock != "" && sock != "-" {
		if c, err := net.Dial("unix", sock); err == nil {
			a.agentConn = c
			a.agent = agent.NewClient(c)
		}
	}
	return nil
}

func keyParseReason(err error) string {
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		return "it is passphrase-protected (load it into ssh-agent instead)"
	}
	return err.Error()
}

// addKeyFile loads a private key file. A passphrase-protected key is not
// an error: its .pub file tells us which agent identity to use.
func (a *auth) addKeyFile(path string, required bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if !required && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("ssh key %s: %w", path, err)
	}
	if err := checkKeyFileMode(path); err != nil {
		return err
	}
	s, err := ssh.ParsePrivateKey(data)
	if err == nil {
		a.explicit = append(a.explicit, s)
		return nil
	}
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		if pm.PublicKey != nil {
			a.wanted = append(a.wanted, pm.PublicKey)
			return nil
		}
		if pub, perr := os.ReadFile(path + ".pub"); perr == nil {
			if pk, _, _, _, perr := ssh.ParseAuthorizedKey(pub); perr == nil {
				a.wanted = append(a.wanted, pk)
				return nil
			}
		}
	}
	return fmt.Errorf("ssh key %s: %s", path, keyParseReason(err))
}

// signers returns the identities to offer for one target, in order:
// explicit keys, then (unless keys_only) ssh_config IdentityFiles or the
// default ~/.ssh/id_* files, then agent identities (with keys_only, only
// those matching the configured keys).
func (a *auth) signers(t target) func() ([]ssh.Signer, error) {
	return func() ([]ssh.Signer, error) {
		if err := a.load(); err != nil {
			return nil, err
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		var out []ssh.Signer
		seen := map[string]bool{}
		add := func(s ssh.Signer) {
			k := string(s.PublicKey().Marshal())
			if !seen[k] {
				seen[k] = true
				out = append(out, s)
			}
		}
		for _, s := range a.explicit {
			add(s)
		}
		wanted := append([]ssh.PublicKey(nil), a.wanted...)
		if len(a.opts.Keys) == 0 && len(a.opts.KeyData) == 0 {
			files := t.Identity
			if len(files) == 0 {
				h := homeDir()
				files = []string{filepath.Join(h, ".ssh", "id_ed25519"), filepath.Join(h, ".ssh", "id_ecdsa"), filepath.Join(h, ".ssh", "id_rsa")}
			}
			tmp := &auth{}
			for _, f := range files {
				_ = tmp.addKeyFile(expandHome(f), false)
			}
			for _, s := range tmp.explicit {
				add(s)
			}
			wanted = append(wanted, tmp.wanted...)
		}
		if a.agent != nil {
			agentSigners, err := a.agent.Signers()
			if err == nil {
				for _, s := range agentSigners {
					if !a.opts.KeysOnly || matchesAny(s.PublicKey(), wanted) {
						add(s)
					}
				}
			}
		}
		if len(out) == 0 {
			return nil, errNoIdentities
		}
		return out, nil
	}
}

func matchesAny(k ssh.PublicKey, list []ssh.PublicKey) bool {
	for _, w := range list {
		if bytes.Equal(k.Marshal(), w.Marshal()) {
			return true
		}
	}
	return false
}

func (a *auth) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.agentConn != nil {
		a.agentConn.Close()
		a.agentConn = nil
		a.agent = nil
	}
}

// checkKeyFileMode refuses a private key file of ours that others may read,
// as OpenSSH does: a key readable by the group or the world may already be
// in other hands, and the mistake is worth stopping for. Files owned by
// another user are left to their owner, like OpenSSH.
func checkKeyFileMode(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("ssh key %s: %w", path, err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && ownedByUs(st) {
		return fmt.Errorf("ssh key %s: permissions %04o are too open: a private key must not be accessible by others "+
			"(OpenSSH refuses it too); run chmod 600 %s", path, perm, path)
	}
	return nil
}

// ownedByUs reports whether the file belongs to the user running kamal.
func ownedByUs(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
