package cmaf

import (
	"bytes"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/sluice-video/sluice/internal/testutil/fragmented"
)

func TestMuxedCount(t *testing.T) {
	for _, tc := range []struct {
		vParts       int
		vDone        bool
		aParts       int
		aDone        bool
		want         int
		wantComplete bool
	}{
		{3, false, 3, false, 3, false},
		{3, false, 2, false, 2, false},
		{2, false, 3, false, 2, false},
		{5, true, 5, false, 4, false}, // the last part waits for the audio's end
		{5, true, 4, false, 4, false},
		{5, true, 5, true, 5, true},
		{6, true, 5, true, 6, true}, // 24 fps video cuts one more part: it has no audio of its own
		{2, false, 5, true, 2, false},
		{0, false, 0, false, 0, false},
	} {
		n, complete := muxedCount(tc.vParts, tc.vDone, tc.aParts, tc.aDone)
		if n != tc.want || complete != tc.wantComplete {
			t.Errorf("muxedCount(%d %v, %d %v) = %d %v, want %d %v", tc.vParts, tc.vDone, tc.aParts, tc.aDone, n, complete, tc.want, tc.wantComplete)
		}
	}
	if from, to := muxedAudio(4, 5, true, 5); from != 4 || to != 5 {
		t.Errorf("the last part's audio: %d–%d", from, to)
	}
	if from, to := muxedAudio(5, 6, true, 5); from != 5 || to != 5 {
		t.Errorf("a part beyond the audio's: %d–%d", from, to)
	}
}

// samplesByTrack decodes an init segment followed by fragments and counts
// the samples of each track.
func samplesByTrack(t *testing.T, init []byte, frags ...[]byte) map[uint32]int {
	t.Helper()
	data := append([]byte(nil), init...)
	for _, f := range frags {
		data = append(data, f...)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32]int{}
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			for _, traf := range frag.Moof.Trafs {
				for _, trun := range traf.Truns {
					out[traf.Tfhd.TrackID] += int(trun.SampleCount())
				}
			}
		}
	}
	return out
}

func TestMuxedPartsCarryTheVideoAndItsAudio(t *testing.T) {
	t.Parallel()
	files := encodeLowLatency(t, "3.5")
	tl := newPartTimeline(t, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	feed := tl.StartRun()
	fragmented.Ingest(t, feed, files)

	vinit, _ := tl.Init("360p", feed.ID())
	ainit, _ := tl.Init("audio", feed.ID())
	init, err := MuxInit(vinit, ainit)
	if err != nil {
		t.Fatal(err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil || len(f.Init.Moov.Traks) != 2 || len(f.Init.Moov.Mvex.Trexs) != 2 ||
		f.Init.Moov.Traks[0].Tkhd.TrackID != VideoTrackID || f.Init.Moov.Traks[1].Tkhd.TrackID != AudioTrackID {
		t.Fatalf("muxed init: %v", err)
	}

	snap := tl.Snapshot(time.Minute)
	video, audio := snap.Renditions[0], snap.Renditions[1]
	if len(video.Segments) < 2 {
		t.Fatalf("%d complete segments", len(video.Segments))
	}
	for i, seg := range video.Segments {
		if len(seg.Parts) != len(audio.Segments[i].Parts) {
			t.Errorf("segment %d: %d video parts, %d audio parts: the audio is not cut on the video's grid", seg.Number, len(seg.Parts), len(audio.Segments[i].Parts))
		}
		vs, _ := tl.Segment("360p", seg.Number)
		as, _ := tl.Segment("audio", seg.Number)
		want := samplesByTrack(t, init, vs.Data, as.Data)
		var parts [][]byte
		for k := range seg.Parts {
			p, ok := tl.MuxedPart("360p", "audio", seg.Number, k)
			if !ok || !p.Complete {
				t.Fatalf("muxed part %d.%d missing", seg.Number, k)
			}
			parts = append(parts, p.Data)
		}
		if got := samplesByTrack(t, init, parts...); got[VideoTrackID] != want[VideoTrackID] || got[AudioTrackID] != want[AudioTrackID] || want[AudioTrackID] == 0 {
			t.Errorf("segment %d: muxed parts carry %v samples, the segments %v", seg.Number, got, want)
		}
		whole, ok := tl.MuxedSegment("360p", "audio", seg.Number)
		if !ok || !bytes.Equal(whole, append(append([]byte(nil), vs.Data...), withoutStyp(as.Data)...)) {
			t.Errorf("segment %d: the muxed segment is not the video's then the audio's", seg.Number)
		}
	}
	if _, ok := tl.MuxedPart("360p", "audio", video.Segments[0].Number, 99); ok {
		t.Error("a muxed part that does not exist")
	}
	// The edge: the stream ended mid-segment; the muxed position is the
	// last segment both renditions began, with the parts both ended.
	num, parts, complete, ok := tl.MuxedEdgePosition("360p", "audio")
	vn, vp, _, _ := tl.EdgePosition("360p")
	if !ok || complete || num != vn || parts > vp {
		t.Errorf("MuxedEdgePosition = %d %d %v %v; video at %d %d", num, parts, complete, ok, vn, vp)
	}
}
