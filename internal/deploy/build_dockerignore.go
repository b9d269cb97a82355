package deploy

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// dockerIgnore is a parsed .dockerignore: Docker's rules (patterns are
// relative to the context root, `*` and `?` stay inside one path element,
// `**` spans any number of them, `!` re-includes, the last matching
// pattern wins, and a pattern matching a directory covers what is in it).
type dockerIgnore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	re      *regexp.Regexp
	include bool // a `!` exception
}

// readDockerIgnore reads <contextDir>/.dockerignore; a missing file
// ignores nothing.
func readDockerIgnore(contextDir string) (*dockerIgnore, error) {
	data, err := os.ReadFile(filepath.Join(contextDir, ".dockerignore"))
	if os.IsNotExist(err) {
		return &dockerIgnore{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseDockerIgnore(string(data)), nil
}

func parseDockerIgnore(text string) *dockerIgnore {
	d := &dockerIgnore{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		include := strings.HasPrefix(line, "!")
		if include {
			line = strings.TrimSpace(line[1:])
		}
		line = path.Clean(strings.TrimPrefix(filepath.ToSlash(line), "/"))
		if line == "." || line == "" {
			continue
		}
		if re, err := regexp.Compile(ignorePatternRegexp(line)); err == nil {
			d.rules = append(d.rules, ignoreRule{re: re, include: include})
		}
	}
	return d
}

// ignorePatternRegexp translates one cleaned pattern to an anchored
// regular expression.
func ignorePatternRegexp(p string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			i++
			if i+1 < len(p) && p[i+1] == '/' {
				i++
				b.WriteString("(.*/)?") // `**/` : zero or more directories
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := p[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// excluded reports whether the slash-separated path rel (relative to the
// context root) is left out of the build context.
func (d *dockerIgnore) excluded(rel string) bool {
	out := false
	for _, r := range d.rules {
		if r.matches(rel) {
			out = !r.include
		}
	}
	return out
}

// matches is true when the pattern matches rel or one of its parent
// directories.
func (r ignoreRule) matches(rel string) bool {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if r.re.MatchString(p) {
			return true
		}
	}
	return false
}
