package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"

	"github.com/kamalgo/kamal/internal/shell"
)

// sshConfig is a list of parsed ssh_config files; as with OpenSSH, the
// first file (and first matching block) that sets a key wins.
type sshConfig struct {
	files []*ssh_config.Config
}

func loadSSHConfig(paths []string) (*sshConfig, error) {
	c := &sshConfig{}
	for _, p := range paths {
		p = expandHome(p)
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ssh config %s: %w", p, err)
		}
		cfg, err := ssh_config.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("ssh config %s: %w", p, err)
		}
		c.files = append(c.files, cfg)
	}
	return c, nil
}

func (c *sshConfig) get(alias, key string) string {
	if c == nil {
		return ""
	}
	for _, f := range c.files {
		if v, err := f.Get(alias, key); err == nil && v != "" {
			return v
		}
	}
	return ""
}

func (c *sshConfig) getAll(alias, key string) []string {
	if c == nil {
		return nil
	}
	var all []string
	for _, f := range c.files {
		v, _ := f.GetAll(alias, key)
		all = append(all, v...)
	}
	return all
}

// target is everything needed to reach one host.
type target struct {
	Alias        string // the name as given to the pool (used for logs and ssh_config matching)
	Host         string // HostName to connect to
	Port         int
	User         string
	Identity     []string // ssh_config IdentityFile entries (used when no explicit keys)
	ProxyJump    string   // "[user@]host[:port]"[,...]
	ProxyCommand string
	HostKeys     hostKeyPolicy
}

// resolve combines the host string, the options and ssh_config. Explicit
// values (in the host string, then in SSHOptions) beat ssh_config, which
// beats the defaults.
func resolve(host string, o SSHOptions, cfg *sshConfig, jumpHop bool) (target, error) {
	ep, err := parseEndpoint(host)
	if err != nil {
		return target{}, err
	}
	t := target{Alias: ep.Host, Host: ep.Host, Port: ep.Port, User: ep.User}
	if hn := cfg.get(ep.Host, "HostName"); hn != "" {
		t.Host = strings.ReplaceAll(hn, "%h", ep.Host)
	}
	if t.User == "" && !jumpHop {
		t.User = o.User
	}
	if t.User == "" {
		t.User = cfg.get(ep.Host, "User")
	}
	if t.User == "" {
		t.User = defaultUser
	}
	if t.Port == 0 && !jumpHop {
		t.Port = o.Port
	}
	if t.Port == 0 {
		if p := cfg.get(ep.Host, "Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				return t, fmt.Errorf("ssh config: invalid Port %q for %s", p, ep.Host)
			}
			t.Port = n
		}
	}
	if t.Port == 0 {
		t.Port = defaultPort
	}
	t.Identity = cfg.getAll(ep.Host, "IdentityFile")
	if t.HostKeys, err = hostKeyPolicyFor(o, cfg, ep.Host); err != nil {
		return t, err
	}
	if !jumpHop {
		t.ProxyJump, t.ProxyCommand = o.Proxy, o.ProxyCommand
		if t.ProxyJump != "" && !strings.Contains(t.ProxyJump, "@") {
			t.ProxyJump = defaultUser + "@" + t.ProxyJump // Kamal's default for `proxy`
		}
	}
	if t.ProxyJump == "" && t.ProxyCommand == "" {
		if pj := cfg.get(ep.Host, "ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
			t.ProxyJump = pj
		} else if pc := cfg.get(ep.Host, "ProxyCommand"); pc != "" && !strings.EqualFold(pc, "none") {
			t.ProxyCommand = pc
		}
	}
	return t, nil
}

// expandProxyCommand substitutes %h, %p, %r and %%. The command runs
// through sh, so host and user are quoted (plain names stay as they are).
func expandProxyCommand(cmd string, t target) string {
	var b strings.Builder
	for i := 0; i < len(cmd); i++ {
		if cmd[i] != '%' || i+1 >= len(cmd) {
			b.WriteByte(cmd[i])
			continue
		}
		i++
		switch cmd[i] {
		case 'h':
			b.WriteString(shell.Quote(t.Host))
		case 'p':
			b.WriteString(strconv.Itoa(t.Port))
		case 'r':
			b.WriteString(shell.Quote(t.User))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(cmd[i])
		}
	}
	return b.String()
}
