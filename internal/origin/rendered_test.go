package origin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/hls"
)

// TestRenderedManifestsFollowTheTimeline checks that manifests served from
// the rendering kept per timeline version change with every new segment and
// always equal a fresh rendering of the timeline.
func TestRenderedManifestsFollowTheTimeline(t *testing.T) {
	p := newPacedFeed(t, "4")
	srv := newLowLatencyOrigin(t, p.tl, nil)
	p.until("the first segment", func() bool { return p.tl.Produced() >= 1 })
	var last []byte
	for want := int64(2); want <= 3; want++ {
		_, before := fetch(t, srv, "GET", "/live/news/hls/360p/index.m3u8")
		_, again := fetch(t, srv, "GET", "/live/news/hls/360p/index.m3u8")
		if !bytes.Equal(before, again) {
			t.Fatalf("two requests without a change differ:\n%s\n%s", before, again)
		}
		p.until("a new segment", func() bool { return p.tl.Produced() >= want })
		resp, after := fetch(t, srv, "GET", "/live/news/hls/360p/index.m3u8")
		fresh, err := hls.MediaWith(p.tl.Snapshot(30*time.Second), "360p", hls.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(after, fresh) {
			t.Fatalf("after segment %d the playlist is not the timeline's:\n%s\nwant\n%s", want, after, fresh)
		}
		if bytes.Equal(after, before) || resp.Header.Get("ETag") != etagOf(fresh) {
			t.Fatalf("after segment %d the playlist did not change (ETag %s)", want, resp.Header.Get("ETag"))
		}
		last = after
	}
	_, mv := fetch(t, srv, "GET", "/live/news/hls/index.m3u8")
	if !bytes.Equal(mv, hls.Multivariant(p.tl.Snapshot(30*time.Second))) {
		t.Errorf("multivariant playlist differs from a fresh rendering:\n%s", mv)
	}
	_, withToken := fetch(t, srv, "GET", "/live/news/hls/index.m3u8?token=abc")
	if !strings.Contains(string(withToken), "index.m3u8?token=abc") {
		t.Errorf("a query still reaches the playlist URIs:\n%s", withToken)
	}
	if !strings.Contains(string(last), "#EXTINF") {
		t.Errorf("no segments in\n%s", last)
	}
}
