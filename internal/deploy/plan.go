package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/registryapi"
	"github.com/kamalgo/kamal/internal/remote"
)

// --plan: what deploy, redeploy, rollback or setup would do, from the
// servers' state read with one read-only command per host. Nothing runs
// that changes anything: no lock, no hook, no registry login, no pull, no
// audit line, no file.

// PlanOptions say which command a plan describes.
type PlanOptions struct {
	Command  string // deploy, redeploy, rollback or setup
	SkipPush bool   // -P: the image must already be in the registry
	Version  string // rollback's VERSION ("" the one before the current)
}

// hostState is what a plan reads on one host.
type hostState struct {
	roles       []roleVersions
	running     [][]string // per role, the versions of running containers
	proxy       string     // "<state> <image>" of kamal-proxy, "" none
	image       bool       // the version's image is on the host
	accessories []string   // accessories that have a container here
	lock        string     // the lock's details (primary host), "" none
}

// Plan prints what o.Command would do on every targeted host and role.
func (k *Kamal) Plan(ctx context.Context, o PlanOptions) error {
	hooks := k.planHooks(o)
	// The plan runs no hook, pre-connect included.
	k.opts.SkipHooks = true

	version := o.Version
	if o.Command != "rollback" {
		v, err := k.Version()
		if err != nil {
			return err
		}
		version = v
	}
	var registryErr error
	var wg sync.WaitGroup
	if o.Command != "rollback" && o.SkipPush {
		wg.Add(1)
		go func() {
			defer wg.Done()
			registryErr = k.imageInRegistry(ctx, version)
		}()
	}
	states, err := k.readStates(ctx, o, version)
	wg.Wait()
	if err != nil {
		return err
	}

	var versionErr error
	if o.Command == "rollback" && version == "" {
		var all []roleVersions
		for _, h := range k.AppHosts() {
			all = append(all, states[h].roles...)
		}
		version, _, versionErr = previousVersion(all)
	}

	name := version
	if name == "" {
		name = "(none)"
	}
	k.Say("Plan of `kamal %s` with version %s (read only: nothing was changed on any server)", o.Command, name)
	if versionErr != nil {
		k.Say("  Version: %s", versionErr)
	}
	image := k.Config.Repository() + ":" + version
	switch {
	case o.Command == "rollback":
	case !o.SkipPush:
		k.Say("  Image:   %s would be built and pushed, then pulled on every host", image)
	case registryErr == nil:
		k.Say("  Image:   %s is in the registry", image)
	case errors.Is(registryErr, registryapi.ErrNotFound):
		k.Say("  Image:   %s is NOT in the registry: the deploy would fail at the pull", image)
	default:
		k.Say("  Image:   %s (the registry could not be asked: %s)", image, registryErr)
	}
	if lock := states[k.primaryHost].lock; lock != "" {
		k.Say("  Lock:    held on %s, the %s would wait or fail:", k.primaryHost, o.Command)
		k.Puts(indent(lock, "           "))
	} else {
		k.Say("  Lock:    free")
	}
	if len(hooks) == 0 {
		hooks = []string{"none"}
	}
	k.Say("  Hooks:   %s", strings.Join(hooks, ", "))
	for _, h := range k.hosts {
		k.Puts(k.planHost(o, h, version, states[h], registryErr))
	}
	return nil
}

// planHooks are the hooks o.Command would run, of those that exist.
func (k *Kamal) planHooks(o PlanOptions) []string {
	if k.opts.SkipHooks {
		return nil
	}
	names := []string{"pre-connect"}
	if o.Command == "setup" {
		names = append(names, "docker-setup")
	}
	if o.Command != "rollback" && !o.SkipPush {
		names = append(names, "pre-build")
	}
	names = append(names, "pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy")
	var out []string
	for _, n := range names {
		if k.hookExists(n) {
			out = append(out, n)
		}
	}
	return out
}

// imageInRegistry asks the registry for the version's image, with the
// configured credentials sent with the request only.
func (k *Kamal) imageInRegistry(ctx context.Context, version string) error {
	ref, err := registryapi.ParseRef(k.Config.Repository() + ":" + version)
	if err != nil {
		return err
	}
	reg := k.Config.Registry
	if ref.Username, err = k.Resolve(reg.Username); err != nil {
		return err
	}
	if ref.Password, err = k.Resolve(reg.Password); err != nil {
		return err
	}
	return (&registryapi.Client{}).Exists(ctx, ref)
}

