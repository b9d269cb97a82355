package commands

import (
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
)

// SSH builds the local `ssh -t …` command line used for interactive exec and
// followed logs, which run through the user's own ssh client with a TTY.
type SSH struct {
	s config.SSH
}

// NewSSH returns the ssh command builder for the ssh settings.
func NewSSH(s config.SSH) *SSH { return &SSH{s: s} }

// Interactive returns the local command line that runs remote on host:
// `ssh [-F file] [-J proxy | -o ProxyCommand='…'] [-i key]… [-o IdentitiesOnly=yes] -t user@host -p port '<remote>'`.
func (s *SSH) Interactive(host string, remote Cmd) Cmd {
	c := New("ssh")
	switch {
	case s.s.LoadConfig != nil && !*s.s.LoadConfig:
		c = append(c, "-F", "/dev/null")
	case len(s.s.ConfigFiles) > 0:
		c = append(c, "-F", q(s.s.ConfigFiles[0]))
	}
	switch {
	case s.s.ProxyCommand != "":
		c = append(c, "-o", "ProxyCommand="+alwaysQuote(s.s.ProxyCommand))
	case s.s.Proxy != "":
		c = append(c, "-J", q(s.proxy()))
	}
	for _, k := range s.s.Keys {
		c = append(c, "-i", homePath(k))
	}
	if s.s.KeysOnly != nil && *s.s.KeysOnly {
		c = append(c, "-o", "IdentitiesOnly=yes")
	}
	user := s.s.User
	if user == "" {
		user = config.DefaultSSHUser
	}
	port := s.s.Port
	if port == 0 {
		port = config.DefaultSSHPort
	}
	dest := user + "@" + host
	if strings.HasPrefix(dest, "-") {
		// A user starting with "-" would be read as an option (-oProxyCommand=…):
		// end the options first. ssh reads no option after "--", so -p goes before.
		return append(c, "-t", "-p", strconv.Itoa(port), "--", q(dest), alwaysQuote(remote.String()))
	}
	return append(c, "-t", q(dest), "-p", strconv.Itoa(port), alwaysQuote(remote.String()))
}

// proxy is the jump host, with the default user when none is given.
func (s *SSH) proxy() string {
	p := s.s.Proxy
	for i := 0; i < len(p); i++ {
		if p[i] == '@' {
			return p
		}
	}
	return "root@" + p
}

// homePath quotes a local path but keeps a leading ~/ outside the quotes so
// the local shell still expands it, as it does for Kamal's unquoted keys.
func homePath(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return "~/" + q(rest)
	}
	return q(p)
}
