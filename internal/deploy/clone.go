package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/shell"
)

// gitOutput runs a local git command in the current directory and returns
// its trimmed output; ok is false when git fails (no repository).
func (k *Builder) gitOutput(ctx context.Context, args ...string) (string, bool, error) {
	cmd := append(commands.New("git"), quoteAll(args)...)
	res, err := k.local("", nil).Exec(ctx, "localhost", shell.Command(cmd...),
		remote.ExecOptions{Severity: remote.Debug, AllowFailure: true})
	if err != nil {
		return "", false, err
	}
	return strings.TrimRight(res.Stdout, "\n"), res.ExitStatus == 0, nil
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shell.Quote(a)
	}
	return out
}

// prepareContext returns the directory the build runs in: "" (the current
// directory) with builder.context, else the build directory inside a
// clean clone of the git HEAD. Uncommitted changes are reported, as they
// are left out of (clone) or part of (context) the image.
func (k *Builder) prepareContext(ctx context.Context) (string, error) {
	changes, isRepo, err := k.gitOutput(ctx, "status", "--porcelain")
	if err != nil {
		return "", err
	}
	if !k.Config.Builder.GitClone() {
		if isRepo && strings.TrimSpace(changes) != "" {
			k.Say("Building with uncommitted changes:\n %s", strings.TrimSpace(changes))
		}
		return "", nil
	}
	pwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if !isRepo {
		return "", &BuilderError{"Can't build from a git clone, no git repository found in " + pwd + " (set builder.context to build a directory instead)"}
	}
	if strings.TrimSpace(changes) != "" {
		k.Say("Building from a local git clone, so ignoring these uncommitted changes:\n %s", strings.TrimSpace(changes))
	}
	root, _, err := k.gitOutput(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	head, ok, err := k.gitOutput(ctx, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if !ok || head == "" {
		return "", &BuilderError{"Can't build from a git clone: the repository in " + root + " has no commit yet"}
	}
	// git prints the root with symlinks resolved; resolve pwd alike so the
	// relative build path is right.
	if p, err := filepath.EvalSymlinks(pwd); err == nil {
		pwd = p
	}
	c := commands.NewClone(k.Config.Service, os.TempDir(), pwd, root)
	if err := k.cloneOrReset(ctx, c, head); err != nil {
		return "", err
	}
	return c.BuildDir, nil
}

// cloneOrReset makes c.Dir a clean clone at revision: a fresh clone, or
// an existing one reset (recloned if resetting fails), then validated.
func (k *Builder) cloneOrReset(ctx context.Context, c commands.Clone, revision string) error {
	x := k.local("", nil)
	run := func(cmd commands.Cmd) error {
		_, err := x.Exec(ctx, "localhost", shell.Command(cmd...), remote.ExecOptions{})
		return err
	}
	fresh := func() error {
		k.Out.Log(remote.Info, "", "Cloning repo into build directory `"+c.BuildDir+"`...")
		if err := os.MkdirAll(c.Dir, 0o755); err != nil {
			return fmt.Errorf("creating the clone directory: %w", err)
		}
		return run(c.Clone())
	}
	if _, err := os.Stat(c.BuildDir); errors.Is(err, os.ErrNotExist) {
		_ = os.RemoveAll(c.Dir)
		if err := fresh(); err != nil {
			return err
		}
	} else {
		k.Out.Log(remote.Info, "", "Resetting local clone as `"+c.BuildDir+"` already exists...")
		for _, step := range c.ResetSteps(revision) {
			if err := run(step); err != nil {
				k.Out.Log(remote.Error, "", fmt.Sprintf("Error preparing clone: %s, deleting and retrying...", firstLine(err.Error())))
				if err := os.RemoveAll(c.Dir); err != nil {
					return fmt.Errorf("removing the clone: %w", err)
				}
				if err := fresh(); err != nil {
					return err
				}
				break
			}
		}
	}
	// The clone must be clean and at the local HEAD.
	res, err := x.Exec(ctx, "localhost", shell.Command(c.Status()...), remote.ExecOptions{Severity: remote.Debug})
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(res.Stdout); s != "" {
		return &BuilderError{"Clone in " + c.BuildDir + " is dirty, " + s}
	}
	res, err = x.Exec(ctx, "localhost", shell.Command(c.Revision()...), remote.ExecOptions{Severity: remote.Debug})
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(res.Stdout); got != revision {
		return &BuilderError{fmt.Sprintf("Clone in %s is not on the correct revision, expected `%s` but got `%s`", c.BuildDir, revision, got)}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// warnDevFiles warns that a dev build contains uncommitted and untracked
// files of the working tree: those the build context contextDir includes
// (inside it and not left out by its .dockerignore), as Kamal does.
func (k *Builder) warnDevFiles(ctx context.Context, contextDir string) {
	out, ok, err := k.gitOutput(ctx, "status", "--porcelain", "--untracked-files=all")
	if err != nil || !ok {
		return
	}
	inContext := k.devContextFilter(ctx, contextDir)
	var changed, untracked []string
	for _, line := range strings.Split(out, "\n") {
		if len(line) < 4 {
			continue
		}
		name := line[3:]
		if i := strings.Index(name, " -> "); i >= 0 && !strings.HasPrefix(line, "??") {
			name = name[i+4:] // a rename: the new name is in the context
		}
		if !inContext(name) {
			continue
		}
		if strings.HasPrefix(line, "??") {
			untracked = append(untracked, name)
		} else {
			changed = append(changed, name)
		}
	}
	sort.Strings(changed)
	sort.Strings(untracked)
	k.warnFiles("WARNING: Files with uncommitted changes will be present in the dev container:", changed)
	k.warnFiles("WARNING: Untracked files will be present in the dev container:", untracked)
}

// warnFiles says warning, then files one a line, then a blank line; nothing
// when there are no files.
func (k *Builder) warnFiles(warning string, files []string) {
	if len(files) == 0 {
		return
	}
	k.Say("%s", warning)
	for _, f := range files {
		k.Say("  %s", f)
	}
	k.Say("")
}

// devContextFilter returns whether a path relative to the git root is in
// the build context contextDir. When the paths cannot be worked out it
// keeps every file (a warning too many beats one missing).
func (k *Builder) devContextFilter(ctx context.Context, contextDir string) func(string) bool {
	all := func(string) bool { return true }
	root, ok, err := k.gitOutput(ctx, "rev-parse", "--show-toplevel")
	if err != nil || !ok || root == "" {
		return all
	}
	ctxAbs, err := filepath.Abs(contextDir)
	if err != nil {
		return all
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	if c, err := filepath.EvalSymlinks(ctxAbs); err == nil {
		ctxAbs = c
	}
	ignore, err := readDockerIgnore(ctxAbs)
	if err != nil {
		return all
	}
	return func(name string) bool {
		rel, err := filepath.Rel(ctxAbs, filepath.Join(root, filepath.FromSlash(name)))
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return false
		}
		return !ignore.excluded(filepath.ToSlash(rel))
	}
}
