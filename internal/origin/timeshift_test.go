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
	for q, status := range map[string]int{
		"start=yesterday":                  400,
		"end=1795341600":                   400,
		"start=" + at(3) + "&end=" + at(1): 400,
		"start=1000&end=2000":              404,
	} {
		resp, body := fetch(t, srv, "GET", "/live/news/hls/"+r.ID+"/index.m3u8?"+q)
		if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d problem+json", q, resp.StatusCode, body, status)
		}
		if status == 404 && !strings.Contains(string(body), "the window holds") {
			t.Errorf("%s: the answer does not say what the window holds: %s", q, body)
		}
	}
}
