package hls

import (
	"bytes"
	"strings"
	"testing"

	"github.com/Eyevinn/hls-m3u8/m3u8"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/golden"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

func TestMultivariantGolden(t *testing.T) {
	for _, sc := range snapshots.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			got := Multivariant(sc.Snap)
			golden.Check(t, sc.Name+".m3u8", got)
			checkMultivariant(t, sc.Snap, got)
		})
	}
}

// checkMultivariant parses the playlist back and compares it with the
// snapshot it came from.
func checkMultivariant(t *testing.T, s *cmaf.Snapshot, data []byte) {
	t.Helper()
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(data), true)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if typ != m3u8.MASTER {
		t.Fatalf("playlist type = %v, want master", typ)
	}
	master := pl.(*m3u8.MasterPlaylist)
	if !master.IndependentSegments() {
		t.Error("EXT-X-INDEPENDENT-SEGMENTS missing")
	}

	var video []cmaf.Rendition
	var audio *cmaf.Rendition
	for i, r := range s.Renditions {
		switch r.Kind {
		case cmaf.Video:
			video = append(video, r)
		case cmaf.Audio:
			audio = &s.Renditions[i]
		}
	}
	if len(master.Variants) != len(video) {
		t.Fatalf("%d variants, want %d", len(master.Variants), len(video))
	}
	for i, v := range master.Variants {
		r := video[i]
		wantBW, wantAvg, wantCodecs, wantGroup := r.Bandwidth, r.AverageBandwidth, r.Codec, ""
		if audio != nil {
			wantBW += audio.Bandwidth
			wantAvg += audio.AverageBandwidth
			wantCodecs += "," + audio.Codec
			wantGroup = "audio"
		}
		if v.URI != r.ID+"/index.m3u8" {
			t.Errorf("variant %d URI = %q", i, v.URI)
		}
		if int64(v.Bandwidth) != wantBW || int64(v.AverageBandwidth) != wantAvg {
			t.Errorf("variant %s bandwidth = %d/%d, want %d/%d", r.ID, v.Bandwidth, v.AverageBandwidth, wantBW, wantAvg)
		}
		if v.Codecs != wantCodecs {
			t.Errorf("variant %s codecs = %q, want %q", r.ID, v.Codecs, wantCodecs)
		}
		if v.Audio != wantGroup {
			t.Errorf("variant %s audio group = %q, want %q", r.ID, v.Audio, wantGroup)
		}
		if v.Resolution != "1280x720" && v.Resolution != "640x360" {
			t.Errorf("variant %s resolution = %q", r.ID, v.Resolution)
		}
		if d := v.FrameRate - r.FrameRate; d > 0.0005 || d < -0.0005 {
			t.Errorf("variant %s frame rate = %v, want %v", r.ID, v.FrameRate, r.FrameRate)
		}
		if audio == nil {
			if len(v.Alternatives) != 0 {
				t.Errorf("variant %s has %d alternatives without audio", r.ID, len(v.Alternatives))
			}
			continue
		}
		if len(v.Alternatives) != 1 {
			t.Fatalf("variant %s has %d alternatives, want 1", r.ID, len(v.Alternatives))
		}
		alt := v.Alternatives[0]
		if alt.Type != "AUDIO" || alt.GroupId != "audio" || alt.URI != "audio/index.m3u8" ||
			!alt.Default || !alt.Autoselect || alt.Channels == nil || alt.Channels.Amount != 2 {
			t.Errorf("audio alternative = %+v", alt)
		}
	}
}

func TestMultivariantEmpty(t *testing.T) {
	const header = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
	for name, s := range map[string]*cmaf.Snapshot{"nil": nil, "empty": {}} {
		if got := string(Multivariant(s)); got != header {
			t.Errorf("%s: got %q, want %q", name, got, header)
		}
	}
}

// A snapshot with only audio still gives players a variant to pick.
func TestMultivariantAudioOnly(t *testing.T) {
	s := snapshots.SingleRun(false)
	s.Renditions = s.Renditions[2:]
	got := string(Multivariant(s))
	want := "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=131000,AVERAGE-BANDWIDTH=128000,CODECS=\"mp4a.40.2\"\n" +
		"audio/index.m3u8\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Renditions IDs are escaped in URIs and cannot break a quoted string.
func TestMultivariantEscaping(t *testing.T) {
	s := snapshots.SingleRun(false)
	s.Renditions[2].ID = `a"b c`
	got := string(Multivariant(s))
	if !strings.Contains(got, `NAME="ab c"`) || !strings.Contains(got, `URI="a%22b%20c/index.m3u8"`) {
		t.Errorf("unsafe rendition ID not escaped:\n%s", got)
	}
	if _, _, err := m3u8.DecodeFrom(strings.NewReader(got), true); err != nil {
		t.Errorf("decode: %v", err)
	}
}

func TestMuxedMultivariantGolden(t *testing.T) {
	got := MuxedMultivariant(lowLatencySnapshot())
	golden.Check(t, "ll-muxed.m3u8", got)
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(got), true)
	if err != nil || typ != m3u8.MASTER {
		t.Fatalf("not a multivariant playlist: %v\n%s", err, got)
	}
	mv := pl.(*m3u8.MasterPlaylist)
	if len(mv.Variants) != 1 || mv.Variants[0].URI != "360p/av.m3u8" || mv.Variants[0].Audio != "" ||
		mv.Variants[0].Codecs != "avc1.64001e,mp4a.40.2" {
		t.Errorf("variants: %+v", mv.Variants)
	}
	if strings.Contains(string(got), "#EXT-X-MEDIA") {
		t.Error("a muxed multivariant playlist lists an audio group")
	}
	// Without audio, the variants are the video renditions' own.
	if got := MuxedMultivariant(snapshots.NoAudio()); !bytes.Equal(got, Multivariant(snapshots.NoAudio())) {
		t.Errorf("without audio:\n%s", got)
	}
}

func TestMultivariantLeavesSilentAudioOut(t *testing.T) {
	s := lowLatencySnapshot()
	s.Runs[0].Silent = true
	for name, got := range map[string][]byte{"standard": Multivariant(s), "muxed": MuxedMultivariant(s)} {
		if strings.Contains(string(got), "mp4a") || strings.Contains(string(got), "#EXT-X-MEDIA") {
			t.Errorf("%s: a run whose source has no audio lists audio:\n%s", name, got)
		}
	}
	// Its muxed playlist lists the video's own parts, whatever the audio's.
	body, err := LowLatencyMedia(s, "360p", LowLatencyOptions{Audio: "audio"})
	if err != nil || !strings.Contains(string(body), `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="av-113.2.m4s"`) {
		t.Errorf("muxed playlist of a silent run: %v\n%s", err, body)
	}
}
