package config

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-video/sluice/internal/resource"
)

// maxProblems caps how many problems one Error carries, so that a badly
// broken or hostile file yields a readable report rather than megabytes.
const maxProblems = 100

// Problem is one thing wrong with a stack file, located by line and column so
// that people and editors can jump straight to it.
type Problem struct {
	File string
	// Line and Column are 1-based; 0 means unknown.
	Line   int
	Column int
	// Path names the field in the JSON spelling the API uses, such as
	// "channels[0].encoder.video[1].bitrate"; "" is the file as a whole.
	// For an unknown or repeated key it names the mapping holding the key.
	Path    string
	Message string
}

// String formats the problem as "file:line:col: path: message", leaving out
// the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem found in a stack file, sorted by position, so a
// caller can print them all at once instead of one per attempt.
type Error struct {
	Problems []Problem
}

// Error returns one problem per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, resource.ErrInvalid) hold, so a stack file error
// maps to the same status as any other invalid request.
func (e *Error) Is(target error) bool { return target == resource.ErrInvalid }

// newError sorts the problems by position, drops repeats (an alias decoded
// twice reports the same fault twice) and caps their number.
func newError(file string, problems []Problem) *Error {
	sorted := slices.Clone(problems)
	slices.SortStableFunc(sorted, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	sorted = slices.Compact(sorted)
	if len(sorted) > maxProblems {
		sorted = append(sorted[:maxProblems], Problem{
			File:    file,
			Message: "too many problems; only the first " + strconv.Itoa(maxProblems) + " are shown",
		})
	}
	return &Error{Problems: sorted}
}

// fileError is an Error with a single problem.
func fileError(file string, line, col int, msg string) *Error {
	return &Error{Problems: []Problem{{File: file, Line: line, Column: col, Message: msg}}}
}

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: found character
// that cannot start any token") into a Problem of the file, with a hint when
// the line is indented with a tab.
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, found := strings.Cut(rest, ": ")
		if n, convErr := strconv.Atoi(num); found && convErr == nil && n > 0 {
			line, msg = n, text
		}
	}
	if line > 0 && tabIndented(data, line) {
		msg += " (YAML is indented with spaces, not tabs)"
	}
	return fileError(file, line, 0, msg)
}

// tabIndented reports whether the 1-based line of data starts with
// whitespace that holds a tab.
func tabIndented(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line > len(lines) {
		return false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
	return bytes.IndexByte(indent, '\t') >= 0
}

// validationProblems places the field errors of resource validation at the
// positions of the keys they name.
func validationProblems(file string, idx positions, err error) []Problem {
	var fe resource.FieldErrors
	if !errors.As(err, &fe) {
		p := idx.lookup("")
		return []Problem{{File: file, Line: p.line, Column: p.col, Message: err.Error()}}
	}
	out := make([]Problem, 0, len(fe))
	for _, f := range fe {
		p := idx.lookup(f.Path)
		out = append(out, Problem{File: file, Line: p.line, Column: p.col, Path: f.Path, Message: f.Message})
	}
	return out
}

// quoteText quotes a scalar for a message, shortening long ones.
func quoteText(s string) string { return strconv.Quote(shorten(s)) }

// shorten cuts text for a message to at most 60 bytes, on a rune boundary.
func shorten(s string) string {
	if len(s) <= 60 {
		return s
	}
	cut := 57
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
