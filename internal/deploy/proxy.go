package deploy

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/remote"
)

// Proxy is `kamal proxy`: kamal-proxy's container on each host (boot,
// reboot, start, stop, logs, removal, boot config) and pointing it at a
// new app container (Deploy).
type Proxy struct {
	*Session
	lock     *Lock
	registry *Registry
}

// Boot is `kamal proxy boot`: the kamal network on every host, then
// on proxy hosts a registry login, the version check and start-or-run.
func (k *Proxy) Boot(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		proxyHosts := k.ProxyHosts()
		return k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
			if !slices.Contains(proxyHosts, h) {
				return k.step(h, "", "network", func() error { return k.createNetwork(ctx, h) })
			}
			return k.step(h, "", "proxy", func() error { return k.bootOn(ctx, h) })
		})
	})
}

// bootOn boots kamal-proxy on h, unless the right version runs already.
func (k *Proxy) bootOn(ctx context.Context, h string) error {
	if err := k.registry.loginOn(ctx, h, k.Config.Registry); err != nil {
		return err
	}
	p := commands.NewProxy(k.Config, h)
	if api := k.docker(ctx, h); api != nil {
		return k.bootThroughAPI(ctx, h, p)
	}
	// One round trip for the network and the running proxy's tag:
	// if the network cannot be created, start_or_run fails on it.
	// A kamal-proxy that took the traffic over from another container
	// needs that one running to start.
	res, err := k.Exec(ctx, h, commands.Chain(commands.CreateNetwork(), commands.New("echo", staleSeparator), p.Version(), p.StartHolder()),
		remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
	if err != nil {
		return err
	}
	_, tag, _ := strings.Cut(res.Stdout, staleSeparator+"\n")
	if err := commands.CheckProxyVersion(tag); err != nil {
		return err
	}
	return k.Execute(ctx, h, commands.Combine(p.EnsureAppsDirectory(), p.StartOrRun()), remote.Info)
}

// bootThroughAPI is the proxy boot on a host whose Docker API is reachable:
// the network, the running proxy's version, and a start of the existing
// container through the API; only a proxy that has no container yet needs
// the docker CLI to run one.
func (k *Proxy) bootThroughAPI(ctx context.Context, h string, p *commands.Proxy) error {
	if err := k.createNetwork(ctx, h); err != nil {
		return err
	}
	var exists bool
	var holder string // the container whose network namespace kamal-proxy joined
	tag, _, err := k.viaAPI(ctx, h, p.Version(), remote.Info, func(api *dockerapi.Client) (string, error) {
		c, err := api.Inspect(ctx, commands.ProxyContainer)
		if dockerapi.IsNotFound(err) {
			return "", nil
		}
		if err != nil || c.Config == nil {
			return "", err
		}
		exists = true
		if c.HostConfig != nil {
			holder, _ = strings.CutPrefix(string(c.HostConfig.NetworkMode), "container:")
			if holder == string(c.HostConfig.NetworkMode) {
				holder = ""
			}
		}
		return c.Config.Image[strings.LastIndexByte(c.Config.Image, ':')+1:], nil
	})
	if err != nil {
		return err
	}
	if err := commands.CheckProxyVersion(tag); err != nil {
		return err
	}
	if exists {
		_, _, err := k.viaAPI(ctx, h, p.Start(), remote.Info, func(api *dockerapi.Client) (string, error) {
			// A kamal-proxy that took the traffic over from another
			// container needs that one running to start.
			if holder != "" {
				if err := api.Start(ctx, holder); err != nil {
					return "", err
				}
			}
			return "", api.Start(ctx, commands.ProxyContainer)
		})
		return err
	}
	return k.Execute(ctx, h, commands.Combine(p.EnsureAppsDirectory(), p.StartOrRun()), remote.Info)
}

// ProxyRebootOptions tune ProxyReboot.
type ProxyRebootOptions struct {
	Rolling bool // one host at a time
}

// Reboot is `kamal proxy reboot`: stop and remove kamal-proxy and run
// it again (all hosts at once, or one by one), between the
// pre/post-proxy-reboot hooks, then point it at each proxied role's
// current container again.
func (k *Proxy) Reboot(ctx context.Context, o ProxyRebootOptions) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		hosts := k.ProxyHosts()
		groups := rollingGroups(hosts, o.Rolling)
		for _, group := range groups {
			list := strings.Join(group, ",")
			if err := k.runHook(ctx, "pre-proxy-reboot", commands.Tag{Key: "hosts", Value: list}); err != nil {
				return err
			}
			k.Say("Rebooting kamal-proxy on %s...", list)
			if err := k.On(ctx, group, func(ctx context.Context, h string) error {
				return k.rebootProxyOn(ctx, h)
			}); err != nil {
				return err
			}
			if err := k.runHook(ctx, "post-proxy-reboot", commands.Tag{Key: "hosts", Value: list}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (k *Proxy) rebootProxyOn(ctx context.Context, h string) error {
	p := commands.NewProxy(k.Config, h)
	if err := k.recordOn(ctx, h, "Rebooted proxy"); err != nil {
		return err
	}
	if err := k.registry.loginOn(ctx, h, k.Config.Registry); err != nil {
		return err
	}
	if err := k.replaceProxyOn(ctx, h, p, commands.Combine(p.RemoveContainer(), p.EnsureAppsDirectory(), p.Run())); err != nil {
		return err
	}
	// The proxy keeps its routes in its volume; deploying the current
	// containers again makes sure every proxied role is served.
	for _, role := range k.rolesOn(h) {
		if !role.RunsProxy() {
			continue
		}
		version, err := k.currentVersion(ctx, h, role)
		if err != nil || version == "" {
			continue
		}
		app := commands.NewApp(k.Config, role, h, version)
		k.Out.Infof("Deploying %s for role `%s` on %s...", app.ContainerName(), role.Name, h)
		if err := k.Deploy(ctx, h, app); err != nil {
			return err
		}
	}
	return nil
}

// replaceProxyOn puts a new kamal-proxy container in place of the running
// one on h: by a hand-over when both images can (no request fails), else
// by stopping the old one and running then (after a stop, as Kamal does).
func (k *Proxy) replaceProxyOn(ctx context.Context, h string, p *commands.Proxy, then commands.Cmd) error {
	plan, err := k.planHandover(ctx, h, p)
	if err != nil {
		return err
	}
	if plan.current.Running && plan.cannot == "" {
		return k.handOver(ctx, h, p, plan)
	}
	if plan.current.Running {
		k.Say("kamal-proxy on %s cannot hand its traffic over (%s): stopping it and starting the new one, requests fail meanwhile", h, plan.cannot)
	}
	k.Out.Infof("Stopping and removing kamal-proxy on %s, if running...", h)
	if _, err := k.Test(ctx, h, p.Stop(), remote.Info); err != nil {
		return err
	}
	if plan.current.Holder != "" {
		// Its holder released the ports when it stopped, unless it had
		// stopped before; then the holder goes too.
		if _, err := k.Test(ctx, h, commands.StopContainer(plan.current.Holder), remote.Info); err != nil {
			return err
		}
	}
	return k.Execute(ctx, h, then, remote.Info)
}

// Start is `kamal proxy start`.
func (k *Proxy) Start(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.ProxyHosts(), func(ctx context.Context, h string) error {
			p := commands.NewProxy(k.Config, h)
			// A kamal-proxy that took the traffic over from another
			// container needs that one running to start.
			if _, err := k.Test(ctx, h, p.StartHolder(), remote.Info); err != nil {
				return err
			}
			return k.Execute(ctx, h, commands.Combine(k.auditor().Record("Started proxy"), p.Start()), remote.Info)
		})
	})
}

