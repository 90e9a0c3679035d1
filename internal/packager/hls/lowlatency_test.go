package hls

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/hls-m3u8/m3u8"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/golden"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

// lowLatencySnapshot is one run of twelve complete 1 s segments (100-111)
// of five 200 ms parts, then at the live edge: for video, segment 112
// complete in this rendition only and segment 113 with two parts written;
// for audio, segment 112 with one part written.
func lowLatencySnapshot() *cmaf.Snapshot {
	run := cmaf.Run{ID: 5, Start: 100 * time.Second, Discontinuity: 2}
	vparts := func(n int) []cmaf.PartInfo {
		ps := make([]cmaf.PartInfo, n)
		for i := range ps {
			ps[i] = cmaf.PartInfo{Duration: snapshots.VideoScale / 5, Independent: i == 0}
		}
		return ps
	}
	aparts := func(n int) []cmaf.PartInfo {
		ps := make([]cmaf.PartInfo, n)
		for i := range ps {
			ps[i] = cmaf.PartInfo{Duration: 9 * snapshots.AACFrame, Independent: true}
		}
		return ps
	}
	var v, a []cmaf.SegmentInfo
	for i := range 12 {
		n := uint64(100 + i)
		v = append(v, cmaf.SegmentInfo{Number: n, Run: run.ID, Discontinuity: 2, Start: (100 + uint64(i)) * snapshots.VideoScale, Duration: snapshots.VideoScale, Size: 40000, Parts: vparts(5)})
		a = append(a, cmaf.SegmentInfo{Number: n, Run: run.ID, Discontinuity: 2, Start: (100 + uint64(i)) * snapshots.AudioScale, Duration: 45 * snapshots.AACFrame / 1, Size: 8000, Parts: aparts(5)})
	}
	vedge := []cmaf.SegmentInfo{
		{Number: 112, Run: run.ID, Discontinuity: 2, Start: 112 * snapshots.VideoScale, Duration: snapshots.VideoScale, Size: 40000, Parts: vparts(5)},
		{Number: 113, Run: run.ID, Discontinuity: 2, Start: 113 * snapshots.VideoScale, Duration: 2 * snapshots.VideoScale / 5, Size: 15000, Parts: vparts(2), Partial: true},
	}
	aedge := []cmaf.SegmentInfo{
		{Number: 112, Run: run.ID, Discontinuity: 2, Start: 112 * snapshots.AudioScale, Duration: 9 * snapshots.AACFrame, Size: 1600, Parts: aparts(1), Partial: true},
	}
	return &cmaf.Snapshot{
		AvailabilityStart: snapshots.AvailabilityStart(),
		SegmentDuration:   time.Second,
		PartDuration:      200 * time.Millisecond,
		Window:            60 * time.Second,
		Runs:              []cmaf.Run{run},
		Renditions: []cmaf.Rendition{
			{ID: "360p", Kind: cmaf.Video, Codec: "avc1.64001e", Width: 640, Height: 360, Timescale: snapshots.VideoScale, Segments: v, Edge: vedge},
			{ID: "audio", Kind: cmaf.Audio, Codec: "mp4a.40.2", SampleRate: snapshots.AudioScale, Channels: 2, Timescale: snapshots.AudioScale, Segments: a, Edge: aedge},
		},
	}
}

func TestLowLatencyMediaGolden(t *testing.T) {
	t.Parallel()
	snap := lowLatencySnapshot()
	for _, c := range []struct {
		name      string
		rendition string
		skip      bool
		audio     string
	}{
		{"ll-360p", "360p", false, ""},
		{"ll-audio", "audio", false, ""},
		{"ll-360p-skip", "360p", true, ""},
		// Muxed with the audio: the edge stops at the part both have.
		{"ll-360p-muxed", "360p", false, "audio"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := LowLatencyMedia(snap, c.rendition, LowLatencyOptions{Skip: c.skip, Audio: c.audio})
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, c.name+".m3u8", got)
			checkLowLatency(t, snap, c.rendition, c.skip, c.audio, got)
		})
	}
}

