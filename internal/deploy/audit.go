package deploy

import (
	"context"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// Auditor is the audit log builder of this run.
func (k *Session) Auditor() commands.Auditor {
	return commands.NewAuditor(k.Config, k.Performer(), k.opts.Now())
}

// Record appends message (with details such as the role) to the audit log
// of each host, as a debug-level command like Kamal.
func (k *Session) Record(ctx context.Context, hosts []string, message string, details ...commands.Tag) error {
	cmd := k.Auditor().Record(message, details...)
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		return k.Execute(ctx, h, cmd, remote.Debug)
	})
}

// RecordOn appends message to the audit log of one host (inside an On).
func (k *Session) RecordOn(ctx context.Context, host, message string, details ...commands.Tag) error {
	return k.Execute(ctx, host, k.Auditor().Record(message, details...), remote.Debug)
}

// Audit prints the last 50 lines of the audit log of every targeted host.
func (k *Session) Audit(ctx context.Context) error {
	cmd := k.Auditor().Reveal()
	return k.On(ctx, k.hosts, func(ctx context.Context, h string) error {
		out, err := k.Capture(ctx, h, cmd, remote.Info)
		if err != nil {
			return err
		}
		k.PutsByHost("App", h, out)
		return nil
	})
}
