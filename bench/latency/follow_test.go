package main

import (
	"strings"
	"testing"
	"time"
)

func TestParsePlaylistReadsPartsAndFFmpegDates(t *testing.T) {
	ll := `#EXTM3U
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-PROGRAM-DATE-TIME:2026-11-22T10:00:00.000Z
#EXT-X-PART:DURATION=0.200,URI="10.0.m4s",INDEPENDENT=YES
#EXTINF:1.000,
10.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-22T10:00:01.000Z
#EXT-X-PART:DURATION=0.200,URI="11.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="11.1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="11.2.m4s"
`
	l, err := parsePlaylist(strings.NewReader(ll))
	if err != nil {
		t.Fatal(err)
	}
	if !l.lowLatency || l.nextMSN != 11 || l.nextPart != 2 || len(l.entries) != 4 {
		t.Fatalf("%+v", l)
	}
	if got := l.entries[3].pdt; !got.Equal(time.Date(2026, 11, 22, 10, 0, 1, 200e6, time.UTC)) {
		t.Errorf("part 11.1 starts at %v", got)
	}
	ff := "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-22T19:25:00.123+0000\nindex3.ts\n"
	l, err = parsePlaylist(strings.NewReader(ff))
	if err != nil || len(l.entries) != 1 || l.entries[0].pdt.IsZero() || segments(l) != 1 {
		t.Fatalf("ffmpeg playlist: %+v, %v", l, err)
	}
}
