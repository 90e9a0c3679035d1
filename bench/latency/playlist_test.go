package main

import (
	"strings"
	"testing"
	"time"
)

func TestParsePlaylistReadsPartsMapsAndFFmpegDates(t *testing.T) {
	ll := `#EXTM3U
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-MAP:URI="init.mp4"
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
	if !l.lowLatency || !l.hasParts || l.nextMSN != 11 || l.nextPart != 2 || len(l.entries) != 4 {
		t.Fatalf("%+v", l)
	}
	e := l.entries[3]
	if !e.part || e.independent || e.uri != "11.1.m4s" || e.init != "init.mp4" || !e.pdt.Equal(time.Date(2026, 11, 22, 10, 0, 1, 200e6, time.UTC)) {
		t.Errorf("part 11.1 = %+v", e)
	}
	if p := l.entries[2]; !p.part || !p.independent {
		t.Errorf("part 11.0 = %+v", p)
	}
	if s := l.entries[1]; s.part || !s.independent || s.uri != "10.m4s" || s.dur != time.Second {
		t.Errorf("segment 10 = %+v", s)
	}
	ff := "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-22T19:25:00.123+0000\nindex3.ts\n"
	l, err = parsePlaylist(strings.NewReader(ff))
	if err != nil || len(l.entries) != 1 || l.entries[0].pdt.IsZero() || l.entries[0].init != "" || l.hasParts {
		t.Fatalf("ffmpeg playlist: %+v, %v", l, err)
	}
	multi := "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS=\"avc1.4d401e,mp4a.40.2\"\nvideo/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=500\nlow.m3u8\n"
	if l, err = parsePlaylist(strings.NewReader(multi)); err != nil || l.variant != "video/index.m3u8" {
		t.Fatalf("multivariant: %+v, %v", l, err)
	}
}

func TestAttrKeepsQuotedCommas(t *testing.T) {
	list := `BANDWIDTH=1000,CODECS="avc1.4d401e,mp4a.40.2",URI="a,b.m4s",DURATION=0.2`
	for name, want := range map[string]string{"BANDWIDTH": "1000", "CODECS": `"avc1.4d401e,mp4a.40.2"`, "URI": `"a,b.m4s"`, "DURATION": "0.2", "X": ""} {
		if got := attr(list, name); got != want {
			t.Errorf("attr %s = %q, want %q", name, got, want)
		}
	}
}

func TestDecodableChainsPartsBackToTheIndependentOne(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	part := func(n int, independent bool, data string) fetched {
		return fetched{entry: entry{uri: data, init: "init", pdt: t0.Add(time.Duration(n) * 200 * time.Millisecond),
			dur: 200 * time.Millisecond, part: true, independent: independent}, data: []byte(data)}
	}
	f := &followResult{inits: map[string][]byte{"init": []byte("I")}, items: []fetched{
		part(1, false, "a"), part(5, true, "b"), part(6, false, "c"), part(7, false, "d"), part(9, false, "e"),
	}}
	for i, want := range []string{"", "Ib", "Ibc", "Ibcd", ""} {
		got, ok := decodable(f, i)
		if ok != (want != "") || string(got) != want {
			t.Errorf("item %d: %q, %v; want %q", i, got, ok, want)
		}
	}
}
