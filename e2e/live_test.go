package e2e

import (
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// testStack is a looped file on the small, fast test ladder.
func testStack(name, file string) string {
	return fmt.Sprintf(`name: %[1]s
inputs:
  - name: %[1]s-file
    type: FILE
    url: %[2]s
channels:
  - name: %[1]s
    autoStart: true
    inputAttachments:
      - input: %[1]s-file
        sourceEndBehavior: LOOP
    encoder:
      ladder: test-360p
      preset: ultrafast
`, name, file)
}

func TestLiveChannel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 7)
	s := startServer(t, t.TempDir())
	stackFile := writeStack(t, dir, "live.yaml", testStack("live", sample))

	out, err := s.cli("apply", "-f", stackFile)
	if err != nil || !strings.Contains(out, "+ input live-file") || !strings.Contains(out, "+ channel live") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, err = s.cli("apply", "-f", stackFile)
	if err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("a second apply must change nothing and say so: %v\n%s", err, out)
	}
	s.waitState("live", resource.StateRunning, 90*time.Second)

	t.Run("multivariant lists every rung", func(t *testing.T) {
		mv := s.multivariant("/live/live/hls/index.m3u8")
		want := map[string]string{"360p/index.m3u8": "640x360", "180p/index.m3u8": "320x180"}
		if len(mv.Variants) != len(want) {
			t.Fatalf("%d variants, want %d", len(mv.Variants), len(want))
		}
		for _, v := range mv.Variants {
			if want[v.URI] != v.Resolution || v.Bandwidth == 0 || v.AverageBandwidth == 0 ||
				!strings.Contains(v.Codecs, "avc1.") || !strings.Contains(v.Codecs, "mp4a.40.2") || v.FrameRate != 25 || v.Audio != "audio" {
				t.Errorf("variant %+v", v.VariantParams)
			}
		}
	})

	renditions := []string{"360p", "180p", "audio"}
	t.Run("media playlists advance", func(t *testing.T) {
		first := map[string]uint64{}
		for _, r := range renditions {
			pl, body, ok := s.media("/live/live/hls/" + r + "/index.m3u8")
			if !ok {
				t.Fatalf("%s has no playlist", r)
			}
			for _, tag := range []string{"#EXT-X-MAP:", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-INDEPENDENT-SEGMENTS"} {
				if !strings.Contains(string(body), tag) {
					t.Errorf("%s lacks %s", r, tag)
				}
			}
			segs := segmentsOf(pl)
			first[r] = segs[len(segs)-1].SeqId
		}
		for _, r := range renditions {
			poll.Until(t, r+" playlist advances", 30*time.Second, func() (bool, string) {
				pl, _, _ := s.media("/live/live/hls/" + r + "/index.m3u8")
				segs := segmentsOf(pl)
				last := segs[len(segs)-1].SeqId
				return last >= first[r]+2, fmt.Sprintf("last segment %d, was %d", last, first[r])
			})
		}
	})

	t.Run("segments decode, start with an IDR and align", func(t *testing.T) {
		pls := map[string][]string{}
		var common uint64
		for _, r := range renditions {
			pl, _, _ := s.media("/live/live/hls/" + r + "/index.m3u8")
			segs := segmentsOf(pl)
			if common == 0 || segs[len(segs)-1].SeqId < common {
				common = segs[len(segs)-1].SeqId
			}
			_ = pls
		}
		starts := map[string]float64{}
		for _, r := range renditions {
			p := "/live/live/hls/" + r + "/index.m3u8"
			pl, _, _ := s.media(p)
			for _, seg := range segmentsOf(pl) {
				if seg.SeqId < common-1 || seg.SeqId > common {
					continue
				}
				file, data := s.segmentFile(t.TempDir(), p, seg)
				_, _, init := s.get(path.Join(path.Dir(p), seg.Map.URI))
				ticks, ts := tfdt(t, init, data)
				if seg.SeqId == common {
					starts[r] = float64(ticks) / float64(ts)
				}
				if r == "audio" {
					continue
				}
				probe := ffprobeJSON(t, "-select_streams", "v:0", "-show_entries", "stream=width,height:frame=key_frame,pict_type", "-read_intervals", "%+#1", file)
				st := probe["streams"].([]any)[0].(map[string]any)
				size := fmt.Sprintf("%vx%v", st["width"], st["height"])
				if want := map[string]string{"360p": "640x360", "180p": "320x180"}[r]; size != want {
					t.Errorf("%s segment %d decodes at %s, want %s", r, seg.SeqId, size, want)
				}
				frames := probe["frames"].([]any)
				if len(frames) == 0 {
					t.Fatalf("%s segment %d: no frame decoded", r, seg.SeqId)
				}
				fr := frames[0].(map[string]any)
				if fr["key_frame"] != float64(1) || fr["pict_type"] != "I" {
					t.Errorf("%s segment %d starts with %v, want an IDR", r, seg.SeqId, fr)
				}
			}
		}
		if starts["360p"] != starts["180p"] {
			t.Errorf("segment %d starts at %.6f s in 360p and %.6f s in 180p", common, starts["360p"], starts["180p"])
		}
		if d := starts["audio"] - starts["360p"]; d < -0.03 || d > 0.03 {
			t.Errorf("segment %d: audio starts %.3f s away from video", common, d)
		}
	})

	t.Run("DASH manifest parses and plays in ffprobe", func(t *testing.T) {
		code, hdr, body := s.get("/live/live/dash/manifest.mpd")
		if code != 200 || hdr.Get("Content-Type") != "application/dash+xml" {
			t.Fatalf("MPD: %d %s", code, hdr.Get("Content-Type"))
		}
		m, err := mpd.ReadFromString(string(body))
		if err != nil {
			t.Fatalf("MPD does not parse: %v\n%s", err, body)
		}
		if m.Type == nil || *m.Type != "dynamic" || m.AvailabilityStartTime == "" || m.TimeShiftBufferDepth == nil || len(m.UTCTimings) == 0 {
			t.Errorf("MPD lacks live attributes: %s", body)
		}
		if len(m.Periods) == 0 || len(m.Periods[0].AdaptationSets) != 2 {
			t.Fatalf("MPD periods: %s", body)
		}
		video := m.Periods[0].AdaptationSets[0]
		if len(video.Representations) != 2 || video.Representations[0].SegmentTemplate == nil || video.Representations[0].SegmentTemplate.SegmentTimeline == nil {
			t.Errorf("video adaptation set: %s", body)
		}
		probe := ffprobeJSON(t, "-show_entries", "stream=codec_type,width,height", s.url("/live/live/dash/manifest.mpd"))
		kinds := map[string]int{}
		for _, st := range probe["streams"].([]any) {
			kinds[st.(map[string]any)["codec_type"].(string)]++
		}
		if kinds["video"] != 2 || kinds["audio"] != 1 {
			t.Errorf("ffprobe sees %v in the MPD", kinds)
		}
	})

	t.Run("plan and CLI views", func(t *testing.T) {
		out, err := s.cli("plan", "-f", stackFile)
		if err != nil || !strings.Contains(out, "No changes") {
			t.Errorf("plan: %v\n%s", err, out)
		}
		out, err = s.cli("channel", "list")
		if err != nil || !strings.Contains(out, "live") || !strings.Contains(out, "RUNNING") {
			t.Errorf("channel list: %v\n%s", err, out)
		}
		out, err = s.cli("channel", "get", "live")
		if err != nil || !strings.Contains(out, "/live/live/hls/index.m3u8") || !strings.Contains(out, "speed") {
			t.Errorf("channel get: %v\n%s", err, out)
		}
		out, err = s.cli("input", "get", "live-file")
		if err != nil || !strings.Contains(out, "ATTACHED") {
			t.Errorf("input get: %v\n%s", err, out)
		}
		out, err = s.cli("channel", "history", "live")
		if err != nil || !strings.Contains(out, "autoStart") || !strings.Contains(out, "RUNNING") {
			t.Errorf("channel history: %v\n%s", err, out)
		}
	})

	t.Run("stop, start and destroy", func(t *testing.T) {
		out, err := s.cli("channel", "stop", "live", "--wait")
		if err != nil || !strings.Contains(out, "IDLE") {
			t.Fatalf("stop: %v\n%s", err, out)
		}
		_, _, body := s.get("/live/live/hls/360p/index.m3u8")
		if !strings.Contains(string(body), "#EXT-X-ENDLIST") {
			t.Errorf("a stopped channel's playlist must end:\n%s", body)
		}
		out, err = s.cli("channel", "start", "live", "--wait")
		if err != nil || !strings.Contains(out, "RUNNING") {
			t.Fatalf("start: %v\n%s", err, out)
		}
		_, _, body = s.get("/live/live/hls/360p/index.m3u8")
		if strings.Contains(string(body), "#EXT-X-ENDLIST") || !strings.Contains(string(body), "#EXT-X-DISCONTINUITY\n") {
			t.Errorf("a restarted channel continues after a discontinuity:\n%s", body)
		}
		out, err = s.cli("destroy", "-f", stackFile)
		if err != nil || !strings.Contains(out, "- channel live") || !strings.Contains(out, "- input live-file") {
			t.Fatalf("destroy: %v\n%s", err, out)
		}
		if code, _, _ := s.get("/api/v1/channels/live"); code != 404 {
			t.Errorf("destroyed channel answers %d", code)
		}
		if code, _, _ := s.get("/live/live/hls/index.m3u8"); code != 404 {
			t.Errorf("destroyed channel's playlist answers %d", code)
		}
	})
}
