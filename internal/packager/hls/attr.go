package hls

import (
	"net/url"
	"strings"
)

// quotedValue makes s safe inside an HLS quoted-string attribute value,
// which may contain neither a double quote nor a line break.
func quotedValue(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '"', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// playlistURI is the media playlist URL of a rendition, relative to the
// multivariant playlist.
func playlistURI(rendition string) string {
	return url.PathEscape(rendition) + "/index.m3u8"
}
