package config

import (
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The ssh section: how Kamal connects to the hosts.

// SSH defaults.
const (
	DefaultSSHUser     = "root"
	DefaultSSHPort     = 22
	DefaultSSHLogLevel = "fatal"
)

// SSH holds the ssh section.
type SSH struct {
	User         string // default root
	Port         int    // default 22
	Proxy        string // jump host, host or user@host
	ProxyCommand string
	LogLevel     string // default fatal
	KeysOnly     *bool
	Keys         []string
	KeyData      []string // names of secrets holding private keys
	// Config: nil means the default (load the standard OpenSSH files);
	// false disables them; a list names the files.
	LoadConfig   *bool
	ConfigFiles  []string
	ForwardAgent *bool
}

var sshSchema = []field{
	f("user", tString),
	f("port", tString),
	f("proxy", tString),
	f("proxy_command", tString),
	f("log_level", tString),
	f("keys_only", tBool),
	f("keys", tStringArray),
	f("key_data", tStringArray),
	f("config", tSSHConfig),
	f("forward_agent", tBool),
}

func (v *validator) validateSSH(n *rubyyaml.Node) {
	if n == nil {
		return
	}
	v.withContext("ssh", func() { v.validateAgainst(n, sshSchema, false) })
	if p := n.Get("port"); !p.IsNull() {
		if _, ok := sshPort(p); !ok {
			v.withContext("ssh/port", func() { v.fail(p, "should be a port number") })
		}
	}
}

// sshPort reads ssh.port, given as a number or a string; a whole float
// ("2222.0", which Kamal lets through) is that port.
func sshPort(p *rubyyaml.Node) (int, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(p.Text()), 64)
	port := int(f)
	return port, err == nil && float64(port) == f && port >= 1 && port <= 65535
}

func buildSSH(n *rubyyaml.Node) SSH {
	s := SSH{
		User:         strOr(n.Get("user"), DefaultSSHUser),
		Port:         DefaultSSHPort,
		Proxy:        n.Get("proxy").Text(),
		ProxyCommand: n.Get("proxy_command").Text(),
		LogLevel:     strOr(n.Get("log_level"), DefaultSSHLogLevel),
		KeysOnly:     boolPtr(n.Get("keys_only")),
		Keys:         stringList(n.Get("keys")),
		KeyData:      stringList(n.Get("key_data")),
		ForwardAgent: boolPtr(n.Get("forward_agent")),
	}
	if p := n.Get("port"); !p.IsNull() {
		s.Port, _ = sshPort(p)
	}
	if cfg := n.Get("config"); cfg != nil {
		switch cfg.Kind {
		case rubyyaml.Bool:
			b := cfg.Bool
			s.LoadConfig = &b
		case rubyyaml.String:
			t := true
			s.LoadConfig = &t
			s.ConfigFiles = []string{cfg.Str}
		case rubyyaml.Seq:
			t := true
			s.LoadConfig = &t
			s.ConfigFiles = stringList(cfg)
		}
	}
	return s
}

// sshOptions is the ssh_options entry of `kamal config`: the options Kamal
// hands to Net::SSH, with key data redacted.
func (c *Config) sshOptions() *rubyyaml.Node {
	s := c.SSH
	raw := c.root.Get("ssh")
	m := rubyyaml.NewMap()
	m.Add(rubyyaml.NewSymbol("user"), rubyyaml.NewString(s.User))
	if p := raw.Get("port"); !p.IsNull() {
		m.Add(rubyyaml.NewSymbol("port"), p)
	} else {
		m.Add(rubyyaml.NewSymbol("port"), rubyyaml.NewInt(int64(s.Port)))
	}
	switch {
	case s.Proxy != "":
		jump := s.Proxy
		if !strings.Contains(jump, "@") {
			jump = "root@" + jump
		}
		px := rubyyaml.NewMap()
		px.Tag = "!ruby/object:Net::SSH::Proxy::Jump"
		px.Add(rubyyaml.NewString("jump_proxies"), rubyyaml.NewString(jump))
		m.Add(rubyyaml.NewSymbol("proxy"), px)
	case s.ProxyCommand != "":
		px := rubyyaml.NewMap()
		px.Tag = "!ruby/object:Net::SSH::Proxy::Command"
		px.Add(rubyyaml.NewString("command_line_template"), rubyyaml.NewString(s.ProxyCommand))
		px.Add(rubyyaml.NewString("command_line"), rubyyaml.NewNull())
		px.Add(rubyyaml.NewString("timeout"), rubyyaml.NewInt(60)) // Net::SSH's default
		m.Add(rubyyaml.NewSymbol("proxy"), px)
	}
	m.Add(rubyyaml.NewSymbol("keepalive"), rubyyaml.NewBool(true))
	m.Add(rubyyaml.NewSymbol("keepalive_interval"), rubyyaml.NewInt(30))
	if s.KeysOnly != nil {
		m.Add(rubyyaml.NewSymbol("keys_only"), rubyyaml.NewBool(*s.KeysOnly))
	}
	if s.Keys != nil {
		m.Add(rubyyaml.NewSymbol("keys"), rubyyaml.NewStrings(s.Keys))
	}
	if s.KeyData != nil {
		kd := rubyyaml.NewSeq()
		for range s.KeyData {
			kd.Items = append(kd.Items, rubyyaml.NewString(Redacted))
		}
		m.Add(rubyyaml.NewSymbol("key_data"), kd)
	}
	if cfg := raw.Get("config"); !cfg.IsNull() {
		m.Add(rubyyaml.NewSymbol("config"), cfg)
	}
	if s.ForwardAgent != nil {
		m.Add(rubyyaml.NewSymbol("forward_agent"), rubyyaml.NewBool(*s.ForwardAgent))
	}
	if ll := raw.Get("log_level"); !ll.IsNull() {
		m.Add(rubyyaml.NewSymbol("log_level"), ll)
	} else {
		m.Add(rubyyaml.NewSymbol("log_level"), rubyyaml.NewSymbol(DefaultSSHLogLevel))
	}
	return m
}
