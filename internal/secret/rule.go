// Package secret hides secrets from readers who may not see them. A
// resource field is a secret when its struct tag says so, and that tag is
// the one rule: Redact, applied where answers leave the server, replaces
// every tagged field with a recognisable placeholder and scrubs every
// other string of the secrets it found, so that a secret quoted in an
// endpoint URL, an error or an event does not get out either.
//
// The tag is secret:"KIND" or secret:"KIND,PLACEHOLDER", where KIND is
// one of:
//
//   - value: the whole string is the secret;
//   - url: a URL whose user information, query values and fragment are
//     secret, and for rtmp:// and rtmps:// also the path after the
//     application name (where RTMP carries the stream key);
//   - userinfo: a URL or path whose user information alone is secret.
//
// For example:
//
//	StreamKey string `json:"streamKey" secret:"value,STREAM-KEY-HIDDEN"`
//	Notify    string `json:"notify" secret:"url"`
//	Input     string `json:"input" secret:"userinfo"`
//
// A tag on a slice, map, pointer or struct field applies to every string
// inside it (a nested field's own tag wins). An unknown kind hides the
// whole value, so a typo fails closed.
package secret

import "strings"

// TagName is the struct tag that marks a secret field.
const TagName = "secret"

// Placeholders stand in for hidden secrets. They end in -HIDDEN, so a
// reader (and a test) can tell a hidden value from a real one.
const (
	// Hidden is the placeholder of a value or a URL part whose tag names
	// no other.
	Hidden = "SECRET-HIDDEN"
	// HiddenCredentials stands in for the user information of a URL.
	HiddenCredentials = "CREDENTIALS-HIDDEN"
)

// kind says which part of a string is secret.
type kind int

const (
	// plain is a string that is not itself a secret; it is scrubbed of
	// the secrets found elsewhere.
	plain kind = iota
	whole
	urlParts
	userinfo
)

// rule is a parsed secret tag.
type rule struct {
	kind        kind
	placeholder string
}

// parseRule reads a secret tag.
func parseRule(tag string) rule {
	name, placeholder, _ := strings.Cut(tag, ",")
	if placeholder == "" {
		placeholder = Hidden
	}
	switch strings.TrimSpace(name) {
	case "url":
		return rule{kind: urlParts, placeholder: placeholder}
	case "userinfo":
		return rule{kind: userinfo, placeholder: placeholder}
	default: // "value", and anything unknown: hide it all
		return rule{kind: whole, placeholder: placeholder}
	}
}
