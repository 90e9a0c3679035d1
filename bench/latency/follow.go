package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// entry is one segment or part a media playlist lists.
type entry struct {
	uri string
	pdt time.Time // program date-time of its start
	dur time.Duration
}

// listing is what the follower needs of a media playlist.
type listing struct {
	entries []entry
	// lowLatency: the server blocks reloads; nextMSN and nextPart are what
	// to ask for next.
	lowLatency bool
	nextMSN    uint64
	nextPart   int
}

// parsePlaylist reads segments (EXTINF) and parts (EXT-X-PART) with their
// program date-times.
func parsePlaylist(r io.Reader) (listing, error) {
	var l listing
	var pdt time.Time
	var seq uint64
	var segs uint64
	var partsInSeg int
	sc := bufio.NewScanner(r)
	var pendingDur time.Duration
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.ParseUint(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
		case strings.HasPrefix(line, "#EXT-X-SERVER-CONTROL:") && strings.Contains(line, "CAN-BLOCK-RELOAD=YES"):
			l.lowLatency = true
		case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
			t, err := parseDateTime(strings.TrimPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"))
			if err != nil {
				return l, fmt.Errorf("program date-time %q: %w", line, err)
			}
			pdt = t
			partsInSeg = 0
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			attrs := line[len("#EXT-X-PART:"):]
			d := attr(attrs, "DURATION")
			dur := secondsOf(d)
			var start time.Time
			if !pdt.IsZero() {
				start = pdt
				for _, e := range l.entries[len(l.entries)-partsInSeg:] {
					start = start.Add(e.dur)
				}
			}
			l.entries = append(l.entries, entry{uri: strings.Trim(attr(attrs, "URI"), `"`), pdt: start, dur: dur})
			partsInSeg++
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			pendingDur = secondsOf(v)
		case line != "" && !strings.HasPrefix(line, "#"):
			l.entries = append(l.entries, entry{uri: line, pdt: pdt, dur: pendingDur})
			if !pdt.IsZero() {
				pdt = pdt.Add(pendingDur)
			}
			segs++
			partsInSeg = 0
		}
	}
	l.nextMSN = seq + segs
	l.nextPart = partsInSeg
	return l, sc.Err()
}

func attr(list, name string) string {
	for _, kv := range strings.Split(list, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			return v
		}
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

// follow reads a media playlist for d (with blocking reloads when the
// server offers them, else polling every 100 ms) and returns, for every
// segment or part that appeared meanwhile, the wall clock when it was first
// listed minus the end of its media.
func follow(ctx context.Context, client *http.Client, playlist string, d time.Duration) ([]float64, error) {
	seen := map[string]bool{}
	var delays []float64
	end := time.Now().Add(d)
	first := true
	next := ""
	for time.Now().Before(end) {
		u := playlist + next
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		l, err := parsePlaylist(resp.Body)
		_ = resp.Body.Close()
		at := time.Now()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
		}
		for _, e := range l.entries {
			if seen[e.uri] {
				continue
			}
			seen[e.uri] = true
			if !first && !e.pdt.IsZero() {
				delays = append(delays, at.Sub(e.pdt.Add(e.dur)).Seconds())
			}
		}
		first = false
		if l.lowLatency {
			next = "?_HLS_msn=" + strconv.FormatUint(l.nextMSN, 10) + "&_HLS_part=" + strconv.Itoa(l.nextPart)
			continue
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if len(delays) == 0 {
		return nil, fmt.Errorf("%s: no new segment with a program date-time in %v", playlist, d)
	}
	return delays, nil
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
