// Package remote runs commands on servers: an SSH connection pool (one
// connection per host, sessions multiplexed), uploads over the same
// connection, a parallel host runner that reports every host's failure, a
// local executor with the same interface, Kamal-style output and redaction.
//
// Typical use:
//
//	red := remote.NewRedactor(secrets...)
//	out := remote.NewOutput(os.Stderr, remote.LevelDefault, red)
//	pool, err := remote.NewPool(remote.SSHOptions{User: "root", UseConfig: true}, out)
//	defer pool.Close()
//	err = (&remote.Runner{Redactor: red}).On(ctx, hosts, func(ctx context.Context, host string) error {
//		if err := pool.Upload(ctx, host, ".kamal/apps/app/env/roles/web.env", envFile, 0o600); err != nil {
//			return err
//		}
//		res, err := pool.Exec(ctx, host, "docker ps", remote.ExecOptions{})
//		if err != nil {
//			return err
//		}
//		out.HostBlock("App", host, res.Stdout)
//		return nil
//	})
//
// Every error returned by this package has secrets replaced by [REDACTED].
// See docs/ssh.md for the host-key policy and the option semantics.
package remote
