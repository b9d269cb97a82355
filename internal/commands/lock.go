package commands

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/kamalgo/kamal/internal/config"
)

// AutomaticLockMessage is the message of the lock taken around mutating
// commands; --lock-wait only waits for locks carrying it.
const AutomaticLockMessage = "Automatic deploy lock"

// Lock builds the commands of the deploy lock: a directory created
// atomically with mkdir on the primary host, holding a `details` file. The
// path is quoted: the destination comes from the command line.
type Lock struct {
	dir string
}

// NewLock returns the lock builder for cfg (.kamal/lock-<service>[-<dest>]).
func NewLock(cfg *config.Config) Lock {
	return Lock{dir: config.DefaultRunDirectory + "/lock-" + cfg.ServiceAndDestination()}
}

// Dir is the lock directory, relative to the login directory.
func (l Lock) Dir() string { return l.dir }

// DetailsFile is the file describing who holds the lock.
func (l Lock) DetailsFile() string { return l.dir + "/details" }

// Acquire creates the lock directory (failing when it exists) and writes
// details into it, MIME base64 encoded as Kamal does.
func (l Lock) Acquire(details string) Cmd {
	return Combine(
		New("mkdir").Quoted(l.dir),
		Write(New("echo", `"`+EncodeMIMEBase64([]byte(details))+`"`), l.DetailsFile()),
	)
}

// Release removes the details and the directory.
func (l Lock) Release() Cmd {
	return Combine(New("rm").Quoted(l.DetailsFile()), l.RemoveDir())
}

// Exists succeeds when the lock directory exists.
func (l Lock) Exists() Cmd { return New("stat").Quoted(l.dir) }

// RemoveDir removes the lock directory, details or not.
func (l Lock) RemoveDir() Cmd { return New("rm", "-r").Quoted(l.dir) }

// Status prints the decoded details, failing when there is no lock.
func (l Lock) Status() Cmd {
	return Combine(
		Write(l.Exists(), "/dev/null"),
		Pipe(New("cat").Quoted(l.DetailsFile()), New("base64", "-d")),
	)
}

// LockDetails renders the text stored in the lock's details file.
func LockDetails(lockedBy string, at time.Time, version, message string) string {
	return fmt.Sprintf("Locked by: %s at %s\nVersion: %s\nMessage: %s",
		lockedBy, at.UTC().Format(time.RFC3339), version, message)
}

// LockMessage extracts the Message line from decoded details, and false
// when the details have no such line (corrupt or foreign content).
func LockMessage(details string) (string, bool) {
	for _, line := range strings.Split(details, "\n") {
		if m, ok := strings.CutPrefix(line, "Message: "); ok {
			return strings.TrimRight(m, "\r"), true
		}
	}
	return "", false
}

// EncodeMIMEBase64 encodes like Ruby's Base64.encode64: standard alphabet
// with padding, a newline after every 60 characters and at the end.
func EncodeMIMEBase64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60])
		b.WriteByte('\n')
		enc = enc[60:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.String()
}