// Stop is `kamal proxy stop` (a proxy that is not running is fine).
func (k *Proxy) Stop(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.ProxyHosts(), func(ctx context.Context, h string) error {
			if err := k.recordOn(ctx, h, "Stopped proxy"); err != nil {
				return err
			}
			_, err := k.Test(ctx, h, commands.NewProxy(k.Config, h).Stop(), remote.Info)
			return err
		})
	})
}

// Restart is `kamal proxy restart`: stop, then start.
func (k *Proxy) Restart(ctx context.Context) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		if err := k.Stop(ctx); err != nil {
			return err
		}
		return k.Start(ctx)
	})
}

// Details is `kamal proxy details`: `docker ps` of kamal-proxy per host.
func (k *Proxy) Details(ctx context.Context) error {
	return k.On(ctx, k.ProxyHosts(), func(ctx context.Context, h string) error {
		out, err := k.psTable(ctx, h, commands.NewProxy(k.Config, h).Info(), dockerapi.ListOptions{Filters: []string{"name=^" + commands.ProxyContainer + "$"}})
		if err != nil {
			return err
		}
		k.putsByHost("Proxy", h, out)
		return nil
	})
}

// ProxyLogsOptions tune ProxyLogs.
type ProxyLogsOptions struct {
	commands.LogOptions
	Follow bool
}