// checkLowLatency parses the playlist with an LL-HLS aware parser and checks
// what players rely on.
func checkLowLatency(t *testing.T, s *cmaf.Snapshot, rendition string, skip bool, audio string, data []byte) {
	t.Helper()
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(data), true)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if typ != m3u8.MEDIA {
		t.Fatalf("playlist type = %v, want media", typ)
	}
	media := pl.(*m3u8.MediaPlaylist)
	r := findRendition(s, rendition)
	nm := names{}
	if audio != "" {
		m, _ := s.Muxed(rendition, audio)
		r, nm = &m, names{prefix: muxedPrefix}
	}
	wantTarget := 0.2
	if r.Kind == cmaf.Audio {
		wantTarget = 0.222 // a part may last an AAC frame longer than the grid step
	}
	if media.PartTargetDuration != wantTarget {
		t.Errorf("PART-TARGET = %v, want %v", media.PartTargetDuration, wantTarget)
	}
	sc := media.ServerControl
	if sc == nil || !sc.CanBlockReload || sc.PartHoldBack < 2*media.PartTargetDuration || sc.CanSkipUntil < 6*float64(media.TargetDuration) {
		t.Errorf("server control %+v does not allow blocking reload with a hold back of at least two parts and skips of six targets", sc)
	}
	if media.PreloadHints == nil || media.PreloadHints.Type != "PART" {
		t.Fatalf("no part preload hint: %+v", media.PreloadHints)
	}
	msn, part, _ := LastPart(r)
	wantHint := nm.part(msn, part+1)
	if last := r.Edge[len(r.Edge)-1]; !last.Partial {
		wantHint = nm.part(last.Number+1, 0)
	}
	if media.PreloadHints.URI != wantHint {
		t.Errorf("preload hint %q, want %q", media.PreloadHints.URI, wantHint)
	}
	complete := len(r.Segments)
	for _, e := range r.Edge {
		if !e.Partial {
			complete++
		}
	}
	if skip {
		if media.SkippedSegments() == 0 {
			t.Fatal("a delta update skipped nothing")
		}
		complete -= int(media.SkippedSegments()) //nolint:gosec // a handful of segments
	}
	if got := len(media.GetAllSegments()); got != complete {
		t.Errorf("%d complete segments listed, want %d", got, complete)
	}
	for _, p := range media.PartialSegments {
		if p.Duration > media.PartTargetDuration {
			t.Errorf("part %s lasts %v, more than the part target", p.URI, p.Duration)
		}
	}
	if audio == "" && !strings.Contains(string(data), `#EXT-X-RENDITION-REPORT:URI="../`) {
		t.Error("no rendition report")
	}
}

func TestLowLatencyMediaEnded(t *testing.T) {
	t.Parallel()
	snap := lowLatencySnapshot()
	snap.Ended = true
	got, err := LowLatencyMedia(snap, "360p", LowLatencyOptions{Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	text := string(got)
	for _, tag := range []string{"#EXT-X-PRELOAD-HINT", "#EXT-X-SERVER-CONTROL", "#EXT-X-SKIP", "#EXT-X-RENDITION-REPORT"} {
		if strings.Contains(text, tag) {
			t.Errorf("an ended playlist carries %s", tag)
		}
	}
	if !strings.HasSuffix(text, "#EXT-X-ENDLIST\n") {
		t.Error("an ended playlist lacks EXT-X-ENDLIST")
	}
}

func TestLowLatencyMediaRefusesBrokenSnapshots(t *testing.T) {
	t.Parallel()
	snap := lowLatencySnapshot()
	snap.Renditions[0].Edge[0].Number = 120
	if _, err := LowLatencyMedia(snap, "360p", LowLatencyOptions{}); !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("a gap between the rows and the edge: err = %v, want ErrInvalidSnapshot", err)
	}
	snap = lowLatencySnapshot()
	snap.PartDuration = 0
	if _, err := LowLatencyMedia(snap, "360p", LowLatencyOptions{}); !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("no part duration: err = %v, want ErrInvalidSnapshot", err)
	}
	if _, err := LowLatencyMedia(snap, "720p", LowLatencyOptions{}); !errors.Is(err, ErrUnknownRendition) {
		t.Errorf("unknown rendition: err = %v", err)
	}
}

func TestParseDirectives(t *testing.T) {
	t.Parallel()
	good := map[string]Directives{
		"":                                 {},
		"_HLS_msn=12":                      {MSN: 12, HasMSN: true},
		"_HLS_msn=12&_HLS_part=3":          {MSN: 12, HasMSN: true, Part: 3, HasPart: true},
		"_HLS_msn=12&_HLS_skip=YES":        {MSN: 12, HasMSN: true, Skip: true},
		"_HLS_skip=v2&token=abc":           {Skip: true},
		"_HLS_part=0&_HLS_msn=1":           {MSN: 1, HasMSN: true, HasPart: true},
		"Expires=1&Signature=x&_HLS_msn=0": {HasMSN: true},
	}
	for q, want := range good {
		got, err := ParseDirectives(q)
		if err != nil || got != want {
			t.Errorf("ParseDirectives(%q) = %+v, %v; want %+v", q, got, err, want)
		}
	}
	for _, q := range []string{
		"_HLS_msn=-1", "_HLS_msn=x", "_HLS_msn=", "_HLS_msn=99999999999999999999", "_HLS_msn=1&_HLS_msn=2",
		"_HLS_part=1", "_HLS_msn=1&_HLS_part=-1", "_HLS_msn=1&_HLS_part=+1", "_HLS_msn=1&_HLS_part=1000000",
		"_HLS_skip=yes", "_HLS_skip=", "_HLS_msn=%zz",
	} {
		if _, err := ParseDirectives(q); !errors.Is(err, ErrBadDirective) {
			t.Errorf("ParseDirectives(%q) err = %v, want ErrBadDirective", q, err)
		}
	}
}

func FuzzParseDirectives(f *testing.F) {
	for _, q := range []string{"_HLS_msn=12&_HLS_part=3", "_HLS_skip=YES", "_HLS_msn=1&_HLS_msn=2", "_HLS_part=%", "a=b;c"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		d, err := ParseDirectives(q)
		if err != nil {
			if !errors.Is(err, ErrBadDirective) {
				t.Fatalf("error %v is not ErrBadDirective", err)
			}
			return
		}
		if d.HasPart && !d.HasMSN {
			t.Fatal("a part without a segment number was accepted")
		}
		if d.Part < 0 || d.Part > maxPartIndex {
			t.Fatalf("part %d out of range", d.Part)
		}
	})
}
