package deploy

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/kamalgo/kamal/internal/remote"
)

// fakeHosts is an Executor that simulates the lock directory and records
// every command, so lock logic can be tested without SSH.
type fakeHosts struct {
	mu         sync.Mutex
	locked     bool
	details    string // decoded
	rawDetails string // when set, returned undecodable
	commands   []string
	// onStatus runs (with mu held) before each status command.
	onStatus func(f *fakeHosts)
	// fail makes commands containing the key fail with the value as stderr.
	fail map[string]string
}

func (f *fakeHosts) Exec(ctx context.Context, host, cmd string, o remote.ExecOptions) (remote.Result, error) {
	if err := ctx.Err(); err != nil {
		return remote.Result{}, err
	}
	f.mu.Lock()
	f.commands = append(f.commands, host+": "+cmd)
	res := remote.Result{Host: host, Command: cmd}
	fail := func(stderr string) (remote.Result, error) {
		res.ExitStatus, res.Stderr = 1, stderr
		if o.AllowFailure {
			return res, nil
		}
		return res, &remote.CommandError{Host: host, Command: cmd, ExitStatus: 1, Stderr: stderr}
	}
	for k, v := range f.fail {
		if strings.Contains(cmd, k) {
			f.mu.Unlock()
			return fail(v)
		}
	}
	switch {
	case strings.HasPrefix(cmd, "/usr/bin/env mkdir .kamal/lock-"):
		defer f.mu.Unlock()
		if f.locked {
			return fail("mkdir: cannot create directory '.kamal/lock-app': File exists")
		}
		start := strings.Index(cmd, `echo "`) + len(`echo "`)
		end := strings.LastIndex(cmd, `"`)
		raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(cmd[start:end], "\n", ""))
		if err != nil {
			return fail("bad base64 in test: " + err.Error())
		}
		f.locked, f.details = true, string(raw)
	case strings.HasPrefix(cmd, "/usr/bin/env rm .kamal/lock-"):
		defer f.mu.Unlock()
		if !f.locked {
			return fail("rm: cannot remove '.kamal/lock-app/details': No such file or directory")
		}
		f.locked = false
	case strings.HasPrefix(cmd, "/usr/bin/env stat .kamal/lock-"):
		defer f.mu.Unlock()
		if f.onStatus != nil {
			f.onStatus(f)
		}
		if !f.locked {
			return fail("stat: cannot statx '.kamal/lock-app': No such file or directory")
		}
		if f.rawDetails != "" {
			return fail("base64: invalid input")
		}
		res.Stdout = f.details + "\n"
	case cmd == "false":
		f.mu.Unlock()
		return fail("")
	default:
		f.mu.Unlock()
	}
	return res, nil
}

func (f *fakeHosts) Upload(ctx context.Context, host, path string, data []byte, mode os.FileMode) error {
	return fmt.Errorf("not supported")
}

func (f *fakeHosts) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...)
}

func (f *fakeHosts) isLocked() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.locked
}

func (f *fakeHosts) lockWith(message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locked = true
	f.details = "Locked by: Someone at 2026-11-26T04:05:57Z\nVersion: 1\nMessage: " + message
}
