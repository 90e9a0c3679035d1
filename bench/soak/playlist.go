package main

import (
	"bufio"
	"strconv"
	"strings"
)

// mediaPlaylist is what a viewer reads from an HLS media playlist.
type mediaPlaylist struct {
	sequence uint64
	segments []string
	// discontinuities counts the EXT-X-DISCONTINUITY tags.
	discontinuities int
	// gap marks the segments tagged EXT-X-GAP, which players must not
	// load: the numbers missing between two runs.
	gap []bool
}

// parseMediaPlaylist reads the media sequence and the segment URIs.
func parseMediaPlaylist(body string) (mediaPlaylist, bool) {
	var pl mediaPlaylist
	seen, gap := false, false
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			n, err := strconv.ParseUint(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
			if err != nil {
				return pl, false
			}
			pl.sequence, seen = n, true
		case line == "#EXT-X-DISCONTINUITY":
			pl.discontinuities++
		case line == "#EXT-X-GAP":
			gap = true
		case line != "" && !strings.HasPrefix(line, "#"):
			pl.segments = append(pl.segments, line)
			pl.gap = append(pl.gap, gap)
			gap = false
		}
	}
	return pl, seen && sc.Err() == nil
}

// last is the media sequence number of the playlist's last segment.
func (pl mediaPlaylist) last() uint64 {
	if len(pl.segments) == 0 {
		return pl.sequence
	}
	return pl.sequence + uint64(len(pl.segments)) - 1
}
