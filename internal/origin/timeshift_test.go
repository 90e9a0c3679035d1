package origin

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTimeShiftedManifests(t *testing.T) {
	tl := packagedChannel(t)
	srv := newOrigin(t, tl)
	snap := tl.Snapshot(time.Minute)
	r := snap.Renditions[0]
	segs := r.Segments
	at := func(i int) string {
		return url.QueryEscape(snap.AvailabilityStart.Add(segs[i].StartTime(r.Timescale)).UTC().Format(time.RFC3339Nano))
	}
	q := "start=" + at(1) + "&end=" + at(3)
	resp, body := fetch(t, srv, "GET", "/live/news/hls/"+r.ID+"/index.m3u8?"+q)
	listed := regexp.MustCompile(`(?m)^[0-9]+\.m4s$`).FindAllString(string(body), -1)
	want := []string{itoa(segs[1].Number) + ".m4s", itoa(segs[2].Number) + ".m4s"}
	if resp.StatusCode != 200 || strings.Join(listed, " ") != strings.Join(want, " ") || !strings.Contains(string(body), "#EXT-X-ENDLIST") {
		t.Errorf("time-shifted playlist: %d, lists %v, want %v and an end:\n%s", resp.StatusCode, listed, want, body)
	}
	_, body = fetch(t, srv, "GET", "/live/news/hls/index.m3u8?"+q)
	if !strings.Contains(string(body), "index.m3u8?end=") {
		t.Errorf("the multivariant does not pass the range on:\n%s", body)
	}
	resp, body = fetch(t, srv, "GET", "/live/news/dash/manifest.mpd?"+q)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "mediaPresentationDuration") {
		t.Errorf("time-shifted MPD: %d\n%s", resp.StatusCode, body)
	}
	resp, body = fetch(t, srv, "GET", "/live/news/hls/"+r.ID+"/index.m3u8?start="+at(2))
	if resp.StatusCode != 200 || strings.Contains(string(body), "ENDLIST") || !strings.Contains(string(body), "#EXT-X-MEDIA-SEQUENCE:"+itoa(segs[2].Number)) {
		t.Errorf("start-over playlist: %d\n%s", resp.StatusCode, body)
	}
	// A range starting and ending inside segments gets every segment it
	// overlaps, as on an endpoint with a DVR window.
	mid := func(i int) string {
		return url.QueryEscape(snap.AvailabilityStart.Add(segs[i].StartTime(r.Timescale) + segs[i].DurationTime(r.Timescale)/2).UTC().Format(time.RFC3339Nano))
	}
	_, body = fetch(t, srv, "GET", "/live/news/hls/"+r.ID+"/index.m3u8?start="+mid(1)+"&end="+mid(2))
	if listed := regexp.MustCompile(`(?m)^[0-9]+\.m4s$`).FindAllString(string(body), -1); strings.Join(listed, " ") != strings.Join(want, " ") {
		t.Errorf("a range inside segments lists %v, want %v:\n%s", listed, want, body)
	}
	lastSeg := segs[len(segs)-1]
	newest := snap.AvailabilityStart.Add(lastSeg.StartTime(r.Timescale) + lastSeg.DurationTime(r.Timescale))
	window := "the window is " + snap.AvailabilityStart.Add(segs[0].StartTime(r.Timescale)).UTC().Format(time.RFC3339) + " to " + newest.UTC().Format(time.RFC3339)
	for _, c := range []struct{ q, param, says string }{
		{"start=yesterday", "start", "neither RFC 3339 nor epoch seconds"},
		{"end=1795341600", "start", "is required"},
		{"start=" + at(3) + "&end=" + at(1), "end", "must be after start"},
		{"start=1000&end=2000", "start", window},
		{"start=" + at(1) + "&end=" + url.QueryEscape(newest.Add(time.Minute).Format(time.RFC3339)), "end", window},
	} {
		resp, body := fetch(t, srv, "GET", "/live/news/hls/"+r.ID+"/index.m3u8?"+c.q)
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(string(body), `"query.`+c.param+`"`) || !strings.Contains(string(body), c.says) {
			t.Errorf("%s: %d %s, want 400 problem+json naming query.%s and saying %q", c.q, resp.StatusCode, body, c.param, c.says)
		}
	}
}