// readStates reads every targeted host's state in one command each.
func (k *Kamal) readStates(ctx context.Context, o PlanOptions, version string) (map[string]*hostState, error) {
	states := map[string]*hostState{}
	var mu sync.Mutex
	proxyHosts := k.ProxyHosts()
	err := k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
		roles := k.rolesOn(h)
		var sections []commands.Cmd
		for _, role := range roles {
			app := commands.NewApp(k.Config, role, h, version)
			sections = append(sections, app.ListVersions("--all"), app.CurrentRunningVersion(), app.ListVersions())
		}
		proxied := slices.Contains(proxyHosts, h)
		if proxied {
			sections = append(sections, commands.NewProxy(k.Config, h).State())
		}
		deploying := o.Command != "rollback" && len(roles) > 0
		if deploying {
			sections = append(sections, commands.NewApp(k.Config, roles[0], h, version).ImageID())
		}
		var accessories []*config.Accessory
		if o.Command == "setup" {
			for _, a := range k.Config.Accessories {
				if slices.Contains(k.accessoryHosts(a, nil), h) {
					accessories = append(accessories, a)
					sections = append(sections, commands.NewAccessory(k.Config, a).Exists())
				}
			}
		}
		if h == k.primaryHost {
			sections = append(sections, commands.NewLock(k.Config).Status())
		}
		if len(sections) == 0 {
			mu.Lock()
			states[h] = &hostState{}
			mu.Unlock()
			return nil
		}
		var chained []commands.Cmd
		for i, c := range sections {
			if i > 0 {
				chained = append(chained, commands.New("echo", staleSeparator))
			}
			chained = append(chained, c)
		}
		// A missing lock fails its check: the read still succeeded.
		chained = append(chained, commands.New("true"))
		res, err := k.Exec(ctx, h, commands.Chain(chained...), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
		if err != nil {
			return err
		}
		parts := strings.Split(res.Stdout, staleSeparator+"\n")
		if len(parts) != len(sections) {
			return fmt.Errorf("reading the state of %s: unexpected output %q", h, res.Stdout)
		}
		next := func() string {
			p := strings.TrimSpace(parts[0])
			parts = parts[1:]
			return p
		}
		st := &hostState{}
		for _, role := range roles {
			rv := roleVersions{host: h, role: role, all: uniqueFields(next()), current: next()}
			st.roles = append(st.roles, rv)
			st.running = append(st.running, uniqueFields(next()))
		}
		if proxied {
			st.proxy = next()
		}
		if deploying {
			st.image = next() != ""
		}
		for _, a := range accessories {
			if next() != "" {
				st.accessories = append(st.accessories, a.Name)
			}
		}
		if h == k.primaryHost {
			st.lock = next()
		}
		mu.Lock()
		states[h] = st
		mu.Unlock()
		return nil
	})
	return states, err
}

// uniqueFields are the words of s, each once, in order.
func uniqueFields(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// planHost describes what o.Command would do on host h.
func (k *Kamal) planHost(o PlanOptions, h, version string, st *hostState, registryErr error) string {
	lines := []string{h}
	add := func(what, format string, args ...any) {
		lines = append(lines, fmt.Sprintf("  %-9s %s", what, fmt.Sprintf(format, args...)))
	}
	if st == nil {
		st = &hostState{}
	}
	if slices.Contains(k.ProxyHosts(), h) {
		state, image, _ := strings.Cut(st.proxy, " ")
		tag := image[strings.LastIndexByte(image, ':')+1:]
		booting := o.Command == "deploy" || o.Command == "setup"
		switch {
		case st.proxy == "" && booting:
			add("proxy", "not running: would be booted")
		case st.proxy == "":
			add("proxy", "not running: the %s would fail (run kamal proxy boot)", o.Command)
		case commands.CheckProxyVersion(tag) != nil:
			add("proxy", "%s %s is too old: it must be rebooted first (kamal proxy reboot)", state, image)
		case state != "running" && booting:
			add("proxy", "%s: would be started", state)
		default:
			add("proxy", "%s (%s)", state, image)
		}
	}
	roles := k.rolesOn(h)
	if o.Command != "rollback" && len(roles) > 0 {
		switch {
		case st.image:
			add("image", "on the host")
		case !o.SkipPush:
			add("image", "would be pulled after the build")
		case errors.Is(registryErr, registryapi.ErrNotFound):
			add("image", "not on the host and not in the registry: the %s would fail here", o.Command)
		default:
			add("image", "would be pulled")
		}
	}
	for i, role := range roles {
		rv, running := st.roles[i], st.running[i]
		app := commands.NewApp(k.Config, role, h, version)
		now := orNone(rv.current)
		if version == "" {
			add(role.Name, "running %s: no version to roll back to", now)
			continue
		}
		exists := slices.Contains(rv.all, version)
		if o.Command == "rollback" && !exists {
			add(role.Name, "running %s: NO container of %s here: the rollback would fail", now, version)
			continue
		}
		var acts []string
		if exists {
			acts = append(acts, "rename the existing "+app.ContainerName()+" aside")
		}
		acts = append(acts, "start "+app.ContainerName())
		var stop []string
		if rv.current != "" && rv.current != version {
			stop = append(stop, app.ContainerNameFor(rv.current))
		}
		if o.Command != "rollback" {
			// Stale containers: running ones of other versions.
			for _, v := range running {
				if v != rv.current && v != version {
					stop = append(stop, app.ContainerNameFor(v)+" (stale)")
				}
			}
		}
		if len(stop) > 0 {
			acts = append(acts, "stop "+strings.Join(stop, ", "))
		}
		add(role.Name, "running %s, would boot %s: %s", now, version, strings.Join(acts, "; "))
	}
	if o.Command == "setup" {
		for _, a := range k.Config.Accessories {
			if !slices.Contains(k.accessoryHosts(a, nil), h) {
				continue
			}
			if slices.Contains(st.accessories, a.Name) {
				add("accessory", "%s exists: left as it is", a.Name)
			} else {
				add("accessory", "%s would be booted", a.Name)
			}
		}
	}
	if len(lines) == 1 {
		lines = append(lines, "  nothing to do")
	}
	return strings.Join(lines, "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}