// Logs is `kamal proxy logs`: the last lines of every proxy host, or
// (--follow) a live view of the primary proxy host.
func (k *Proxy) Logs(ctx context.Context, o ProxyLogsOptions) error {
	hosts := k.ProxyHosts()
	if o.Follow {
		if len(hosts) == 0 {
			return nil
		}
		h := hosts[0]
		if slices.Contains(hosts, k.primaryHost) {
			h = k.primaryHost
		}
		cmd := commands.NewProxy(k.Config, h).FollowLogs(o.LogOptions)
		k.Say("Following logs on %s...", h)
		res, err := k.Exec(ctx, h, cmd, remote.ExecOptions{Interactive: true, AllowFailure: true, Severity: remote.Debug})
		if err != nil {
			return err
		}
		if res.ExitStatus != 0 && ctx.Err() == nil {
			return &ExitStatusError{Status: res.ExitStatus}
		}
		return nil
	}
	if o.Lines == 0 && o.Since == "" && o.Grep == "" {
		o.Lines = 100
	}
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		out, err := k.capture(ctx, h, commands.NewProxy(k.Config, h).Logs(o.LogOptions), remote.Info)
		if err != nil {
			return err
		}
		k.Puts("Proxy Host: " + h)
		k.Puts(out + "\n")
		return nil
	})
}

// ProxyRemoveOptions tune ProxyRemove.
type ProxyRemoveOptions struct {
	Force bool // remove even when other apps use the proxy
}

// Remove is `kamal proxy remove`: unless another app still has a
// directory in .kamal/apps on a proxy host (or Force), stop kamal-proxy,
// remove its containers, images and .kamal/proxy.
func (k *Proxy) Remove(ctx context.Context, o ProxyRemoveOptions) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		hosts := k.ProxyHosts()
		if !o.Force {
			err := k.On(ctx, hosts, func(ctx context.Context, h string) error {
				out, err := k.capture(ctx, h, commands.CountApps(), remote.Info)
				if err != nil {
					return err
				}
				if n, _ := strconv.Atoi(strings.TrimSpace(out)); n > 0 {
					return fmt.Errorf("other apps are installed on %s", h)
				}
				return nil
			})
			if err != nil {
				k.Say("Not removing the proxy, as other apps are installed, ignore this check with kamal proxy remove --force")
				return nil
			}
		}
		return k.On(ctx, hosts, func(ctx context.Context, h string) error {
			p := commands.NewProxy(k.Config, h)
			if err := k.recordOn(ctx, h, "Stopped proxy"); err != nil {
				return err
			}
			if _, err := k.Test(ctx, h, p.Stop(), remote.Info); err != nil {
				return err
			}
			if err := k.Execute(ctx, h, commands.Combine(
				k.auditor().Record("Removed proxy container"), p.RemoveContainer(),
				k.auditor().Record("Removed proxy image"), p.RemoveImage()), remote.Info); err != nil {
				return err
			}
			_, err := k.Test(ctx, h, p.RemoveProxyDirectory(), remote.Info)
			return err
		})
	})
}

// rollingGroups is hosts as one group, or with rolling one group per host
// (`--rolling` reboots and upgrades).
func rollingGroups(hosts []string, rolling bool) [][]string {
	if !rolling {
		return [][]string{hosts}
	}
	groups := make([][]string, len(hosts))
	for i, h := range hosts {
		groups[i] = []string{h}
	}
	return groups
}

// RemoveContainer, ProxyRemoveImage and ProxyRemoveDirectory are the
// hidden single steps of `kamal proxy remove`, each under the lock on the
// proxy hosts.
func (k *Proxy) RemoveContainer(ctx context.Context) error {
	return k.proxyStep(ctx, "Removed proxy container", func(p *commands.Proxy) commands.Cmd { return p.RemoveContainer() })
}

