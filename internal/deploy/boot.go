package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/dockerapi"
	"github.com/kamalgo/kamal/internal/progress"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// BootError is a failed boot of a role on a host (Kamal's BootError).
type BootError struct{ Msg string }

func (e *BootError) Error() string { return e.Msg }

// Kind names the error in kamal's `ERROR (<Kind>)` line.
func (e *BootError) Kind() string { return "Kamal::Cli::BootError" }

// HealthcheckError is a container that did not become ready in time.
type HealthcheckError struct{ Msg string }

func (e *HealthcheckError) Error() string { return e.Msg }

// Kind names the error in kamal's `ERROR (<Kind>)` line.
func (e *HealthcheckError) Kind() string { return "Kamal::Cli::Healthcheck::Error" }

// Booter boots the app: `kamal app boot` and the boot step of deploy,
// redeploy and rollback. Boot prepares every host (error pages, assets,
// certificates), then boots each group of hosts (boot.limit) with a
// roleBoot per host and role: rename a clashing container, run the new
// one, wait until kamal-proxy (or Docker) reports it healthy, stop the old.
type Booter struct {
	*Session
	lock  *Lock
	proxy *Proxy
}

// shortContainerID returns the 12-character id from `docker run
// --detach` output (the full id), or "" when out is not an id.
func shortContainerID(out string) string {
	id := strings.TrimSpace(out)
	if i := strings.LastIndexByte(id, '\n'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(id); err != nil {
		return ""
	}
	return id[:12]
}

// envFile renders the secrets env file of app (role on host), resolving
// and redacting the secrets it names.
func (k *Booter) envFile(app *commands.App) ([]byte, error) {
	values := map[string]string{}
	for _, ref := range app.Env().Secrets {
		v, err := k.Secret(ref.SecretKey())
		if err != nil {
			return nil, err
		}
		values[ref.SecretKey()] = v
	}
	s, err := app.EnvFile(values)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// randomHex returns n random bytes as 2n hex characters.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// AppBootOptions tune AppBoot.
type AppBootOptions struct {
	// Latest is `app boot` without --version: announce that the newest
	// image is used (the caller has set the version to "latest").
	Latest bool
	// NoRollback (--no-rollback) leaves a failed boot as it is, as Kamal
	// does, instead of rolling every host back (revert.go).
	NoRollback bool
}

// Boot boots the run's version of every targeted role on every
// targeted host, under the deploy lock (Kamal's `app boot`).
func (k *Booter) Boot(ctx context.Context, o AppBootOptions) error {
	return k.reportRollback(k.lock.With(ctx, func(ctx context.Context) error { return k.boot(ctx, o) }))
}

// boot boots every role on every host and, unless o.NoRollback, rolls
// back what it started when it fails.
func (k *Booter) boot(ctx context.Context, o AppBootOptions) error {
	if o.Latest {
		k.Say("Get most recent version available as an image...")
	}
	version, err := k.Version()
	if err != nil {
		return err
	}
	var l *bootLedger
	if !o.NoRollback {
		l = newBootLedger(version)
	}
	err = k.bootAll(ctx, version, l)
	if err == nil || l == nil {
		return err
	}
	return k.revert(ctx, l, err)
}

// bootAll is the boot itself; l (nil without rollback) records what it
// does.
func (k *Booter) bootAll(ctx context.Context, version string, l *bootLedger) error {
	cfg := k.Config
	k.Say("Start container with version %s using a %ds readiness delay (or reset with %ds timeout)", version, cfg.ReadinessDelay, cfg.DeployTimeout)

	hosts := k.AppHosts()
	// Error pages, assets and certificates are on every host before any boots.
	pages, err := k.errorPages()
	if err != nil {
		return err
	}
	err = k.On(ctx, hosts, func(ctx context.Context, h string) error {
		if err := k.uploadErrorPages(ctx, h, version, pages); err != nil {
			return err
		}
		for _, role := range k.rolesOn(h) {
			app := commands.NewApp(cfg, role, h, version)
			if err := k.prepareAssets(ctx, h, app); err != nil {
				return err
			}
			if err := k.uploadCertificates(ctx, h, app); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	var barrier *Barrier
	if len(k.roles) > 1 {
		barrier = NewBarrier()
	}
	groups := cfg.BootGroups(hosts)
	for i, group := range groups {
		list := strings.Join(group, ",")
		if err := k.runHook(ctx, "pre-app-boot", commands.Tag{Key: "hosts", Value: list}); err != nil {
			return err
		}
		err := k.onRoles(ctx, group, func(ctx context.Context, h string, role *config.Role) error {
			b := &roleBoot{k: k, host: h, role: role, version: version, barrier: barrier,
				app: commands.NewApp(cfg, role, h, version)}
			if l != nil {
				b.ledger, b.rec = l, l.record(h, role)
			}
			return b.run(ctx)
		})
		if err != nil {
			return err
		}
		if err := k.runHook(ctx, "post-app-boot", commands.Tag{Key: "hosts", Value: list}); err != nil {
			return err
		}
		// Like Kamal, with a boot limit the wait follows every group, the
		// last one too, so the last hosts settle before latest is tagged
		// and the post-deploy steps run.
		if cfg.Boot.Wait > 0 && cfg.Boot.Limit != "" {
			k.Out.Infof("Waiting %ds after booting group %d of %d...", cfg.Boot.Wait, i+1, len(groups))
			if err := k.opts.Sleep(ctx, time.Duration(cfg.Boot.Wait)*time.Second); err != nil {
				return err
			}
		}
	}

	// Tag the latest image once every host runs the new version.
	image := cfg.Repository() + ":" + version
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		roles := k.rolesOn(h)
		if len(roles) == 0 {
			return nil
		}
		app := commands.NewApp(cfg, roles[0], h, version)
		if l != nil {
			l.tagging(h)
		}
		record := k.auditor().Record("Tagging " + image + " as the latest image")
		if _, ok, err := k.viaAPI(ctx, h, app.TagLatestImage(), remote.Info, func(api *dockerapi.Client) (string, error) {
			return "", api.Tag(ctx, image, cfg.LatestImage())
		}); ok {
			if err != nil {
				return err
			}
			return k.deferOn(ctx, h, record, remote.Info)
		}
		return k.Execute(ctx, h, commands.Combine(record, app.TagLatestImage()), remote.Info)
	})
}

// onRoles runs fn for each targeted role on each host: hosts in parallel
// with a host's roles one after another, or (boot.parallel_roles) every
// role in parallel.
func (k *Booter) onRoles(ctx context.Context, hosts []string, fn func(ctx context.Context, host string, role *config.Role) error) error {
	if !k.Config.Boot.ParallelRoles {
		return k.On(ctx, hosts, func(ctx context.Context, h string) error {
			for _, role := range k.rolesOn(h) {
				if err := fn(ctx, h, role); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(k.roles))
	for i, role := range k.roles {
		var rh []string
		for _, h := range hosts {
			if slices.Contains(role.Hosts, h) {
				rh = append(rh, h)
			}
		}
		if len(rh) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = k.On(ctx, rh, func(ctx context.Context, h string) error { return fn(ctx, h, role) })
		}()
	}
	wg.Wait()
	var failed []error
	for _, e := range errs {
		if e != nil {
			failed = append(failed, e)
		}
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return failed[0]
	}
	msgs := []string{fmt.Sprintf("Exceptions on %d roles:", len(failed))}
	for _, e := range failed {
		msgs = append(msgs, e.Error())
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// roleBoot boots one role on one host.
type roleBoot struct {
	k       *Booter
	host    string
	role    *config.Role
	version string
	app     *commands.App
	barrier *Barrier
	created string // id of the container prepared while waiting at the barrier
	// ledger and rec record the boot for the rollback (nil without).
	ledger *bootLedger
	rec    *bootRecord
}

// note updates the boot's record, if it is kept.
func (b *roleBoot) note(fn func(r *bootRecord)) {
	if b.rec != nil {
		b.ledger.update(func() { fn(b.rec) })
	}
}

func (b *roleBoot) primaryRoleName() string {
	if roles := b.k.roles; len(roles) > 0 {
		return roles[0].Name
	}
	return b.k.Config.PrimaryRoleName
}

func (b *roleBoot) gatekeeper() bool {
	return b.barrier != nil && b.role.Name == b.primaryRoleName()
}

func (b *roleBoot) run(ctx context.Context) (err error) {
	k := b.k
	defer func() {
		if err != nil {
			b.note(func(r *bootRecord) { r.err = err })
		}
	}()
	if b.gatekeeper() {
		// Whatever fails before the new container is healthy must not
		// leave the other roles waiting.
		defer func() {
			if err != nil {
				b.barrier.Close()
			}
		}()
	}
	start := time.Now()
	old, err := b.renameClashAndCurrent(ctx)
	if err != nil {
		return err
	}
	// Where this host and role ended up, for the run's result.
	defer func() {
		now := b.version
		if err != nil {
			now = old
		}
		k.recordResult(progress.HostResult{Host: b.host, Role: b.role.Name, VersionBefore: old, Version: now,
			OK: err == nil, DurationMS: time.Since(start).Milliseconds()})
	}()
	b.note(func(r *bootRecord) { r.before = old })
	if b.barrier != nil && !b.gatekeeper() {
		if err := b.prepare(ctx); err != nil {
			return err
		}
		primary := b.primaryRoleName()
		k.Out.Infof("Waiting for the first healthy %s container before booting %s on %s...", primary, b.role.Name, b.host)
		if err := b.barrier.Wait(ctx); err != nil {
			k.Out.Infof("First %s container is unhealthy, not booting %s on %s", primary, b.role.Name, b.host)
			b.unprepare(ctx)
			return err
		}
		k.Out.Infof("First %s container is healthy on %s, booting %s on %s...", primary, b.host, b.role.Name, b.host)
	}

	b.note(func(r *bootRecord) { r.started = true })
	if err := b.start(ctx); err != nil {
		if b.gatekeeper() && b.barrier.Close() {
			k.Out.Infof("First %s container is unhealthy on %s, not booting any other roles", b.primaryRoleName(), b.host)
		}
		b.showFailure(ctx)
		if b.rec != nil {
			// The rollback stops the new container once kamal-proxy
			// serves the old one again.
			return err
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		_, _ = k.Exec(sctx, b.host, b.app.Stop(b.version), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
		return err
	}
	if b.gatekeeper() {
		b.barrier.Open()
	}
	if old != "" && old != b.version {
		return k.step(b.host, b.role.Name, "stop old", func() error { return b.stopOld(ctx, old) })
	}
	return nil
}

// renameClashAndCurrent renames an existing container of the version being
// booted and returns the version currently running. Both lookups go in one
// command.
func (b *roleBoot) renameClashAndCurrent(ctx context.Context) (string, error) {
	k := b.k
	idOut, current, err := b.clashAndCurrent(ctx)
	if err != nil {
		return "", err
	}
	if id := strings.TrimSpace(idOut); id != "" {
		renamed := commands.ReplacedVersion(b.version, randomHex(8))
		msg := fmt.Sprintf("Renaming container %s to %s", b.version, renamed)
		// Kamal's log line names the host; its audit line does not.
		k.Out.Infof("%s as already deployed on %s", msg, b.host)
		if err := k.Execute(ctx, b.host, commands.Combine(
			k.auditor().Record(msg, roleTag(b.role)),
			b.app.RenameContainer(b.version, renamed)), remote.Info); err != nil {
			return "", err
		}
		if strings.TrimSpace(current) == b.version {
			// The running container was the one renamed.
			return renamed, nil
		}
	}
	return strings.TrimSpace(current), nil
}

// clashAndCurrent looks up the id of a container of the version being
// booted and the version currently running.
func (b *roleBoot) clashAndCurrent(ctx context.Context) (id, current string, err error) {
	k := b.k
	if id, ok, err := k.viaAPI(ctx, b.host, b.app.ContainerID(), remote.Info, func(api *dockerapi.Client) (string, error) {
		return containerIDOf(ctx, api, b.app, b.version)
	}); ok {
		if err = unreachable(err); err != nil {
			return "", "", err
		}
		current, err := k.currentVersion(ctx, b.host, b.role)
		return id, current, err
	}
	// One command for both.
	res, err := k.Exec(ctx, b.host, commands.Chain(b.app.ContainerID(), commands.New("echo", staleSeparator), b.app.CurrentRunningVersion()),
		remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
	if err != nil {
		return "", "", err
	}
	id, current, found := strings.Cut(res.Stdout, staleSeparator+"\n")
	if !found {
		return "", "", fmt.Errorf("looking up the containers of %s on %s failed: %s", b.role.Name, b.host, strings.TrimSpace(res.Stdout+res.Stderr))
	}
	return id, current, nil
}

func roleTag(r *config.Role) commands.Tag { return commands.Tag{Key: "role", Value: r.Name} }

// prepare creates the new container while the role waits for the primary
// role (where the host's Docker API can start it then): the env file and
// `docker create` in one session, so that only the start is left once the
// barrier opens. Without the API nothing is prepared.
func (b *roleBoot) prepare(ctx context.Context) error {
	k := b.k
	if k.docker(ctx, b.host) == nil {
		return nil
	}
	data, err := k.envFile(b.app)
	if err != nil {
		return err
	}
	results, err := k.batch(ctx, b.host,
		remote.Step{Command: shell.Command(b.app.EnsureEnvDirectory()...), Severity: remote.Info},
		remote.UploadStep(b.app.EnvFilePath(), data, 0o600),
		remote.Step{Command: shell.Command(b.app.Create(commands.Hostname(b.host, randomHex(6)))...), Severity: remote.Info})
	if err != nil {
		return err
	}
	b.created = strings.TrimSpace(results[len(results)-1].Stdout)
	return nil
}

// unprepare removes the prepared container when the role does not boot:
// the host keeps what it had.
func (b *roleBoot) unprepare(ctx context.Context) {
	if b.created == "" {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_, _, _ = b.k.viaAPI(sctx, b.host, commands.New("docker", "rm").Quoted(b.app.ContainerName()), remote.Info, func(api *dockerapi.Client) (string, error) {
		return "", api.Remove(sctx, b.created, true)
	})
}

// startPrepared starts the container prepare created.
func (b *roleBoot) startPrepared(ctx context.Context) error {
	k := b.k
	if err := k.deferOn(ctx, b.host, k.auditor().Record("Booted app version "+b.version, roleTag(b.role)), remote.Info); err != nil {
		return err
	}
	if err := k.step(b.host, b.role.Name, "boot", func() error {
		_, _, err := k.viaAPI(ctx, b.host, b.app.Start(), remote.Info, func(api *dockerapi.Client) (string, error) {
			return "", api.Start(ctx, b.created)
		})
		return err
	}); err != nil {
		return err
	}
	return k.step(b.host, b.role.Name, "health check", func() error {
		if b.role.RunsProxy() {
			return k.proxy.deployID(ctx, b.host, b.app, shortID(b.created))
		}
		return k.waitForReady(ctx, b.host, b.app)
	})
}

func (b *roleBoot) start(ctx context.Context) error {
	k := b.k
	err := func() error {
		if b.created != "" {
			return b.startPrepared(ctx)
		}
		data, err := k.envFile(b.app)
		if err != nil {
			return err
		}
		// The audit line, the env file and the container: one session.
		hostname := commands.Hostname(b.host, randomHex(6))
		var res remote.Result
		err = k.step(b.host, b.role.Name, "boot", func() error {
			results, err := k.batch(ctx, b.host,
				remote.Step{Command: shell.Command(commands.Combine(
					k.auditor().Record("Booted app version "+b.version, roleTag(b.role)),
					b.app.EnsureEnvDirectory())...), Severity: remote.Info},
				remote.UploadStep(b.app.EnvFilePath(), data, 0o600),
				remote.Step{Command: shell.Command(b.app.Run(hostname)...), Severity: remote.Info})
			if err == nil {
				res = results[len(results)-1]
			}
			return err
		})
		if err != nil {
			return err
		}
		return k.step(b.host, b.role.Name, "health check", func() error {
			if b.role.RunsProxy() {
				// docker run prints the new container's id, which saves
				// the lookup Kamal does.
				if id := shortContainerID(res.Stdout); id != "" {
					return k.proxy.deployID(ctx, b.host, b.app, id)
				}
				return k.proxy.Deploy(ctx, b.host, b.app)
			}
			return k.waitForReady(ctx, b.host, b.app)
		})
	}()
	if err != nil {
		k.Out.Errorf("Failed to boot %s on %s", b.role.Name, b.host)
	}
	return err
}

// showFailure prints the new container's logs and health log.
func (b *roleBoot) showFailure(ctx context.Context) {
	k := b.k
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	id, err := k.capture(sctx, b.host, b.app.ContainerID(), remote.Debug)
	if err != nil || id == "" {
		return
	}
	res, err := k.Exec(sctx, b.host, b.app.Logs(commands.AppLogOptions{ContainerID: id, Lines: 100}),
		remote.ExecOptions{Severity: remote.Debug, AllowFailure: true})
	if err == nil && strings.TrimSpace(res.Stdout) != "" {
		k.Out.Errorf("%s", strings.TrimSpace(res.Stdout))
	}
	res, err = k.Exec(sctx, b.host, b.app.HealthLog(b.version), remote.ExecOptions{Severity: remote.Debug, AllowFailure: true})
	if err == nil && strings.TrimSpace(res.Stdout) != "" && strings.TrimSpace(res.Stdout) != "null" {
		k.Out.Errorf("%s", strings.TrimSpace(res.Stdout))
	}
}

// stopOld stops the previous version and cleans up its assets and error
// pages, in one command.
func (b *roleBoot) stopOld(ctx context.Context, old string) error {
	k := b.k
	if b.role.AssetPath == "" && k.Config.ErrorPagesPath == "" {
		if _, ok, err := k.viaAPI(ctx, b.host, b.app.Stop(old), remote.Info, func(api *dockerapi.Client) (string, error) {
			return "", stopVersion(ctx, api, b.app, old)
		}); ok {
			return unreachable(err)
		}
	}
	cmds := []commands.Cmd{b.app.Stop(old)}
	if b.role.Assets() {
		cmds = append(cmds, b.app.CleanUpAssets())
	}
	if k.Config.ErrorPagesPath != "" {
		cmds = append(cmds, commands.CleanUpErrorPages(k.Config, b.version))
	}
	_, err := k.Exec(ctx, b.host, commands.Chain(cmds...), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
	return err
}

// waitForReady polls a non-proxy container until Docker reports it
// healthy, or running for readiness_delay, within deploy_timeout. It backs
// off 1, 2, 3... seconds between polls.
func (k *Booter) waitForReady(ctx context.Context, host string, app *commands.App) error {
	cfg := k.Config
	deadline := k.opts.Now().Add(time.Duration(cfg.DeployTimeout) * time.Second)
	status := app.Status(app.Version())
	capture := func() (string, error) {
		if s, ok, err := k.viaAPI(ctx, host, status, remote.Info, func(api *dockerapi.Client) (string, error) {
			return healthStatus(ctx, api, app)
		}); ok {
			return s, err
		}
		return k.capture(ctx, host, status, remote.Info)
	}
	for attempt := 1; ; attempt++ {
		s, err := capture()
		if err != nil {
			return err
		}
		switch s {
		case "healthy":
			return nil
		case "running":
			// No health check: it must still run after the readiness delay
			// (with no delay, as in Kamal, running is ready).
			if cfg.ReadinessDelay <= 0 {
				return nil
			}
			if err := k.opts.Sleep(ctx, time.Duration(cfg.ReadinessDelay)*time.Second); err != nil {
				return err
			}
			s, err = capture()
			if err != nil {
				return err
			}
			if s == "running" || s == "healthy" {
				return nil
			}
		}
		if !k.opts.Now().Before(deadline) {
			return &HealthcheckError{fmt.Sprintf("container not ready after %d seconds (%s)", cfg.DeployTimeout, s)}
		}
		wait := max(min(time.Duration(attempt)*time.Second, deadline.Sub(k.opts.Now())), time.Millisecond)
		k.Out.Infof("container not ready (%s), retrying in %s (attempt %d)...", s, wait.Round(time.Second), attempt)
		if err := k.opts.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Barrier holds back the boots of other roles until the first container of
// the primary role is healthy, and stops them if it fails.
type Barrier struct {
	once sync.Once
	done chan struct{}
	ok   bool
}

// NewBarrier returns a barrier that is neither open nor closed.
func NewBarrier() *Barrier { return &Barrier{done: make(chan struct{})} }

// Open lets the waiting boots go ahead; it reports whether it decided.
func (b *Barrier) Open() bool { return b.resolve(true) }

// Close stops the waiting boots; it reports whether it decided.
func (b *Barrier) Close() bool { return b.resolve(false) }

func (b *Barrier) resolve(ok bool) bool {
	decided := false
	b.once.Do(func() {
		b.ok, decided = ok, true
		close(b.done)
	})
	return decided
}

// Wait blocks until the barrier opens (nil) or closes (an error).
func (b *Barrier) Wait(ctx context.Context) error {
	select {
	case <-b.done:
		if b.ok {
			return nil
		}
		return &HealthcheckError{"Halted at barrier"}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errorPages reads the local error pages ({4??,5??}.html of
// error_pages_path); nil when none are configured.
func (k *Booter) errorPages() (map[string][]byte, error) {
	dir := k.Config.ErrorPagesPath
	if dir == "" {
		return nil, nil
	}
	pages := map[string][]byte{}
	for _, pattern := range []string{"4??.html", "5??.html"} {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				return nil, fmt.Errorf("reading error page: %w", err)
			}
			pages[filepath.Base(m)] = data
		}
	}
	return pages, nil
}

func (k *Booter) uploadErrorPages(ctx context.Context, host, version string, pages map[string][]byte) error {
	if k.Config.ErrorPagesPath == "" {
		return nil
	}
	dir := path.Join(commands.ErrorPagesDirectory(k.Config), version)
	if err := k.Execute(ctx, host, commands.New("mkdir", "-p").Quoted(dir), remote.Info); err != nil {
		return err
	}
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := k.Upload(ctx, host, path.Join(dir, n), pages[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// prepareAssets extracts the role's assets from the new image and shares
// them with the running version's volume.
func (k *Booter) prepareAssets(ctx context.Context, host string, app *commands.App) error {
	if !app.Role().Assets() { // only roles behind the proxy, as in Kamal
		return nil
	}
	if err := k.Execute(ctx, host, app.ExtractAssets(), remote.Info); err != nil {
		return err
	}
	old, err := k.currentVersion(ctx, host, app.Role())
	if err != nil {
		return err
	}
	return k.Execute(ctx, host, app.SyncAssetVolumes(old), remote.Info)
}

// uploadCertificates uploads a role's custom TLS certificate and key.
func (k *Booter) uploadCertificates(ctx context.Context, host string, app *commands.App) error {
	role := app.Role()
	if !role.RunsProxy() || !role.Proxy.CustomSSL() {
		return nil
	}
	cert, err := k.Secret(role.Proxy.SSLCertificate)
	if err != nil {
		return err
	}
	key, err := k.Secret(role.Proxy.SSLPrivateKey)
	if err != nil {
		return err
	}
	if err := k.Execute(ctx, host, app.CreateTLSDirectory(), remote.Info); err != nil {
		return err
	}
	if err := k.Upload(ctx, host, app.CertificatePath(), []byte(cert), 0o644); err != nil {
		return err
	}
	return k.Upload(ctx, host, app.PrivateKeyPath(), []byte(key), 0o644)
}
