package testhosts

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// User is a login account besides root on every host, authorised with the
// environment's key, for tests of deploys by a non-root user.
type User struct {
	Name string
	// Docker puts the user in the docker group, which may use the Docker
	// socket (as `usermod -aG docker` does on a real server).
	Docker bool
}

var userNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// firstUserID is where the accounts' uids and gids start; ids the machine
// already uses are skipped.
const firstUserID = 2000

// account is a User with the id it got (its uid and its own group's gid).
type account struct {
	User
	id int
}

// accountSetup is what every host gets for Options.Users: the accounts and
// the host's /etc/passwd and /etc/group (the machine's, plus the accounts,
// their groups and their docker group membership).
type accountSetup struct {
	accts         []account
	passwd, group string
}

// UserHome is the home directory of user name on h, seen from the machine
// (/home/<name> on the host).
func (h *Host) UserHome(name string) string { return filepath.Join(h.Dir, "home", name) }

// newAccountSetup gives users ids that the machine's passwd and group files
// (their contents) do not use, and adds a docker group if there is none.
func newAccountSetup(users []User, passwd, group string) (*accountSetup, error) {
	used := map[int]bool{}
	names := map[string]bool{}
	for _, line := range strings.Split(passwd+"\n"+group, "\n") {
		if f := strings.Split(line, ":"); len(f) >= 3 {
			if id, err := strconv.Atoi(f[2]); err == nil {
				used[id] = true
			}
		}
	}
	for _, line := range strings.Split(passwd, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok {
			names[name] = true
		}
	}
	next := func() int {
		id := firstUserID
		for used[id] {
			id++
		}
		used[id] = true
		return id
	}
	s := &accountSetup{}
	var p strings.Builder
	p.WriteString(strings.TrimRight(passwd, "\n") + "\n")
	var docker []string
	for _, u := range users {
		if !userNameRE.MatchString(u.Name) {
			return nil, fmt.Errorf("testhosts: user name %q must match %s", u.Name, userNameRE)
		}
		if names[u.Name] {
			return nil, fmt.Errorf("testhosts: user %q already exists", u.Name)
		}
		names[u.Name] = true
		a := account{User: u, id: next()}
		s.accts = append(s.accts, a)
		fmt.Fprintf(&p, "%s:x:%d:%d::/home/%s:/bin/sh\n", a.Name, a.id, a.id, a.Name)
		if a.Docker {
			docker = append(docker, a.Name)
		}
	}
	var g strings.Builder
	hasDocker := false
	for _, line := range strings.Split(strings.TrimRight(group, "\n"), "\n") {
		if f := strings.Split(line, ":"); len(f) == 4 && f[0] == "docker" {
			hasDocker = true
			members := append(strings.FieldsFunc(f[3], func(r rune) bool { return r == ',' }), docker...)
			line = strings.Join(append(f[:3], strings.Join(members, ",")), ":")
		}
		g.WriteString(line + "\n")
	}
	for _, a := range s.accts {
		fmt.Fprintf(&g, "%s:x:%d:\n", a.Name, a.id)
	}
	if !hasDocker {
		fmt.Fprintf(&g, "docker:x:%d:%s\n", next(), strings.Join(docker, ","))
	}
	s.passwd, s.group = p.String(), g.String()
	return s, nil
}

// prepareAccounts writes the host's passwd and group files and the
// accounts' homes with the environment's key; the boot script mounts them.
func (h *Host) prepareAccounts(s *accountSetup, clientPub []byte) error {
	etc := filepath.Join(h.Dir, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(etc, "passwd"), []byte(s.passwd), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(etc, "group"), []byte(s.group), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(h.Dir, "home"), 0o755); err != nil {
		return err
	}
	for _, a := range s.accts {
		home := h.UserHome(a.Name)
		ssh := filepath.Join(home, ".ssh")
		if err := os.MkdirAll(ssh, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(home, 0o755); err != nil {
			return err
		}
		keys := filepath.Join(ssh, "authorized_keys")
		if err := os.WriteFile(keys, clientPub, 0o600); err != nil {
			return err
		}
		for _, path := range []string{home, ssh, keys} {
			if err := os.Chown(path, a.id, a.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// accountMounts is the boot script's part that puts the accounts in place
// inside the host's mount namespace (the machine's own files stay as they
// are).
const accountMounts = `mkdir -p /home
mount --bind "$D/etc/passwd" /etc/passwd
mount --bind "$D/etc/group" /etc/group
mount --bind "$D/home" /home
`