func (k *Proxy) RemoveImage(ctx context.Context) error {
	return k.proxyStep(ctx, "Removed proxy image", func(p *commands.Proxy) commands.Cmd { return p.RemoveImage() })
}

func (k *Proxy) RemoveDirectory(ctx context.Context) error {
	return k.proxyStep(ctx, "", func(p *commands.Proxy) commands.Cmd { return p.RemoveProxyDirectory() })
}

// proxyStep runs one proxy command on every proxy host under the lock,
// after an audit line when message is set.
func (k *Proxy) proxyStep(ctx context.Context, message string, step func(*commands.Proxy) commands.Cmd) error {
	return k.lock.With(ctx, func(ctx context.Context) error {
		return k.On(ctx, k.ProxyHosts(), func(ctx context.Context, h string) error {
			cmd := step(commands.NewProxy(k.Config, h))
			if message != "" {
				cmd = commands.Combine(k.auditor().Record(message), cmd)
			}
			return k.Execute(ctx, h, cmd, remote.Info)
		})
	})
}

// BootConfigSet is `kamal proxy boot_config set`: it writes (or, for
// default values, deletes) the legacy boot_config files on proxy hosts.
func (k *Proxy) BootConfigSet(ctx context.Context, b commands.BootConfig) error {
	for _, ip := range b.BindIPs {
		if net.ParseIP(strings.Trim(ip, "[]")) == nil {
			return &ArgumentError{fmt.Sprintf("Invalid publish IP address: %s", ip)}
		}
	}
	for _, o := range b.DockerOptions {
		if strings.TrimSpace(o) == "" {
			return &ArgumentError{"Invalid docker option: it is empty"}
		}
	}
	files := b.Files()
	return k.On(ctx, k.ProxyHosts(), func(ctx context.Context, h string) error {
		p := commands.NewProxy(k.Config, h)
		if err := k.Execute(ctx, h, p.EnsureProxyDirectory(), remote.Info); err != nil {
			return err
		}
		for _, f := range files {
			if f.Remove {
				if _, err := k.Test(ctx, h, commands.RemoveFile(f.Path), remote.Info); err != nil {
					return err
				}
				continue
			}
			if err := k.Upload(ctx, h, f.Path, []byte(f.Content), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// BootConfigGet is `kamal proxy boot_config get`: the options, image
// and command kamal-proxy boots with on each host.
func (k *Proxy) BootConfigGet(ctx context.Context) error {
	return k.On(ctx, k.ProxyHosts(), func(ctx context.Context, h string) error {
		out, err := k.capture(ctx, h, commands.NewProxy(k.Config, h).BootConfigEcho(), remote.Info)
		if err != nil {
			return err
		}
		k.Puts("Host " + h + ": " + out)
		return nil
	})
}

// BootConfigReset is `kamal proxy boot_config reset`: it deletes the
// boot_config files.
func (k *Proxy) BootConfigReset(ctx context.Context) error {
	var files []string
	for _, f := range (commands.BootConfig{}).Files() {
		files = append(files, f.Path)
	}
	return k.On(ctx, k.ProxyHosts(), func(ctx context.Context, h string) error {
		for _, f := range files {
			if _, err := k.Test(ctx, h, commands.RemoveFile(f), remote.Info); err != nil {
				return err
			}
		}
		return nil
	})
}

// Deploy points kamal-proxy on host at app's container (its version):
// it looks the container id up and runs `kamal-proxy deploy`, which
// returns once the new target is healthy and the old one drained.
func (k *Proxy) Deploy(ctx context.Context, host string, app *commands.App) error {
	id, err := k.capture(ctx, host, app.ContainerID(), remote.Info)
	if err != nil {
		return err
	}
	return k.deployID(ctx, host, app, id)
}

func (k *Proxy) deployID(ctx context.Context, host string, app *commands.App, id string) error {
	if id == "" {
		return &BootError{fmt.Sprintf("Failed to get endpoint for %s on %s, did the container boot?", app.Role().Name, host)}
	}
	cmd := app.ProxyDeploy(id)
	if done, err := k.execInContainer(ctx, host, cmd, remote.Info); done {
		return err
	}
	return k.Execute(ctx, host, cmd, remote.Info)
}
