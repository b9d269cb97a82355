package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// The app version (--version, $VERSION or git) and minimum_version.

// KamalVersion is the Kamal version whose behaviour we implement; configs
// compare `minimum_version` against it. The cli package keeps it in sync.
var KamalVersion = "2.12.0"

// Version returns the app version: --version, $VERSION, or the git commit
// (with an _uncommitted_<hex> suffix when building from a dirty checkout).
// Git runs only on first use.
func (c *Config) Version() (string, error) {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	if c.versionResolved {
		return c.version, nil
	}
	if c.versionFn == nil {
		return "", fmt.Errorf("no version available")
	}
	v, err := c.versionFn()
	if err != nil {
		return "", err
	}
	c.version, c.versionResolved = v, true
	return v, nil
}

// SetVersion forces the version (rollback, `version_or_latest`).
func (c *Config) SetVersion(v string) {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	c.version, c.versionResolved = v, true
}

// AbbreviatedVersion is the first 7 characters of the version, or the whole
// version when it contains "_" (uncommitted builds).
func (c *Config) AbbreviatedVersion() (string, error) {
	v, err := c.Version()
	if err != nil {
		return "", err
	}
	if strings.Contains(v, "_") || len(v) <= 7 {
		return v, nil
	}
	return v[:7], nil
}

// runGit runs git with args in the current directory and returns stdout.
func runGit(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		// git's own first line says what is wrong (e.g. no commit yet).
		if msg, _, _ := strings.Cut(strings.TrimSpace(errb.String()), "\n"); msg != "" {
			err = errors.New(msg)
		}
	}
	return out.String(), err
}

// versionResolver is --version, then $VERSION, then git.
func versionResolver(declared string, lookup func(string) (string, bool), git func(...string) (string, error), gitClone bool) func() (string, error) {
	return func() (string, error) {
		if declared != "" {
			return declared, nil
		}
		if v, ok := lookup("VERSION"); ok {
			return v, nil
		}
		return gitVersion(git, gitClone)
	}
}

// gitVersion is the HEAD commit, with _uncommitted_<16 hex> appended when the
// work tree is dirty and the build uses it directly (builder.context set).
func gitVersion(git func(...string) (string, error), gitClone bool) (string, error) {
	if _, err := git("rev-parse"); err != nil {
		pwd, _ := os.Getwd()
		return "", &Error{Message: "Can't use commit hash as version, no git repository found in " + pwd, kind: KindRuntime}
	}
	head, err := git("rev-parse", "HEAD")
	if err != nil {
		return "", &Error{Message: "Can't use commit hash as version, git rev-parse HEAD failed: " + err.Error(), kind: KindRuntime}
	}
	v := strings.TrimSpace(head)
	if !gitClone {
		status, err := git("status", "--porcelain")
		if err == nil && strings.TrimSpace(status) != "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			v += "_uncommitted_" + hex.EncodeToString(b)
		}
	}
	return v, nil
}

// checkMinimumVersion fails when minimum_version is above KamalVersion.
// A minimum_version that is not present? (false, "") is skipped, as Kamal does.
func (c *Config) checkMinimumVersion() {
	mv := c.root.Get("minimum_version")
	if !mv.Present() {
		return
	}
	cmp, err := compareGemVersions(c.MinimumVersion, KamalVersion)
	if err != nil {
		raise(mv, KindArgument, "Malformed version number string %s", c.MinimumVersion)
	}
	if cmp > 0 {
		raise(mv, KindConfiguration, "Current version is %s, minimum required is %s", KamalVersion, c.MinimumVersion)
	}
}

// compareGemVersions compares like Gem::Version: numeric segments compare as
// numbers, a letter segment marks a prerelease (lower than the release).
func compareGemVersions(a, b string) (int, error) {
	sa, err := gemSegments(a)
	if err != nil {
		return 0, err
	}
	sb, err := gemSegments(b)
	if err != nil {
		return 0, err
	}
	// trailing zeros do not count
	trim := func(s []any) []any {
		for len(s) > 0 {
			if n, ok := s[len(s)-1].(int); ok && n == 0 {
				s = s[:len(s)-1]
				continue
			}
			break
		}
		return s
	}
	sa, sb = trim(sa), trim(sb)
	for i := 0; i < max(len(sa), len(sb)); i++ {
		var x, y any = 0, 0
		if i < len(sa) {
			x = sa[i]
		}
		if i < len(sb) {
			y = sb[i]
		}
		xi, xnum := x.(int)
		yi, ynum := y.(int)
		switch {
		case xnum && ynum:
			if xi != yi {
				return cmpInt(xi, yi), nil
			}
		case xnum && !ynum:
			return 1, nil
		case !xnum && ynum:
			return -1, nil
		default:
			if xs, ys := x.(string), y.(string); xs != ys {
				return strings.Compare(xs, ys), nil
			}
		}
	}
	return 0, nil
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

var gemVersionRE = regexp.MustCompile(`^\s*[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$`)
var gemSegRE = regexp.MustCompile(`[0-9]+|[a-zA-Z]+`)

func gemSegments(v string) ([]any, error) {
	if !gemVersionRE.MatchString(v) {
		return nil, fmt.Errorf("malformed version %q", v)
	}
	v = strings.ReplaceAll(strings.TrimSpace(v), "-", ".pre.")
	var out []any
	for _, s := range gemSegRE.FindAllString(v, -1) {
		if n, err := strconv.Atoi(s); err == nil {
			out = append(out, n)
		} else {
			out = append(out, s)
		}
	}
	return out, nil
}
