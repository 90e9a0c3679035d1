package main

import (
	"testing"
	"time"
)

func TestParseMediaPlaylist(t *testing.T) {
	body := `#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-MAP:URI="init-7.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T10:00:00.000Z
#EXTINF:1.000,
seg-1.m4s
#EXTINF:1.000,
seg-2.m4s
#EXT-X-DISCONTINUITY
#EXTINF:0.500,
seg-3.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T10:00:05.000Z
#EXTINF:1.000,
seg-4.m4s
`
	segs := parseMediaPlaylist(body)
	if len(segs) != 4 || segs[0].Init != "init-7.mp4" {
		t.Fatalf("segments %+v", segs)
	}
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	if !segs[1].Captured.Equal(t0.Add(time.Second)) || !segs[1].End().Equal(t0.Add(2*time.Second)) {
		t.Errorf("second segment %+v", segs[1])
	}
	if segs[2].URI != "seg-3.m4s" || !segs[2].Captured.IsZero() {
		t.Errorf("after the discontinuity, without a date %+v", segs[2])
	}
	if segs[3].URI != "seg-4.m4s" || !segs[3].Captured.Equal(t0.Add(5*time.Second)) {
		t.Errorf("dated again %+v", segs[3])
	}
	if v := lastVariant("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhi/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nlo/index.m3u8\n"); v != "lo/index.m3u8" {
		t.Errorf("last variant %q", v)
	}
}
