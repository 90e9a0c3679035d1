package srt

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Stream id errors: each refuses the caller in its handshake.
var (
	// errPlayback refuses callers that want to receive: SRT in Sluice is
	// ingest only.
	errPlayback = errors.New("the caller asks to receive (m=request); Sluice's SRT is ingest only")
	// errStreamID refuses stream ids Sluice cannot read.
	errStreamID = errors.New("unusable stream id")
)

// maxStreamID is SRT's own limit on a stream id.
const maxStreamID = 512

// accessControlPrefix starts a stream id in SRT's access control syntax.
const accessControlPrefix = "#!::"

// parseStreamID returns the stream key a caller presents: the whole
// stream id ("<key>"), or the resource of SRT's access control syntax
// ("#!::r=<key>,m=publish", also URL-encoded). A missing mode counts as publish, since
// Sluice takes nothing else; m=request and m=bidirectional are refused.
func parseStreamID(id string) (string, error) {
	if strings.HasPrefix(id, "%23") {
		// Some encoders send the access control form URL-encoded.
		if decoded, err := url.QueryUnescape(id); err == nil {
			id = decoded
		}
	}
	switch {
	case id == "":
		return "", fmt.Errorf("%w: the caller sent no stream id (the stream key goes there)", errStreamID)
	case len(id) > maxStreamID:
		return "", fmt.Errorf("%w: %d bytes is longer than SRT allows", errStreamID, len(id))
	case !utf8.ValidString(id) || strings.ContainsFunc(id, isControl):
		return "", fmt.Errorf("%w: it contains control characters or invalid UTF-8", errStreamID)
	case !strings.HasPrefix(id, accessControlPrefix):
		if strings.HasPrefix(id, "#!") {
			return "", fmt.Errorf("%w: only the #!:: form of the access control syntax is understood", errStreamID)
		}
		return id, nil
	}
	var key, mode string
	for field := range strings.SplitSeq(id[len(accessControlPrefix):], ",") {
		name, value, ok := strings.Cut(field, "=")
		if !ok {
			return "", fmt.Errorf("%w: %q is not key=value", errStreamID, field)
		}
		switch name {
		case "r":
			key = value
		case "m":
			mode = value
		}
	}
	switch mode {
	case "", "publish":
	case "request":
		return "", errPlayback
	default:
		return "", fmt.Errorf("%w: mode %q is not publish", errStreamID, mode)
	}
	if key == "" {
		return "", fmt.Errorf("%w: no resource (r=<stream key>)", errStreamID)
	}
	return key, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
