package main

import (
	"slices"
	"testing"
)

func TestMediaPlaylists(t *testing.T) {
	mv := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=258355,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=205171,CODECS="avc1.42c00c,mp4a.40.2",RESOLUTION=320x180,AUDIO="audio"
180p/index.m3u8
`
	want := []string{"audio/index.m3u8", "360p/index.m3u8", "180p/index.m3u8"}
	if got := mediaPlaylists(mv); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSegmentsAfterRestart(t *testing.T) {
	media := `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MAP:URI="init-1.mp4"
#EXTINF:2.000,
41.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-2.mp4"
#EXTINF:2.000,
42.m4s
`
	if got := segments(media); !slices.Equal(got, []string{"41.m4s", "42.m4s"}) {
		t.Fatalf("got %v", got)
	}
}
