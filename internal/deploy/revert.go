package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/progress"
	"github.com/kamalgo/kamal/internal/remote"
)

// The automatic rollback: when a boot fails after it has begun (a health
// check, docker run, the barrier, an SSH error, a hook, Ctrl-C), every
// host and role that started the new version goes back to the version that
// ran there before, so the fleet is never left half-switched. What it
// leaves on the servers is what a successful deploy of the old version
// would leave: the old container running and behind kamal-proxy, the new
// one stopped, the latest tag on the old image, only the old version's
// assets and error pages, and an audit line.

// bootRecord is what the boot of one role on one host did.
type bootRecord struct {
	host    string
	role    *config.Role
	before  string // the version that ran before ("" none)
	started bool   // docker run was attempted: a new container may exist
	err     error  // why this boot failed

	// Filled in by the rollback.
	reverted bool   // the old version is back (or, without one, the new stopped)
	outcome  string // what the rollback did or why it could not
}

// bootLedger records a boot as it goes, for the rollback.
type bootLedger struct {
	version string
	why     string // the boot's failure in a few words, once it failed

	mu      sync.Mutex
	records []*bootRecord
	tagged  map[string]bool // hosts whose latest tag may have moved
}

func newBootLedger(version string) *bootLedger {
	return &bootLedger{version: version, tagged: map[string]bool{}}
}

// record opens the record of role on host.
func (l *bootLedger) record(host string, role *config.Role) *bootRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := &bootRecord{host: host, role: role}
	l.records = append(l.records, r)
	return r
}

func (l *bootLedger) update(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn()
}

// tagging notes that the latest tag is about to move on host.
func (l *bootLedger) tagging(host string) { l.update(func() { l.tagged[host] = true }) }

// find returns the record of role on host (nil when its boot never began).
func (l *bootLedger) find(host string, role *config.Role) *bootRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.host == host && r.role == role {
			return r
		}
	}
	return nil
}

// started are the records whose new container may exist, by host.
func (l *bootLedger) started() map[string][]*bootRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]*bootRecord{}
	for _, r := range l.records {
		if r.started {
			out[r.host] = append(out[r.host], r)
		}
	}
	return out
}

// RolledBackError is a boot that failed and was rolled back (entirely, or
// as far as the hosts could be reached). It unwraps to the failure.
type RolledBackError struct {
	Cause error
	// Incomplete names the hosts and roles that could not be rolled back.
	Incomplete []string

	rows    []rollbackRow
	printed bool
}

// reportRollback prints the table of a rollback in err, once: the
// commands call it last, so that their output ends with it.
func (k *Session) reportRollback(err error) error {
	var rb *RolledBackError
	if errors.As(err, &rb) && !rb.printed {
		rb.printed = true
		k.printRollbackTable(rb.rows)
	}
	return err
}

func (e *RolledBackError) Error() string {
	if len(e.Incomplete) > 0 {
		return fmt.Sprintf("%s\nThe rollback did not complete on %s: see the table above", e.Cause, strings.Join(e.Incomplete, ", "))
	}
	return e.Cause.Error()
}

func (e *RolledBackError) Unwrap() error { return e.Cause }

// rollbackTimeout bounds the whole rollback; it does not stop at Ctrl-C.
const rollbackTimeout = 10 * time.Minute

// revert rolls back what the boot in l started, after it failed with
// cause, and prints the table of every targeted host and role.
func (k *Booter) revert(ctx context.Context, l *bootLedger, cause error) error {
	k.setRollingBack(true)
	defer k.setRollingBack(false)
	// Ctrl-C (or the failure) may have cancelled ctx: the rollback must
	// run to the end all the same.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if errors.Is(cause, context.Canceled) {
		k.Say("Interrupted: rolling back to the versions that ran before (this finishes even if you press Ctrl-C again)...")
	} else {
		k.Say("Boot of version %s failed: rolling back to the versions that ran before...", l.version)
	}

	l.why = k.describeFailure(l, cause)
	byHost := l.started()
	hosts := make([]string, 0, len(byHost))
	for _, h := range k.AppHosts() {
		if len(byHost[h]) > 0 || l.tagged[h] {
			hosts = append(hosts, h)
		}
	}
	pages, perr := k.errorPages()
	_ = k.On(ctx, hosts, func(ctx context.Context, h string) error {
		// A host's roles go back in the reverse order of their boot.
		recs := byHost[h]
		for i := len(recs) - 1; i >= 0; i-- {
			r := recs[i]
			_ = k.step(h, r.role.Name, "rollback", func() error { return k.revertRecord(ctx, l, r, pages, perr) })
		}
		if l.tagged[h] {
			_ = k.step(h, "", "restore latest", func() error { return k.restoreLatest(ctx, l, h) })
		}
		return nil
	})

	rows := k.rollbackRows(ctx, l)
	for _, r := range rows {
		k.recordResult(progress.HostResult{Host: r.host, Role: r.role, VersionBefore: noneAsEmpty(r.before), Version: noneAsEmpty(r.now)})
	}
	k.Say("Rollback done: the table of every host and role follows at the end")
	var incomplete []string
	for _, r := range rows {
		if !r.ok {
			incomplete = append(incomplete, r.role+" on "+r.host)
		}
	}
	return &RolledBackError{Cause: cause, Incomplete: incomplete, rows: rows}
}

