package secrets

import (
	"errors"
	"strings"
)

// ShellEscape escapes s for a POSIX shell the way Ruby's Shellwords.escape
// does: every character outside [A-Za-z0-9_\-.,:+/@] gets a backslash,
// a newline becomes a newline in single quotes, and an empty string becomes
// a pair of single quotes. Kamal prints
// `secrets fetch` results in this form, and `.kamal/secrets` files feed them
// back to `secrets extract` through variable expansion.
func ShellEscape(s string) string {
	if s == "" {
		return "''"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("'\n'")
		case r < 0x80 && (isWord(byte(r)) || strings.ContainsRune("-.,:+/@", r)):
			b.WriteRune(r)
		default:
			b.WriteByte('\\')
			b.WriteRune(r)
		}
	}
	return b.String()
}

// errUnmatchedQuote does not quote the line: it may hold secrets.
var errUnmatchedQuote = errors.New("unmatched quote in command")

// ShellSplit splits a command line into words the way Ruby's
// Shellwords.split does: single quotes are literal, double quotes keep
// the backslash except before $ ` " \ and newline, a bare backslash escapes
// the next character.
func ShellSplit(line string) ([]string, error) {
	var words []string
	var field strings.Builder
	inWord := false
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case isSpace(c):
			if inWord {
				words = append(words, field.String())
				field.Reset()
				inWord = false
			}
			i++
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, errUnmatchedQuote
			}
			field.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			j := i + 1
			closed := false
			for j < len(line) {
				if line[j] == '\\' && j+1 < len(line) {
					if strings.IndexByte("$`\"\\\n", line[j+1]) >= 0 {
						field.WriteByte(line[j+1])
					} else {
						field.WriteByte('\\')
						field.WriteByte(line[j+1])
					}
					j += 2
					continue
				}
				if line[j] == '"' {
					closed = true
					break
				}
				field.WriteByte(line[j])
				j++
			}
			if !closed {
				return nil, errUnmatchedQuote
			}
			inWord = true
			i = j + 1
		case c == '\\':
			if i+1 < len(line) {
				if line[i+1] == '\n' {
					// Ruby keeps an escaped newline as written.
					field.WriteString("\\\n")
				} else {
					field.WriteByte(line[i+1])
				}
				i += 2
			} else {
				i++
			}
			inWord = true
		default:
			field.WriteByte(c)
			inWord = true
			i++
		}
	}
	if inWord {
		words = append(words, field.String())
	}
	return words, nil
}
