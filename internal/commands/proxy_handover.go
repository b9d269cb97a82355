package commands

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kamalgo/kamal/internal/config"
)

// A zero-downtime reboot runs the new kamal-proxy as ProxySuccessorContainer
// in the network namespace of the container that publishes the ports; the
// new process takes the traffic sockets over from the running one. Then the
// names move: the container that publishes the ports becomes
// ProxyHolderContainer (if it was kamal-proxy itself), the new one becomes
// kamal-proxy. See docs/proxy.md.
const (
	ProxySuccessorContainer = "kamal-proxy-next"
	ProxyHolderContainer    = "kamal-proxy-ports"
	// ProxyHandoverLabel is the image label of our kamal-proxy that names
	// the hand-over protocol it speaks (internal/kamalproxy/server).
	ProxyHandoverLabel    = "com.github.kamalgo.kamal-proxy.handover"
	ProxyHandoverProtocol = "1"
)

// ProxyState is what a reboot needs to know of the kamal-proxy container.
type ProxyState struct {
	Exists, Running bool
	ID              string
	// Holder is the id of the container whose network namespace (and
	// published ports) kamal-proxy joined; "" when it publishes them itself.
	Holder   string
	Handover string // the hand-over protocol of its image; "" none
}

// InspectProxy prints the state of a kamal-proxy container (kamal-proxy,
// kamal-proxy-next) for ParseProxyState; nothing without the container.
func InspectProxy(container string) Cmd {
	format := `{{.Id}} {{.State.Running}} {{.HostConfig.NetworkMode}} {{index .Config.Labels "` + ProxyHandoverLabel + `"}}`
	return append(New("docker", "container", "inspect", "--format", alwaysQuote(format)).Quoted(container), "2>", "/dev/null")
}

// ParseProxyState reads the output of InspectProxy.
func ParseProxyState(out string) ProxyState {
	f := strings.Fields(out)
	if len(f) < 3 {
		return ProxyState{}
	}
	s := ProxyState{Exists: true, ID: f[0], Running: f[1] == "true"}
	if holder, ok := strings.CutPrefix(f[2], "container:"); ok {
		s.Holder = holder
	}
	if label := strings.Join(f[3:], " "); label != "<no value>" {
		s.Handover = label
	}
	return s
}

// ImageHandover prints the hand-over protocol of image (a blank line when
// it has none), pulling the image first when it is not on the host.
func ImageHandover(image string) Cmd {
	inspect := New("docker", "image", "inspect", "--format", alwaysQuote(`{{index .Config.Labels "`+ProxyHandoverLabel+`"}}`)).Quoted(image)
	pull := append(New("docker", "pull", "--quiet").Quoted(image), ">", "/dev/null")
	c := append(append(Cmd{}, inspect...), "2>", "/dev/null", "||", "(")
	return append(append(c, Combine(pull, inspect)...), ")")
}

// BootConfigLines prints the legacy boot settings one per line: options,
// image, run command (the parts of BootConfigEcho).
func (p *Proxy) BootConfigLines() Cmd {
	read := func(file, def string) string {
		return "$(cat " + file + " 2> /dev/null || echo " + `"` + def + `"` + ")"
	}
	return Chain(
		New("echo", read(ProxyOptionsFile, ProxyDefaultOptions)),
		New("echo", read(ProxyImageFile, ProxyImageDefault)+":"+read(ProxyImageVersionFile, config.DefaultProxyVersion)),
		New("echo", read(ProxyRunCommandFile, "")),
	)
}

// ProxyLaunch is how a kamal-proxy container is run: docker options (shell
// words), image and command (shell words).
type ProxyLaunch struct {
	Options Cmd
	Image   string
	Command Cmd
}