// revertRecord takes one role on one host back to its old version.
func (k *Booter) revertRecord(ctx context.Context, l *bootLedger, r *bootRecord, pages map[string][]byte, pagesErr error) error {
	cfg := k.Config
	newApp := commands.NewApp(cfg, r.role, r.host, l.version)
	stopNew := newApp.Stop(l.version)
	fail := func(err error) error {
		r.outcome = "rollback failed: " + shortReason(err)
		k.Out.Errorf("Rolling back %s on %s failed: %s", r.role.Name, r.host, err)
		return err
	}
	if r.before == "" {
		k.Out.Infof("No version of %s ran on %s before %s: stopping the new container", r.role.Name, r.host, l.version)
		_, err := k.Exec(ctx, r.host, commands.Combine(
			k.auditor().Record(fmt.Sprintf("Rolled back app version %s: no previous version, container stopped (%s)", l.version, r.reason(l)), roleTag(r.role)),
			stopNew), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
		if err != nil {
			return fail(err)
		}
		r.reverted, r.outcome = true, "no previous version: new container stopped"
		return nil
	}

	oldApp := commands.NewApp(cfg, r.role, r.host, r.before)
	k.Out.Infof("Rolling back %s on %s from %s to %s...", r.role.Name, r.host, l.version, r.before)
	// The old version's assets were removed when the new one took over:
	// extract them again and share them with the new version, as a boot
	// of the old version does.
	assets := commands.NewApp(cfg, r.role, r.host, imageVersion(r.before))
	err := func() error {
		if r.role.AssetPath != "" {
			if err := k.Execute(ctx, r.host, assets.ExtractAssets(), remote.Info); err != nil {
				return err
			}
			if err := k.Execute(ctx, r.host, assets.SyncAssetVolumes(l.version), remote.Info); err != nil {
				return err
			}
		}
		if err := k.Execute(ctx, r.host, oldApp.Start(), remote.Info); err != nil {
			return err
		}
		if !r.role.RunsProxy() {
			return k.waitForReady(ctx, r.host, oldApp)
		}
		// The proxy serves the old container again before the new one
		// stops: no request fails. Its error pages were cleaned up when
		// the new version took over, so they go up again first.
		if cfg.ErrorPagesPath != "" {
			if pagesErr != nil {
				return pagesErr
			}
			if err := k.uploadErrorPages(ctx, r.host, r.before, pages); err != nil {
				return err
			}
		}
		return k.proxy.Deploy(ctx, r.host, oldApp)
	}()
	if err != nil {
		return fail(err)
	}
	cmds := []commands.Cmd{
		k.auditor().Record(fmt.Sprintf("Rolled back app version %s to %s (%s)", l.version, r.before, r.reason(l)), roleTag(r.role)),
		stopNew,
	}
	if r.role.AssetPath != "" {
		cmds = append(cmds, assets.CleanUpAssets())
	}
	if cfg.ErrorPagesPath != "" {
		cmds = append(cmds, commands.CleanUpErrorPages(cfg, r.before))
	}
	if _, err := k.Exec(ctx, r.host, commands.Chain(cmds...), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
		return fail(err)
	}
	r.reverted, r.outcome = true, "rolled back"
	return nil
}

// reason is why this record was rolled back, in a few words: its own
// failure, or the boot's.
func (r *bootRecord) reason(l *bootLedger) string {
	if r.err != nil {
		return shortReason(r.err)
	}
	return l.why
}

// restoreLatest points the latest tag on host back at the image of the
// version that ran before (as a deploy of that version leaves it), or
// removes it when nothing ran before.
func (k *Booter) restoreLatest(ctx context.Context, l *bootLedger, h string) error {
	roles := k.rolesOn(h)
	if len(roles) == 0 {
		return nil
	}
	before := ""
	if r := l.find(h, roles[0]); r != nil {
		before = r.before
	} else if v, err := k.currentVersion(ctx, h, roles[0]); err == nil {
		before = v
	}
	var cmd commands.Cmd
	if before == "" {
		cmd = commands.NewApp(k.Config, roles[0], h, l.version).UntagLatestImage()
	} else {
		cmd = commands.NewApp(k.Config, roles[0], h, imageVersion(before)).TagLatestImage()
	}
	if _, err := k.Exec(ctx, h, cmd, remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
		k.Out.Errorf("Restoring the latest tag on %s failed: %s", h, err)
		return err
	}
	return nil
}

// imageVersion is the image tag of a container version: a container
// renamed aside by a redeploy of its version (<version>_replaced_<hex>)
// still runs <version>'s image.
func imageVersion(v string) string {
	if i := strings.Index(v, "_replaced_"); i > 0 {
		return v[:i]
	}
	return v
}

// rollbackRow is one line of the rollback table.
type rollbackRow struct {
	host, role             string
	before, attempted, now string
	reason                 string
	ok                     bool
}

// rollbackRows describes every targeted host and role after the rollback,
// with the version running now read from the host (one round trip each).
func (k *Booter) rollbackRows(ctx context.Context, l *bootLedger) []rollbackRow {
	hosts := k.AppHosts()
	now := map[string][]string{}
	var mu sync.Mutex
	_ = k.On(ctx, hosts, func(ctx context.Context, h string) error {
		versions, err := k.runningVersions(ctx, h, k.rolesOn(h))
		if err != nil {
			return err
		}
		mu.Lock()
		now[h] = versions
		mu.Unlock()
		return nil
	})
	var rows []rollbackRow
	for _, h := range hosts {
		for i, role := range k.rolesOn(h) {
			row := rollbackRow{host: h, role: role.Name, attempted: l.version, now: "unknown", ok: true}
			if v := now[h]; v != nil {
				row.now = orNone(v[i])
			}
			r := l.find(h, role)
			switch {
			case r == nil:
				row.before, row.reason = row.now, "not booted"
			case r.started && r.err != nil:
				row.before, row.ok = orNone(r.before), r.reverted
				row.reason = shortReason(r.err) + "; " + r.outcome
			case r.started:
				row.before, row.ok = orNone(r.before), r.reverted
				row.reason = r.outcome + " (" + l.why + ")"
			default:
				row.before, row.reason = orNone(r.before), "not booted"
				if r.err != nil {
					row.reason += " (" + shortReason(r.err) + ")"
				}
			}
			if row.now != row.before && !(row.before == "none" && row.now == "none") {
				row.ok = false
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// describeFailure says in a few words why the boot failed: which hosts
// and roles failed, or the cause when none did (a hook, Ctrl-C).
func (k *Booter) describeFailure(l *bootLedger, cause error) string {
	if errors.Is(cause, context.Canceled) {
		return "interrupted"
	}
	var failed []string
	for _, r := range l.records {
		if r.err != nil && !isHaltedAtBarrier(r.err) && !errors.Is(r.err, context.Canceled) {
			failed = append(failed, r.role.Name+" on "+r.host+" failed")
		}
	}
	if len(failed) == 0 {
		return shortReason(cause)
	}
	return strings.Join(failed, ", ")
}

func noneAsEmpty(v string) string {
	if v == "none" || v == "unknown" {
		return ""
	}
	return v
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

func isHaltedAtBarrier(err error) bool {
	var he *HealthcheckError
	return errors.As(err, &he) && he.Msg == "Halted at barrier"
}

// printRollbackTable prints the rows, aligned, after a heading.
func (k *Session) printRollbackTable(rows []rollbackRow) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  HOST\tROLE\tBEFORE\tATTEMPTED\tNOW\tREASON")
	for _, r := range rows {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.host, r.role, r.before, r.attempted, r.now, r.reason)
	}
	_ = w.Flush()
	k.Say("Rollback:")
	k.Puts(strings.TrimRight(b.String(), "\n"))
}

// shortReason is err in one line for the table and the audit log.
func shortReason(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	var hook *HookError
	if errors.As(err, &hook) {
		return "hook " + hook.Hook + " failed"
	}
	var ce *remote.CommandError
	if errors.As(err, &ce) {
		msg := fmt.Sprintf("`%s` exited with %d", commandName(ce.Command), ce.ExitStatus)
		if line := oneLine(ce.Stderr); line != "" {
			msg += ": " + line
		} else if line := oneLine(ce.Stdout); line != "" {
			msg += ": " + line
		}
		return truncate(msg, 120)
	}
	var he *remote.HostError
	if errors.As(err, &he) {
		return shortReason(he.Err)
	}
	return truncate(oneLine(err.Error()), 120)
}

// oneLine is the first non-blank line of s, trimmed.
func oneLine(s string) string { return strings.TrimSpace(firstLine(strings.TrimSpace(s))) }

// commandName is the program and subcommand of a command line, seen
// through `docker exec kamal-proxy` ("kamal-proxy deploy", "docker run").
func commandName(cmd string) string {
	words := strings.Fields(cmd)
	if len(words) > 4 && words[0] == "docker" && words[1] == "exec" && words[2] == commands.ProxyContainer {
		words = words[3:]
	}
	if len(words) > 2 {
		words = words[:2]
	}
	return strings.Join(words, " ")
}
