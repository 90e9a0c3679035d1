package origin

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// muxedTimeline is a low-latency timeline of a video rendition and the
// audio, fed 3.5 s of media as the encoder makes it.
func muxedTimeline(t *testing.T) (*cmaf.Timeline, *cmaf.Feed) {
	t.Helper()
	return muxedTimelineWith(t, false)
}

// muxedTimelineWith is muxedTimeline whose run's audio is silent or not.
func muxedTimelineWith(t *testing.T, silent bool) (*cmaf.Timeline, *cmaf.Feed) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"360p": filepath.Join(dir, "360p.mp4"), "audio": filepath.Join(dir, "audio.mp4")}
	media.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-t", "3.5", "-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", "200k",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*1)",
		"-video_track_timescale", "90000",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "200000", files["360p"],
		"-map", "1:a", "-t", "3.5", "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-ac", "2",
		"-f", "mp4", "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "200000", files["audio"])
	tl, err := cmaf.NewTimeline(cmaf.Config{
		SegmentDuration: time.Second, PartDuration: 200 * time.Millisecond, Window: 30 * time.Second,
		AvailabilityStart: time.Now().Add(-time.Minute),
		Renditions: []cmaf.RenditionConfig{
			{ID: "360p", Kind: cmaf.Video, Bitrate: 200000, MaxBitrate: 240000, FrameRate: 25},
			{ID: "audio", Kind: cmaf.Audio, Bitrate: 64000, MaxBitrate: 64000},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	feed := tl.StartRun()
	feed.SetSilent(silent)
	fragmented.Ingest(t, feed, files)
	return tl, feed
}

func fetchURL(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u) //nolint:gosec // the test's own server
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestLowLatencyHLSServesMuxedVariants(t *testing.T) {
	t.Parallel()
	tl, feed := muxedTimeline(t)
	srv := newLowLatencyOrigin(t, tl, nil)
	base := srv.URL + "/live/news/ll/"

	code, body := fetchURL(t, base+"index.m3u8")
	if code != 200 || !strings.Contains(string(body), "360p/av.m3u8") || strings.Contains(string(body), "#EXT-X-MEDIA") ||
		!strings.Contains(string(body), `CODECS="avc1.`) || !strings.Contains(string(body), `,mp4a.40.2"`) {
		t.Fatalf("LL-HLS multivariant: %d\n%s", code, body)
	}
	// A standard HLS endpoint of the same channel keeps its audio group.
	if _, body := fetchURL(t, srv.URL+"/live/news/hls/index.m3u8"); !strings.Contains(string(body), "#EXT-X-MEDIA:TYPE=AUDIO") {
		t.Errorf("HLS multivariant:\n%s", body)
	}

	code, body = fetchURL(t, base+"360p/av.m3u8")
	if code != 200 || !strings.Contains(string(body), `#EXT-X-MAP:URI="av-init-`) || !strings.Contains(string(body), `#EXT-X-PART:DURATION=0.200,URI="av-`) {
		t.Fatalf("muxed playlist: %d\n%s", code, body)
	}

	code, init := fetchURL(t, base+"360p/av-init-"+itoa(feed.ID())+".mp4")
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if code != 200 || err != nil || len(f.Init.Moov.Traks) != 2 {
		t.Fatalf("muxed init: %d %v", code, err)
	}
	snap := tl.Snapshot(time.Minute)
	seg := snap.Renditions[0].Segments[0]
	for k := range seg.Parts {
		want, _ := tl.MuxedPart("360p", "audio", seg.Number, k)
		code, got := fetchURL(t, base+"360p/av-"+itoa(seg.Number)+"."+itoa(uint64(k))+".m4s")
		if code != 200 || !bytes.Equal(got, want.Data) {
			t.Errorf("muxed part %d.%d: %d, %d bytes, want %d", seg.Number, k, code, len(got), len(want.Data))
		}
	}
	want, _ := tl.MuxedSegment("360p", "audio", seg.Number)
	if code, got := fetchURL(t, base+"360p/av-"+itoa(seg.Number)+".m4s"); code != 200 || !bytes.Equal(got, want) {
		t.Errorf("muxed segment: %d, %d bytes", code, len(got))
	}
	// The audio rendition has no muxed media; the renditions' own
	// playlists are still served.
	if code, _ := fetchURL(t, base+"audio/av.m3u8"); code != 404 {
		t.Errorf("audio/av.m3u8: %d", code)
	}
	if code, _ := fetchURL(t, base+"360p/index.m3u8"); code != 200 {
		t.Errorf("360p/index.m3u8: %d", code)
	}
}

func TestLowLatencyHLSLeavesSilentAudioOut(t *testing.T) {
	t.Parallel()
	tl, feed := muxedTimelineWith(t, true)
	srv := newLowLatencyOrigin(t, tl, nil)
	base := srv.URL + "/live/news/ll/"
	if _, body := fetchURL(t, base+"index.m3u8"); strings.Contains(string(body), "mp4a") || !strings.Contains(string(body), "360p/av.m3u8") {
		t.Errorf("multivariant of a run without audio:\n%s", body)
	}
	code, init := fetchURL(t, base+"360p/av-init-"+itoa(feed.ID())+".mp4")
	if f, err := mp4.DecodeFile(bytes.NewReader(init)); code != 200 || err != nil || len(f.Init.Moov.Traks) != 1 {
		t.Errorf("muxed init of a run without audio: %d %v", code, err)
	}
	seg := tl.Snapshot(time.Minute).Renditions[0].Segments[0]
	own, _ := tl.Part("360p", seg.Number, 1)
	if code, got := fetchURL(t, base+"360p/av-"+itoa(seg.Number)+".1.m4s"); code != 200 || !bytes.Equal(got, own.Data) {
		t.Errorf("muxed part of a run without audio: %d, %d bytes, want the video part's %d", code, len(got), len(own.Data))
	}
}