// Launch is the launch of this host's proxy per its `run:` settings; nil
// for the legacy boot_config files (see LaunchFromBootConfig).
func (p *Proxy) Launch() *ProxyLaunch {
	r := p.run
	if r == nil {
		return nil
	}
	l := &ProxyLaunch{Image: ProxyImage(r), Command: New("kamal-proxy", "run")}
	l.Options = append(l.Options, ProxyPublishArgs(r)...)
	if r.LogMaxSize != "" {
		l.Options = append(l.Options, "--log-opt", q("max-size="+r.LogMaxSize))
	}
	l.Options = append(l.Options, optionArgs(r.Options, r.OptionsOrder)...)
	if r.Debug {
		l.Command = append(l.Command, "--debug")
	}
	if r.MetricsPort != nil {
		l.Command = append(l.Command, "--metrics-port", fmt.Sprintf(`"%d"`, *r.MetricsPort))
	}
	return l
}

// LaunchFromBootConfig is the launch of the legacy boot_config files, from
// the three lines BootConfigLines printed; xargs splits them into words the
// way it does for Run.
func LaunchFromBootConfig(out string) (*ProxyLaunch, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for len(lines) < 3 {
		lines = append(lines, "")
	}
	opts, err := splitXargs(lines[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ProxyOptionsFile, err)
	}
	image := strings.TrimSpace(lines[1])
	cmd, err := splitXargs(lines[2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ProxyRunCommandFile, err)
	}
	if image == "" || strings.ContainsAny(image, " \t") {
		return nil, fmt.Errorf("unexpected proxy image %q", image)
	}
	l := &ProxyLaunch{Image: image}
	for _, w := range opts {
		l.Options = l.Options.Quoted(w)
	}
	if len(cmd) == 0 {
		cmd = []string{"kamal-proxy", "run"}
	}
	for _, w := range cmd {
		l.Command = l.Command.Quoted(w)
	}
	return l, nil
}

