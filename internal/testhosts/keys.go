package testhosts

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// writeClientKey writes a new ed25519 private key in OpenSSH format to path
// (0600) and returns the authorized_keys line of its public half.
func writeClientKey(path string) ([]byte, error) {
	pub, err := writeKey(path, "kamal-testhosts")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		return nil, err
	}
	return ssh.MarshalAuthorizedKey(pub), nil
}

// writeHostKey writes a host private key for sshd and returns its public key.
func writeHostKey(path string) (ssh.PublicKey, error) { return writeKey(path, "") }

func writeKey(path, comment string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

// knownHostsLine is the known_hosts entry for a host on port 22.
func knownHostsLine(ip string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{ip}, key) + "\n"
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
