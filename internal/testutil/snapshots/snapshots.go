// Package snapshots holds the packager timeline snapshots that the HLS and
// DASH renderers' tests render into golden files: one run, two runs with a
// discontinuity, an ended stream, one without audio and one with uneven
// segments, all on a two-rung ladder plus AAC audio.
package snapshots

import (
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// Timescales and the AAC frame length used by the fixtures.
const (
	VideoScale = 90000
	AudioScale = 48000
	AACFrame   = 1024
	TwoSeconds = 2 * VideoScale
)

// AvailabilityStart is the wall-clock instant of media time zero in every
// snapshot.
func AvailabilityStart() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

// Scenario is a named snapshot rendered into golden files.
type Scenario struct {
	Name string
	Snap *cmaf.Snapshot
}

// Scenarios are the snapshots rendered into golden files, by the names
// the golden files carry.
func Scenarios() []Scenario {
	return []Scenario{
		{"single", SingleRun(false)},
		{"discontinuity", TwoRuns()},
		{"ended", SingleRun(true)},
		{"noaudio", NoAudio()},
		{"varying", Varying()},
	}
}

// SingleRun is one run of five 2 s segments numbered 0-4 from media time 0.
func SingleRun(ended bool) *cmaf.Snapshot {
	run := cmaf.Run{ID: 1, Start: 0}
	v := VideoSegs(run, 0, 0, TwoSeconds, TwoSeconds, TwoSeconds, TwoSeconds, TwoSeconds)
	a := AlignedAudioSegs(run, 0, 5)
	s := Build([]cmaf.Run{run}, v, v, a)
	s.Ended = ended
	return s
}

// TwoRuns has run 7 (segments 10-12 from 20 s) and, after a 10 s gap in
// media time, run 9 (segments 13-15 from 36 s).
func TwoRuns() *cmaf.Snapshot {
	r1 := cmaf.Run{ID: 7, Start: 20 * time.Second, Discontinuity: 3}
	r2 := cmaf.Run{ID: 9, Start: 36 * time.Second, Discontinuity: 4}
	v := append(VideoSegs(r1, 10, 20*VideoScale, TwoSeconds, TwoSeconds, TwoSeconds),
		VideoSegs(r2, 13, 36*VideoScale, TwoSeconds, TwoSeconds, TwoSeconds)...)
	a := append(AlignedAudioSegs(r1, 10, 3), AlignedAudioSegs(r2, 13, 3)...)
	return Build([]cmaf.Run{r1, r2}, v, v, a)
}

// NoAudio is SingleRun without the audio rendition.
func NoAudio() *cmaf.Snapshot {
	s := SingleRun(false)
	s.Renditions = s.Renditions[:2]
	return s
}

// Varying has video segments of slightly different lengths (one of 2.54 s,
// which raises the target duration to 3) and a 0.1 s gap inside the run,
// and audio segments alternating between 94 and 93 AAC frames.
func Varying() *cmaf.Snapshot {
	run := cmaf.Run{ID: 3, Start: 100 * time.Second, Discontinuity: 2}
	start := uint64(100 * VideoScale)
	v := VideoSegs(run, 50, start, 180000, 180900, 179100, 228600)
	gapStart := start + 180000 + 180900 + 179100 + 228600 + 9000
	v = append(v, VideoSegs(run, 54, gapStart, 171000, 180000)...)

	var a []cmaf.SegmentInfo
	t := AlignUp(100 * AudioScale)
	for i := range 6 {
		d := uint64(96256)
		if i%2 == 1 {
			d = 95232
		}
		a = append(a, Segment(run, 50+uint64(i), t, d))
		t += d
	}
	return Build([]cmaf.Run{run}, v, v, a)
}

// Build assembles a two-rung ladder plus audio; a nil audio list still
// yields an audio rendition, without segments.
func Build(runs []cmaf.Run, hi, lo, audio []cmaf.SegmentInfo) *cmaf.Snapshot {
	return &cmaf.Snapshot{
		AvailabilityStart: AvailabilityStart(),
		SegmentDuration:   2 * time.Second,
		Window:            30 * time.Second,
		Runs:              runs,
		Renditions: []cmaf.Rendition{
			{
				ID: "720p", Kind: cmaf.Video, Codec: "avc1.64001f",
				Width: 1280, Height: 720, FrameRate: 30,
				Bandwidth: 3600000, AverageBandwidth: 3050000,
				Timescale: VideoScale, Segments: hi,
			},
			{
				ID: "360p", Kind: cmaf.Video, Codec: "avc1.4d401e",
				Width: 640, Height: 360, FrameRate: 29.97,
				Bandwidth: 900000, AverageBandwidth: 720000,
				Timescale: VideoScale, Segments: lo,
			},
			{
				ID: "audio", Kind: cmaf.Audio, Codec: "mp4a.40.2",
				SampleRate: AudioScale, Channels: 2,
				Bandwidth: 131000, AverageBandwidth: 128000,
				Timescale: AudioScale, Segments: audio,
			},
		},
	}
}

// VideoSegs lays out back-to-back segments of the given durations from start.
func VideoSegs(run cmaf.Run, first, start uint64, durations ...uint64) []cmaf.SegmentInfo {
	var out []cmaf.SegmentInfo
	for i, d := range durations {
		out = append(out, Segment(run, first+uint64(i), start, d))
		start += d
	}
	return out
}

// AlignedAudioSegs cuts n audio segments at the first AAC frame boundary at
// or after each 2 s mark from the run's start, as the packager does.
func AlignedAudioSegs(run cmaf.Run, first uint64, n int) []cmaf.SegmentInfo {
	base := uint64(run.Start / time.Second * AudioScale) //nolint:gosec // the fixtures' runs start at or after zero
	var out []cmaf.SegmentInfo
	for i := range n {
		from := AlignUp(base + uint64(i)*2*AudioScale)
		to := AlignUp(base + uint64(i+1)*2*AudioScale)
		out = append(out, Segment(run, first+uint64(i), from, to-from))
	}
	return out
}

// AlignUp rounds ticks of the audio timescale up to a whole AAC frame.
func AlignUp(ticks uint64) uint64 {
	return (ticks + AACFrame - 1) / AACFrame * AACFrame
}

// Segment is a 1000-byte segment of the run.
func Segment(run cmaf.Run, number, start, duration uint64) cmaf.SegmentInfo {
	return cmaf.SegmentInfo{
		Number: number, Run: run.ID, Discontinuity: run.Discontinuity,
		Start: start, Duration: duration, Size: 1000,
	}
}