// splitXargs splits a line into words as xargs does: blanks separate,
// single and double quotes group, a backslash escapes the next character.
func splitXargs(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			w.WriteRune(r)
			escaped = false
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unmatched %c quote", quote)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// Docker refuses these options for a container that joins another's
// network namespace; publishing and exposing stay with the holder.
var (
	sharedNetnsDropped = []string{"publish", "p", "expose"}
	sharedNetnsRefused = []string{"network", "net", "hostname", "h", "dns", "dns-search", "dns-option", "dns-opt",
		"add-host", "mac-address", "link", "ip", "ip6", "network-alias", "net-alias", "publish-all", "P"}
)

// successorOptions are l's options fit for a container that joins another
// one's network namespace: without ports; an error names an option that
// cannot go along.
func successorOptions(opts Cmd) (Cmd, error) {
	var out Cmd
	for i := 0; i < len(opts); i++ {
		w := opts[i]
		name, inline := optionName(w)
		if name == "" {
			out = append(out, w)
			continue
		}
		takesValue := !inline && i+1 < len(opts) && !strings.HasPrefix(unquote(opts[i+1]), "-")
		switch {
		case slices.Contains(sharedNetnsRefused, name):
			return nil, fmt.Errorf("its option --%s cannot be used in the network namespace of another container", name)
		case slices.Contains(sharedNetnsDropped, name):
			if takesValue {
				i++
			}
		default:
			out = append(out, w)
		}
	}
	return out, nil
}

// optionName is the name of a docker option word ("--publish=x" -> publish,
// inline true; "-p" -> p), "" for other words.
func optionName(w string) (name string, inline bool) {
	w = unquote(w)
	if !strings.HasPrefix(w, "-") || w == "-" || w == "--" {
		return "", false
	}
	name = strings.TrimLeft(w, "-")
	if n, _, ok := strings.Cut(name, "="); ok {
		return n, true
	}
	return name, false
}

// unquote strips the quotes a shell word of ours may carry.
func unquote(w string) string {
	if len(w) >= 2 && (w[0] == '\'' || w[0] == '"') && w[len(w)-1] == w[0] {
		return w[1 : len(w)-1]
	}
	return w
}

// RunSuccessor runs the new kamal-proxy beside the running one, in the
// network namespace of holder, with kamal-proxy's volumes and l's options
// (ports left to the holder). Its restart policy is `no` until it took
// over (PromoteSuccessor), so that a new proxy that cannot take over stops.
func RunSuccessor(holder string, l *ProxyLaunch) (Cmd, error) {
	opts, err := successorOptions(l.Options)
	if err != nil {
		return nil, err
	}
	c := New("docker", "run", "--name", ProxySuccessorContainer, "--network", q("container:"+holder),
		"--detach", "--restart", "no", "--volume", proxyConfigVolume,
		"--volume", "$PWD/"+ProxyAppsDirectory+":"+ProxyAppsContainerDir)
	c = append(c, opts...)
	c = c.Quoted(l.Image)
	return append(c, l.Command...), nil
}

// AwaitSuccessor returns once the new kamal-proxy serves (it opens its
// command socket after taking the traffic over), or fails after timeout.
func AwaitSuccessor(timeout string) Cmd {
	return New("docker", "exec", ProxySuccessorContainer, "kamal-proxy", "ready", "--timeout").Quoted(timeout)
}

// SuccessorLogs are the last lines of the new kamal-proxy's log, to tell
// why it did not take over.
func SuccessorLogs() Cmd {
	return New("docker", "logs", "--tail", "20", ProxySuccessorContainer, "2>&1")
}

// RemoveSuccessor removes the new kamal-proxy (a failed hand-over, or the
// leftover of an interrupted one).
func RemoveSuccessor() Cmd {
	return New("docker", "container", "rm", "--force", ProxySuccessorContainer)
}

// SetProxyRestart sets the restart policy of a proxy container.
func SetProxyRestart(container, policy string) Cmd {
	return append(New("docker", "update", "--restart").Quoted(policy).Quoted(container), ">", "/dev/null")
}

// PromoteSuccessor gives the new kamal-proxy its name once it took over.
// When the old one published the ports itself it stays as their holder,
// restarting only on failure: it exits 0 when the proxy it holds them for
// is stopped for good, so that the ports are free for a new container,
// and non-zero when Docker stops it at shutdown, so that it comes back at
// boot. Otherwise the old one (which holds nothing) stops once its
// requests are done, and goes.
func PromoteSuccessor(oldHolds bool) Cmd {
	var retire Cmd
	if oldHolds {
		retire = Chain(RemoveStaleHolder(), Combine(
			New("docker", "rename", ProxyContainer, ProxyHolderContainer),
			SetProxyRestart(ProxyHolderContainer, "on-failure"),
		))
	} else {
		retire = Combine(
			New("docker", "container", "stop", ProxyContainer),
			New("docker", "container", "rm", ProxyContainer),
		)
	}
	return Combine(retire,
		New("docker", "rename", ProxySuccessorContainer, ProxyContainer),
		SetProxyRestart(ProxyContainer, "unless-stopped"))
}

// RemoveStaleHolder removes a stopped holder container left from an
// earlier layout, so that the name is free (a running one stays).
func RemoveStaleHolder() Cmd {
	return append(New("docker", "container", "rm", ProxyHolderContainer), "2>", "/dev/null")
}

// StartHolder starts the container whose network namespace kamal-proxy
// joins, if it joins one: `docker start kamal-proxy` needs it running.
func (p *Proxy) StartHolder() Cmd {
	return Pipe(
		append(New("docker", "container", "inspect", "--format", alwaysQuote("{{.HostConfig.NetworkMode}}"), ProxyContainer), "2>", "/dev/null"),
		New("sed", "-n", alwaysQuote("s/^container://p")),
		append(New("xargs", "-r", "docker", "container", "start"), ">", "/dev/null"),
	)
}

// StopContainer stops a container by name or id.
func StopContainer(container string) Cmd {
	return New("docker", "container", "stop").Quoted(container)
}
