package resource

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Sentinel errors, mapped to HTTP statuses in one place by the API.
var (
	// ErrNotFound: the named resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is valid but clashes with the current state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request itself is wrong; wrapped by FieldErrors.
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable: what the change needs (the state database) does not
	// answer; nothing was changed, and the same request may work later.
	ErrUnavailable = errors.New("unavailable")
)

// Unavailable returns an ErrUnavailable whose message is msg alone, such
// as "the state database is unreachable: …".
func Unavailable(msg string) error { return unavailableError(msg) }

type unavailableError string

func (e unavailableError) Error() string { return string(e) }

// Is makes every unavailableError an ErrUnavailable.
func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }

// NotFound returns an ErrNotFound that names what was looked for.
func NotFound(kind, ref string) error {
	return fmt.Errorf("%s %s: %w", kind, quote(ref), ErrNotFound)
}

// Conflict returns an ErrConflict with a message that says why.
func Conflict(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConflict)
}

// FieldError says which field of a resource is wrong and why.
type FieldError struct {
	// Path locates the field, in the JSON spelling: "encoder.video[1].bitrate".
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// FieldErrors collects every problem found in one resource.
type FieldErrors []FieldError

// Add records a problem with the field at path.
func (e *FieldErrors) Add(path, msg string) {
	*e = append(*e, FieldError{Path: path, Message: msg})
}

// Merge adds the problems of err (if it holds FieldErrors) under prefix.
func (e *FieldErrors) Merge(prefix string, err error) {
	var fe FieldErrors
	if errors.As(err, &fe) {
		for _, f := range fe {
			*e = append(*e, FieldError{Path: JoinPath(prefix, f.Path), Message: f.Message})
		}
		return
	}
	if err != nil {
		e.Add(prefix, err.Error())
	}
}

// Err returns nil when nothing was recorded.
func (e FieldErrors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (e FieldErrors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true for field errors.
func (e FieldErrors) Is(target error) bool { return target == ErrInvalid }

// JoinPath joins a field path prefix and a suffix: "channels[0]" + "name".
func JoinPath(prefix, suffix string) string {
	switch {
	case prefix == "":
		return suffix
	case suffix == "":
		return prefix
	case strings.HasPrefix(suffix, "["):
		return prefix + suffix
	}
	return prefix + "." + suffix
}

// Index formats the path of a list element: Index("video", 2) is "video[2]".
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// NamePattern is the pattern of resource names (channels, inputs,
// endpoints, rungs, …). Names appear in URLs, so they are lower-case DNS
// labels.
const NamePattern = `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`

var namePattern = regexp.MustCompile(NamePattern)

// ValidName reports whether name is a valid resource name (NamePattern).
func ValidName(name string) bool { return namePattern.MatchString(name) }

// CheckName records a problem if name is not a valid resource name.
func (e *FieldErrors) CheckName(path, name string) {
	switch {
	case name == "":
		e.Add(path, "is required")
	case !ValidName(name):
		e.Add(path, quote(name)+" is not a valid name: use 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit")
	}
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strconv.Quote(s)
}
