package storage

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// KeyError says why a key was refused.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("invalid object key %q: %s", e.Key, e.Reason) }

// MaxKeyLength is the longest key accepted, S3's limit.
const MaxKeyLength = 1024

// CleanKey checks that key is a relative, slash-separated name that cannot
// leave the storage root: no empty, "." or ".." element, no leading slash,
// no backslash or control character. It returns the key unchanged when it
// is valid, so callers never store a different name than they were given.
func CleanKey(key string) (string, error) {
	if err := checkName(key); err != nil {
		return "", err
	}
	return key, nil
}

// CleanPrefix is CleanKey for list prefixes: empty is allowed (everything)
// and a trailing slash is allowed.
func CleanPrefix(prefix string) (string, error) {
	if prefix == "" {
		return "", nil
	}
	if err := checkName(strings.TrimSuffix(prefix, "/")); err != nil {
		return "", err
	}
	return prefix, nil
}

func checkName(key string) error {
	bad := func(reason string) error { return &KeyError{Key: key, Reason: reason} }
	switch {
	case key == "":
		return bad("empty")
	case len(key) > MaxKeyLength:
		return bad(fmt.Sprintf("longer than %d bytes", MaxKeyLength))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("starts with a slash")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
		if r == '\\' {
			return bad("contains a backslash")
		}
	}
	for _, el := range strings.Split(key, "/") {
		switch el {
		case "":
			return bad("has an empty path element")
		case ".", "..":
			return bad("has a " + el + " path element")
		}
	}
	return nil
}
