package main

import (
	"bufio"
	"strconv"
	"strings"
	"time"
)

// segment is one media segment of an HLS media playlist.
type segment struct {
	URI string
	// Init is the URI of the initialisation segment (EXT-X-MAP).
	Init string
	// Captured is the EXT-X-PROGRAM-DATE-TIME of the segment: the wall
	// clock at which its first sample was captured.
	Captured time.Time
	Duration time.Duration
}

// End is the wall clock at which the segment's last sample was captured.
func (s segment) End() time.Time { return s.Captured.Add(s.Duration) }

// parseMediaPlaylist reads the segments of an HLS media playlist, with
// their program date time when the playlist gives one (directly or carried
// on from the previous segment).
func parseMediaPlaylist(body string) []segment {
	var (
		out  []segment
		pdt  time.Time
		dur  time.Duration
		next time.Time
		init string
	)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
			t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"))
			if err == nil {
				pdt = t
			}
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				dur = time.Duration(f * float64(time.Second))
			}
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			if _, v, ok := strings.Cut(line, `URI="`); ok {
				init, _, _ = strings.Cut(v, `"`)
			}
		case strings.HasPrefix(line, "#EXT-X-DISCONTINUITY"):
			next = time.Time{}
		case line != "" && !strings.HasPrefix(line, "#"):
			at := pdt
			if at.IsZero() {
				at = next
			}
			if dur > 0 {
				out = append(out, segment{URI: line, Init: init, Captured: at, Duration: dur})
				if !at.IsZero() {
					next = at.Add(dur)
				}
			}
			pdt, dur = time.Time{}, 0
		}
	}
	return out
}

// lastVariant returns the URI of the last variant of a multivariant
// playlist (the lowest rung in Sluice's ladders), or "".
func lastVariant(body string) string {
	var last string
	expect := false
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			expect = true
		case expect && line != "" && !strings.HasPrefix(line, "#"):
			last, expect = line, false
		}
	}
	return last
}
