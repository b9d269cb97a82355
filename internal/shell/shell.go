// Package shell builds strings for a POSIX shell: quoting, Kamal-compatible
// escaping, command joining and the env-file encoding Kamal writes on hosts.
// It does no I/O.
package shell

import (
	"fmt"
	"strings"
)

// KV is one environment variable. A slice keeps the caller's order, which
// matters because env files are compared byte for byte.
type KV struct {
	Key   string
	Value string
}

// safeUnquoted reports whether s needs no quoting at all. The set is kept
// small on purpose: only characters no POSIX shell treats specially.
func safeUnquoted(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_-.,/:@%+=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Quote returns s as a single POSIX shell word with no expansion of any
// kind. Single quotes protect every byte (newlines, $, backticks, non-ASCII);
// an embedded single quote is written as '\”. Plain words are returned as
// they are so logs stay readable.
func Quote(s string) string {
	if safeUnquoted(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteAll quotes every element and joins them with spaces.
func QuoteAll(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// Escape ports Kamal's escape_shell_value: the value is split into ASCII and
// non-ASCII runs; each ASCII run is rendered like Ruby's String#dump (a
// double-quoted C-style literal), then backticks become \` and every $ that
// does not open a ${NAME} becomes \$. Non-ASCII runs are appended raw,
// outside the quotes. The result is what Kamal puts into its generated
// commands, so logs match Kamal's.
//
// Two differences keep the value intact (docs/compatibility.md):
//   - Only ${NAME} (a plain variable name) is left for the remote shell to
//     expand. Kamal leaves any ${...}, and bash runs commands hidden in some
//     of them (${A:=...}${A@P}).
//   - A run holding a control character or #{, #$ or #@ is written as a
//     plain double-quoted string instead: the shell would keep String#dump's
//     \n, \e or \# as text, so the program would get a backslash and a
//     letter where the value has a newline.
//
// Like Kamal, an empty value yields an empty string (no quotes).
func Escape(s string) string {
	return mapASCIIRuns(s, func(run string) string {
		if !dumpKeepsValue(run) {
			return doubleQuoted(run)
		}
		return escapeDollars(strings.ReplaceAll(Dump(run), "`", "\\`"), true)
	})
}

// DumpWord is Kamal's escaped form of s with every $ escaped, ${...}
// included: a shell reads it back as Ruby's String#dump text of s (its \n
// and \e escapes stay text), with nothing expanded. It is the word that
// prints a log line the way Kamal's `echo "…"` does under bash.
func DumpWord(s string) string {
	return mapASCIIRuns(s, func(run string) string {
		return escapeDollars(strings.ReplaceAll(Dump(run), "`", "\\`"), false)
	})
}

// dumpKeepsValue reports whether a shell reading Dump(run) inside double
// quotes gets run back: true unless Dump writes an escape other than \"
// and \\ (control characters, and # before {, $ or @).
func dumpKeepsValue(run string) bool {
	for i := 0; i < len(run); i++ {
		c := run[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c == '#' && i+1 < len(run) && strings.IndexByte("{$@", run[i+1]) >= 0 {
			return false
		}
	}
	return true
}

// doubleQuoted writes run as a POSIX double-quoted string that reads back
// as run: \, ", ` and $ (except before a ${NAME}) are escaped, every other
// byte, newlines and control characters included, is written as it is.
func doubleQuoted(run string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(run); i++ {
		switch c := run[i]; c {
		case '\\', '"', '`':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '$':
			if !opensNameGroup(run[i+1:]) {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// escapeDollars replaces each $ with \$, except, when keepNames is set,
// one that opens a ${NAME} group.
func escapeDollars(s string, keepNames bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '$' && !(keepNames && opensNameGroup(s[i+1:])) {
			b.WriteString(`\$`)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// opensNameGroup reports whether rest starts with {NAME}, NAME being a
// shell variable name: the one form of ${...} whose expansion runs nothing.
func opensNameGroup(rest string) bool {
	if len(rest) < 3 || rest[0] != '{' {
		return false
	}
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '}':
			return i > 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 1:
		default:
			return false
		}
	}
	return false
}

// mapASCIIRuns splits s into maximal runs of ASCII bytes and of non-ASCII
// bytes, like Ruby's scan(/[\x00-\x7F]+|[^\x00-\x7F]+/), and joins them
// again with f applied to the ASCII runs. Non-ASCII runs, invalid UTF-8
// included, pass through.
func mapASCIIRuns(s string, f func(run string) string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		ascii := s[i] < 0x80
		j := i
		for j < len(s) && (s[j] < 0x80) == ascii {
			j++
		}
		if ascii {
			b.WriteString(f(s[i:j]))
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// Dump renders an ASCII string the way Ruby's String#dump does: wrapped in
// double quotes, with \" \\ \n \r \t \f \v \b \a \e escapes, # escaped when
// it would start an interpolation (#{ #$ #@), and other non-printable bytes
// as \xHH (upper-case hex). Bytes >= 0x80 are written as \xHH too, though
// Escape and EnvFile never pass them here.
func Dump(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\f':
			b.WriteString(`\f`)
		case '\v':
			b.WriteString(`\v`)
		case '\b':
			b.WriteString(`\b`)
		case '\a':
			b.WriteString(`\a`)
		case 0x1b:
			b.WriteString(`\e`)
		case '#':
			if i+1 < len(s) && (s[i+1] == '$' || s[i+1] == '@' || s[i+1] == '{') {
				b.WriteByte('\\')
			}
			b.WriteByte('#')
		default:
			if c >= 0x20 && c < 0x7f {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02X`, c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// EnvFileValue encodes one value the way Kamal's env_file.rb does: the dump
// of each ASCII run without its outer quotes, with \" turned back into " and
// \# into # (docker env files take quotes literally); non-ASCII kept raw.
func EnvFileValue(v string) string {
	return mapASCIIRuns(v, func(run string) string {
		d := Dump(run)
		d = d[1 : len(d)-1]
		return strings.NewReplacer(`\"`, `"`, `\#`, `#`).Replace(d)
	})
}

// EnvFile renders vars as a docker env file byte-compatible with Kamal:
// one KEY=value line each, in order. An empty set is written as "\n" (Kamal
// avoids empty uploads that way).
func EnvFile(vars []KV) string {
	var b strings.Builder
	for _, kv := range vars {
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(EnvFileValue(kv.Value))
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "\n"
	}
	return b.String()
}

// Join joins command tokens with single spaces, as SSHKit does with the
// token arrays Kamal's command builders return. Tokens are not quoted here:
// builders quote values when they create the tokens.
func Join(tokens ...string) string {
	return strings.Join(tokens, " ")
}

// Command renders tokens the way SSHKit turns them into the remote command
// string: when the first token has no whitespace it goes through Kamal's
// command map (docker stays docker, anything else gets a /usr/bin/env
// prefix); then everything is joined with spaces.
//
// SSHKit drops the remaining tokens when the first one contains whitespace;
// we keep them, since dropping arguments silently would only hide bugs.
func Command(tokens ...string) string {
	if len(tokens) == 0 {
		return ""
	}
	first := tokens[0]
	if !strings.ContainsAny(first, " \t\n\r\f\v") && first != "docker" {
		first = "/usr/bin/env " + first
	}
	return Join(append([]string{first}, tokens[1:]...)...)
}

// WithEnv wraps cmd the way SSHKit applies a command environment:
// ( export K="v" ; cmd ). SSHKit escapes only double quotes; we also
// escape \, $ and ` so a value reaches cmd as it is, never expanded.
func WithEnv(env []KV, cmd string) string {
	if len(env) == 0 {
		return cmd
	}
	parts := make([]string, len(env))
	for i, kv := range env {
		parts[i] = kv.Key + `="` + doubleQuoteEscaper.Replace(kv.Value) + `"`
	}
	return "( export " + strings.Join(parts, " ") + " ; " + cmd + " )"
}

// doubleQuoteEscaper escapes what a shell interprets inside double quotes.
var doubleQuoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")

// Unquote returns the value a POSIX shell gives the single word w, when it
// needs no expansion: w may mix bare text, '…' and "…" parts (with \\, \",
// \`, \$ and \<newline> escapes in double quotes, and \x outside quotes).
// ok is false when the shell would expand or split something ($, a
// backtick, a glob or ~ outside quotes, unbalanced quotes, a blank or an
// operator outside quotes), so the caller can fall back to a shell.
func Unquote(w string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c == '\'':
			end := strings.IndexByte(w[i+1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(w[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			i++
			for ; i < len(w) && w[i] != '"'; i++ {
				switch w[i] {
				case '$', '`':
					return "", false
				case '\\':
					if i+1 < len(w) && strings.IndexByte("\\\"`$\n", w[i+1]) >= 0 {
						i++
						if w[i] != '\n' {
							b.WriteByte(w[i])
						}
						continue
					}
				}
				b.WriteByte(w[i])
			}
			if i >= len(w) {
				return "", false
			}
		case c == '\\':
			if i+1 >= len(w) {
				return "", false
			}
			i++
			if w[i] != '\n' {
				b.WriteByte(w[i])
			}
		case i == 0 && c == '~', strings.IndexByte("$`*?[ \t\n;&|<>(){}#", c) >= 0 && !(c == '#' && i > 0):
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
