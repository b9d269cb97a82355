package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// HookError is a failing hook; it aborts the command.
type HookError struct {
	Hook string
	Err  error
}

func (e *HookError) Error() string { return fmt.Sprintf("Hook `%s` failed:\n%s", e.Hook, e.Err) }
func (e *HookError) Unwrap() error { return e.Err }

// Kind names the error in kamal's `ERROR (<Kind>)` line.
func (e *HookError) Kind() string { return "Kamal::Cli::HookError" }

// hookEnv returns the environment a hook gets besides the process's own:
// the KAMAL_* details (in Kamal's order) and extra tags such as
// KAMAL_RUNTIME or KAMAL_HOSTS (which replace the defaults).
func (k *Session) hookEnv(extra ...commands.Tag) ([]string, error) {
	version, err := k.Version()
	if err != nil {
		return nil, err
	}
	service := k.Config.Service
	tags := []commands.Tag{
		{Key: "recorded_at", Value: k.opts.Now().UTC().Format(time.RFC3339)},
		{Key: "performer", Value: k.performer()},
		{Key: "destination", Value: k.Config.Destination},
		{Key: "version", Value: version},
		{Key: "service_version", Value: service + "@" + shortVersion(version)},
		{Key: "service", Value: service},
		{Key: "hosts", Value: strings.Join(k.hosts, ",")},
	}
	if k.specificRoles != nil {
		names := make([]string, len(k.specificRoles))
		for i, r := range k.specificRoles {
			names[i] = r.Name
		}
		tags = append(tags, commands.Tag{Key: "roles", Value: strings.Join(names, ",")})
	}
	tags = append(tags,
		commands.Tag{Key: "lock", Value: strconv.FormatBool(k.holdsLock())},
		commands.Tag{Key: "command", Value: k.opts.Command},
		commands.Tag{Key: "subcommand", Value: k.opts.Subcommand},
	)
	for _, e := range extra {
		replaced := false
		for i := range tags {
			if tags[i].Key == e.Key {
				tags[i].Value, replaced = e.Value, true
			}
		}
		if !replaced {
			tags = append(tags, e)
		}
	}
	return commands.HookEnv(tags...), nil
}

// shortVersion is Kamal's abbreviated version: the first 7 characters,
// or the whole version when it has an "_" (uncommitted builds).
func shortVersion(v string) string {
	if strings.Contains(v, "_") || len(v) <= 7 {
		return v
	}
	return v[:7]
}

// hookExists reports whether hooks_path holds a hook called name.
func (k *Session) hookExists(name string) bool {
	_, err := os.Stat(commands.NewHooks(k.Config).File(name))
	return err == nil
}

// hookMu serialises hooks: they run locally, one at a time.
var hookMu sync.Mutex

// runHook runs the hook called name if it exists and hooks are not
// skipped. A non-zero exit becomes a HookError with the hook's output.
func (k *Session) runHook(ctx context.Context, name string, extra ...commands.Tag) error {
	if k.opts.SkipHooks {
		return nil
	}
	hooks := commands.NewHooks(k.Config)
	path := hooks.File(name)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &HookError{Hook: name, Err: err}
	}
	if st.IsDir() {
		return &HookError{Hook: name, Err: fmt.Errorf("%s is a directory, not an executable file", path)}
	}
	if st.Mode().Perm()&0o111 == 0 {
		return &HookError{Hook: name, Err: fmt.Errorf("%s is not executable (run `chmod +x %s`)", path, path)}
	}

	env, err := k.hookEnv(extra...)
	if err != nil {
		return err
	}
	if commands.SecretHooks[name] {
		vars, err := k.Config.Secrets.All()
		if err != nil {
			return fmt.Errorf("loading secrets for the %s hook: %w", name, err)
		}
		for _, v := range vars {
			k.Redact(v.Value)
			env = append(env, v.Key+"="+v.Value)
		}
	}

	hookMu.Lock()
	defer hookMu.Unlock()
	k.Say("Running the %s hook...", name)
	o := remote.ExecOptions{}
	switch k.Config.HookOutput(name) {
	case "quiet":
		o.Severity = remote.Debug
	case "verbose":
		if k.Out.Level() == remote.LevelDefault {
			// Default verbosity hides command output; show this hook's.
			w := remote.NewLineWriter(func(line string) { k.Out.Log(remote.Info, "", "\t"+line) })
			defer w.Flush()
			o.Stdout, o.Stderr = w, w
		}
	}
	// remote.Local gives the hook its own process group, so a cancelled
	// run (Ctrl-C) kills the hook and everything it started.
	local := &remote.Local{Out: k.Out, Env: env}
	done := k.Out.Hook(name)
	_, err = local.Exec(ctx, "localhost", hooks.Run(name).String(), o)
	done(err)
	if err != nil {
		return &HookError{Hook: name, Err: err}
	}
	return nil
}
