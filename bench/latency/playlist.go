package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// entry is one segment or part a media playlist lists.
type entry struct {
	uri  string
	init string    // EXT-X-MAP URI in force, empty for TS
	pdt  time.Time // program date-time of its start; zero when none
	dur  time.Duration
	part bool
	// independent: decodable without what comes before (a whole
	// segment, or a part marked INDEPENDENT=YES).
	independent bool
}

// listing is what the follower needs of a media playlist.
type listing struct {
	entries []entry
	// lowLatency: the server blocks reloads; nextMSN and nextPart are what
	// to ask for next.
	lowLatency bool
	nextMSN    uint64
	nextPart   int
	hasParts   bool
	// variant is the first variant's URI when this is a multivariant
	// playlist.
	variant string
}

// parsePlaylist reads segments (EXTINF) and parts (EXT-X-PART) with their
// program date-times and initialisation segments, or the first variant
// of a multivariant playlist.
func parsePlaylist(r io.Reader) (listing, error) {
	var (
		l          listing
		pdt        time.Time
		seq, segs  uint64
		partsInSeg int
		partsDur   time.Duration
		init       string
		pendingDur time.Duration
		streamInf  bool
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			streamInf = true
		case streamInf && line != "" && !strings.HasPrefix(line, "#"):
			if l.variant == "" {
				l.variant = line
			}
			streamInf = false
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.ParseUint(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
		case strings.HasPrefix(line, "#EXT-X-SERVER-CONTROL:") && strings.Contains(line, "CAN-BLOCK-RELOAD=YES"):
			l.lowLatency = true
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			init = strings.Trim(attr(line[len("#EXT-X-MAP:"):], "URI"), `"`)
		case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
			t, err := parseDateTime(strings.TrimPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"))
			if err != nil {
				return l, fmt.Errorf("program date-time %q: %w", line, err)
			}
			pdt = t
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			attrs := line[len("#EXT-X-PART:"):]
			dur := secondsOf(attr(attrs, "DURATION"))
			e := entry{uri: strings.Trim(attr(attrs, "URI"), `"`), init: init, dur: dur, part: true, independent: attr(attrs, "INDEPENDENT") == "YES"}
			if !pdt.IsZero() {
				e.pdt = pdt.Add(partsDur)
			}
			l.entries = append(l.entries, e)
			l.hasParts = true
			partsInSeg++
			partsDur += dur
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			pendingDur = secondsOf(v)
		case line != "" && !strings.HasPrefix(line, "#"):
			l.entries = append(l.entries, entry{uri: line, init: init, pdt: pdt, dur: pendingDur, independent: true})
			if !pdt.IsZero() {
				pdt = pdt.Add(pendingDur)
			}
			segs++
			partsInSeg, partsDur = 0, 0
		}
	}
	l.nextMSN = seq + segs
	l.nextPart = partsInSeg
	return l, sc.Err()
}

// attr returns the value of an attribute of an attribute list; quoted
// values may hold commas.
func attr(list, name string) string {
	for list != "" {
		k, rest, ok := strings.Cut(list, "=")
		if !ok {
			return ""
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return ""
			}
			v, rest = rest[:end+2], rest[end+2:]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		if strings.TrimSpace(k) == name {
			return v
		}
		list = strings.TrimPrefix(rest, ",")
	}
	return ""
}

func secondsOf(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// parseDateTime reads a program date-time: RFC 3339, or ISO 8601 with a
// zone offset without a colon as ffmpeg writes it (+0000).
func parseDateTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999-0700", v)
}
