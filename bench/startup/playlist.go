package main

import (
	"bufio"
	"strings"
)

// mediaPlaylists returns the media playlist URIs a multivariant playlist
// references: the line after each #EXT-X-STREAM-INF (the video rungs) and
// the URI attribute of each #EXT-X-MEDIA (the audio rendition).
func mediaPlaylists(multivariant string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(multivariant))
	nextIsURI := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			nextIsURI = true
		case strings.HasPrefix(line, "#EXT-X-MEDIA:"):
			add(attribute(line, "URI"))
		case strings.HasPrefix(line, "#"):
		case nextIsURI:
			add(line)
			nextIsURI = false
		}
	}
	return out
}

// attribute returns a quoted attribute's value from a tag line.
func attribute(line, name string) string {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// segments returns the media segment URIs of a media playlist: every URI
// line, that is every line that is neither empty nor a tag.
func segments(media string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(media))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}
