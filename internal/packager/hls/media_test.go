package hls

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/hls-m3u8/m3u8"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/golden"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

func TestMediaGolden(t *testing.T) {
	for _, sc := range snapshots.Scenarios() {
		for _, r := range sc.Snap.Renditions {
			t.Run(sc.Name+"/"+r.ID, func(t *testing.T) {
				got, err := Media(sc.Snap, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				golden.Check(t, sc.Name+"-"+r.ID+".m3u8", got)
				checkMedia(t, sc.Snap, r, got)
			})
		}
	}
}

// checkMedia parses the playlist back and compares it with the rendition
// it came from.
func checkMedia(t *testing.T, s *cmaf.Snapshot, r cmaf.Rendition, data []byte) {
	t.Helper()
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(data), true)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if typ != m3u8.MEDIA {
		t.Fatalf("playlist type = %v, want media", typ)
	}
	media := pl.(*m3u8.MediaPlaylist)
	segs := media.GetAllSegments()
	if len(segs) != len(r.Segments) {
		t.Fatalf("%d segments, want %d", len(segs), len(r.Segments))
	}
	first := r.Segments[0]
	if media.SeqNo != first.Number {
		t.Errorf("media sequence = %d, want %d", media.SeqNo, first.Number)
	}
	if media.DiscontinuitySeq != first.Discontinuity {
		t.Errorf("discontinuity sequence = %d, want %d", media.DiscontinuitySeq, first.Discontinuity)
	}
	if media.Closed != s.Ended {
		t.Errorf("closed = %v, want %v", media.Closed, s.Ended)
	}
	if media.Version() != 7 || !media.IndependentSegments() {
		t.Errorf("version %d, independent segments %v", media.Version(), media.IndependentSegments())
	}
	if want := fmt.Sprintf("init-%d.mp4", first.Run); media.Map == nil || media.Map.URI != want {
		t.Errorf("first map = %+v, want %s", media.Map, want)
	}

	var total float64
	for i, got := range segs {
		want := r.Segments[i]
		seconds := float64(want.Duration) / float64(r.Timescale)
		total += got.Duration
		if got.URI != fmt.Sprintf("%d.m4s", want.Number) || got.SeqId != want.Number {
			t.Errorf("segment %d: URI %q seq %d", want.Number, got.URI, got.SeqId)
		}
		if math.Abs(got.Duration-seconds) > 0.0005 {
			t.Errorf("segment %d: duration %v, want %v", want.Number, got.Duration, seconds)
		}
		if math.Round(got.Duration) > float64(media.TargetDuration) {
			t.Errorf("segment %d: duration %v exceeds target %d", want.Number, got.Duration, media.TargetDuration)
		}
		pdt := s.AvailabilityStart.Add(want.StartTime(r.Timescale)).Truncate(time.Millisecond)
		if !got.ProgramDateTime.Equal(pdt) {
			t.Errorf("segment %d: program date time %v, want %v", want.Number, got.ProgramDateTime, pdt)
		}
		newRun := i > 0 && want.Run != r.Segments[i-1].Run
		if got.Discontinuity != newRun {
			t.Errorf("segment %d: discontinuity %v, want %v", want.Number, got.Discontinuity, newRun)
		}
		if newRun && (got.Map == nil || got.Map.URI != fmt.Sprintf("init-%d.mp4", want.Run)) {
			t.Errorf("segment %d: map %+v after run change", want.Number, got.Map)
		}
	}
	var sum uint64
	for _, seg := range r.Segments {
		sum += seg.Duration
	}
	if want := float64(sum) / float64(r.Timescale); math.Abs(total-want) > 0.0005*float64(len(segs)) {
		t.Errorf("total duration %v, want %v", total, want)
	}
}

func TestMediaErrors(t *testing.T) {
	noSegments := snapshots.SingleRun(false)
	noSegments.Renditions[2].Segments = nil

	gap := snapshots.SingleRun(false)
	gap.Renditions[0].Segments[3].Number = 7

	badDisc := snapshots.TwoRuns()
	badDisc.Renditions[0].Segments[3].Discontinuity = 5

	sameRunDisc := snapshots.SingleRun(false)
	sameRunDisc.Renditions[0].Segments[2].Discontinuity = 1

	zeroScale := snapshots.SingleRun(false)
	zeroScale.Renditions[0].Timescale = 0

	tests := []struct {
		name      string
		snap      *cmaf.Snapshot
		rendition string
		want      error
		mention   string
	}{
		{"nil snapshot", nil, "720p", ErrUnknownRendition, `"720p"`},
		{"empty snapshot", &cmaf.Snapshot{}, "720p", ErrUnknownRendition, `"720p"`},
		{"unknown rendition", snapshots.SingleRun(false), "1080p", ErrUnknownRendition, `"1080p"`},
		{"no segments", noSegments, "audio", ErrNoSegments, `"audio"`},
		{"numbers not consecutive", gap, "720p", ErrInvalidSnapshot, "segment 7 follows segment 2, want 3"},
		{"discontinuity skips", badDisc, "720p", ErrInvalidSnapshot, "has discontinuity 5"},
		{"discontinuity within run", sameRunDisc, "720p", ErrInvalidSnapshot, "has discontinuity 1"},
		{"timescale zero", zeroScale, "720p", ErrInvalidSnapshot, "timescale 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Media(tt.snap, tt.rendition)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("playlist returned with error: %q", got)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestTargetDuration(t *testing.T) {
	tests := []struct {
		longest    int64
		configured time.Duration
		want       int64
	}{
		{2000, 2 * time.Second, 2},
		{2005, 2 * time.Second, 2},
		{2499, 2 * time.Second, 2},
		{2500, 2 * time.Second, 3},
		{2540, 2 * time.Second, 3},
		{1900, 2 * time.Second, 2},
		{1000, 1500 * time.Millisecond, 2},
		{4000, 1500 * time.Millisecond, 4},
		{0, 0, 1},
		{300, 0, 1},
		{6200, 0, 6},
	}
	for _, tt := range tests {
		if got := targetDuration(tt.longest, tt.configured); got != tt.want {
			t.Errorf("targetDuration(%d ms, %v) = %d, want %d", tt.longest, tt.configured, got, tt.want)
		}
	}
}

func TestTicksToMillis(t *testing.T) {
	tests := []struct {
		ticks     uint64
		timescale uint32
		want      int64
	}{
		{180000, 90000, 2000},
		{96256, 48000, 2005},
		{95232, 48000, 1984},
		{1, 48000, 0},
		{24, 48000, 1}, // 0.5 ms rounds up
		// A day of 90 kHz ticks: the split arithmetic keeps it exact.
		{86400 * 90000, 90000, 86400000},
	}
	for _, tt := range tests {
		if got := ticksToMillis(tt.ticks, tt.timescale); got != tt.want {
			t.Errorf("ticksToMillis(%d, %d) = %d, want %d", tt.ticks, tt.timescale, got, tt.want)
		}
	}
}
