package deploy

import (
	"context"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// auditor is the audit log builder of this run.
func (k *Session) auditor() commands.Auditor {
	return commands.NewAuditor(k.Config, k.performer(), k.opts.Now())
}

// Record appends message (with details such as the role) to the audit log
// of each host, as a debug-level command like Kamal.
func (k *Session) Record(ctx context.Context, hosts []string, message string, details ...commands.Tag) error {
	cmd := k.auditor().Record(message, details...)
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		k.Out.Audit(h, message)
		return k.deferOn(ctx, h, cmd, remote.Debug)
	})
}

// recordOn appends message to the audit log of one host (inside an On).
// The line may wait for the host's next session (see deferOn).
func (k *Session) recordOn(ctx context.Context, host, message string, details ...commands.Tag) error {
	k.Out.Audit(host, message)
	return k.deferOn(ctx, host, k.auditor().Record(message, details...), remote.Debug)
}

// Audit prints the last 50 lines of the audit log of every targeted host.
func (k *Session) Audit(ctx context.Context) error {
	cmd := k.auditor().Reveal()
	return k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
		out, err := k.capture(ctx, h, cmd, remote.Info)
		if err != nil {
			return err
		}
		k.putsByHost("App", h, out)
		return nil
	})
}
