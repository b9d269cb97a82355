package erb

import "strings"

// segKind says what a piece of the template is.
type segKind int

const (
	segText   segKind = iota // literal text, emitted as is
	segCode                  // <% code %>
	segOutput                // <%= expr %>
)

// segment is one piece of a split template. For code and output segments
// text holds the Ruby source between the tags.
type segment struct {
	kind segKind
	text string
	line int // template line where text starts
}

// splitTemplate cuts an ERB template into text and code segments, following
// Ruby's ERB with trim_mode "-":
//
//   - "<%-" at the start of a line (after blanks) drops those blanks;
//   - "-%>" directly followed by a newline drops that newline;
//   - "<%%" in text is a literal "<%", "%%>" inside a tag a literal "%>";
//   - "<%#" starts a comment tag that produces nothing.
//
// Like Ruby's scanner it works on tokens found anywhere, so "-%>" in plain
// text also becomes "%>" (and eats a following newline). An unclosed tag is
// reported as an error rather than printed as text.
func splitTemplate(src string) ([]segment, *tagError) {
	var (
		segs    []segment
		content strings.Builder
		inTag   string // "", "<%", "<%=", "<%#"
		line    = 1    // line of the scan position
		start   = 1    // line where content started
		tagLine = 1    // line of the opening tag
	)
	flushText := func() {
		if content.Len() > 0 {
			segs = append(segs, segment{kind: segText, text: content.String(), line: start})
		}
		content.Reset()
	}
	pos := 0
	for pos < len(src) {
		i, tok := nextERBToken(src, pos)
		// Everything before the token is plain content.
		chunk := src[pos:i]
		if content.Len() == 0 {
			start = line
		}
		content.WriteString(chunk)
		line += strings.Count(chunk, "\n")
		pos = i
		if tok == "" {
			break
		}
		pos += len(tok)
		tokLines := strings.Count(tok, "\n")
		if inTag == "" {
			switch {
			case strings.HasSuffix(tok, "<%-"):
				// Blanks before a line-leading "<%-" are dropped.
				flushText()
				inTag, tagLine = "<%", line
			case tok == "<%" || tok == "<%=" || tok == "<%#":
				flushText()
				inTag, tagLine = tok, line
			case tok == "<%%":
				if content.Len() == 0 {
					start = line
				}
				content.WriteString("<%")
			case tok == "-%>\n":
				if content.Len() == 0 {
					start = line
				}
				content.WriteString("%>")
			case tok == "-%>":
				if content.Len() == 0 {
					start = line
				}
				content.WriteString("%>")
			default: // "%>", "%%>"
				if content.Len() == 0 {
					start = line
				}
				content.WriteString(tok)
			}
			line += tokLines
			if inTag != "" {
				start = line
			}
			continue
		}
		// Inside a tag.
		switch tok {
		case "%>", "-%>", "-%>\n":
			code := content.String()
			content.Reset()
			switch inTag {
			case "<%":
				segs = append(segs, segment{kind: segCode, text: code, line: start})
			case "<%=":
				segs = append(segs, segment{kind: segOutput, text: code, line: start})
			}
			inTag = ""
		case "%%>":
			if content.Len() == 0 {
				start = line
			}
			content.WriteString("%>")
		default:
			if content.Len() == 0 {
				start = line
			}
			content.WriteString(tok)
		}
		line += tokLines
	}
	if inTag != "" {
		snip := inTag + content.String()
		return nil, &tagError{line: tagLine, snippet: snip}
	}
	flushText()
	return segs, nil
}

// tagError is an unterminated tag.
type tagError struct {
	line    int
	snippet string
}

// erbTokens are the tokens by first byte, in the order Ruby's trim-mode
// scanner tries them.
var erbTokens = map[byte][]string{
	'<': {"<%-", "<%%", "<%=", "<%#", "<%"},
	'%': {"%%>", "%>"},
	'-': {"-%>\n", "-%>"},
}

// nextERBToken finds the leftmost ERB token at or after pos and returns its
// index and text ("" at the end of input). At one position the alternatives
// are tried in the order Ruby's trim-mode scanner tries them.
func nextERBToken(src string, pos int) (int, string) {
	for i := pos; i < len(src); i++ {
		// A line-leading run of blanks followed by "<%-".
		if i == 0 || src[i-1] == '\n' {
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if j > i && strings.HasPrefix(src[j:], "<%-") {
				return i, src[i : j+3]
			}
		}
		for _, tok := range erbTokens[src[i]] {
			if strings.HasPrefix(src[i:], tok) {
				return i, tok
			}
		}
	}
	return len(src), ""
}
