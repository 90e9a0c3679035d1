package dash

import (
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// Timescales and the AAC frame length used by the fixtures.
const (
	videoScale = 90000
	audioScale = 48000
	aacFrame   = 1024
	twoSeconds = 2 * videoScale
)

var availabilityStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// scenario is a named snapshot rendered into golden files.
type scenario struct {
	name string
	snap *cmaf.Snapshot
}

func scenarios() []scenario {
	return []scenario{
		{"single", singleRun(false)},
		{"discontinuity", twoRuns()},
		{"ended", singleRun(true)},
		{"noaudio", noAudio()},
		{"varying", varying()},
	}
}

// singleRun is one run of five 2 s segments numbered 0-4 from media time 0.
func singleRun(ended bool) *cmaf.Snapshot {
	run := cmaf.Run{ID: 1, Start: 0}
	v := videoSegs(run, 0, 0, twoSeconds, twoSeconds, twoSeconds, twoSeconds, twoSeconds)
	a := alignedAudioSegs(run, 0, 5)
	s := snapshot([]cmaf.Run{run}, v, v, a)
	s.Ended = ended
	return s
}

// twoRuns has run 7 (segments 10-12 from 20 s) and, after a 10 s gap in
// media time, run 9 (segments 13-15 from 36 s).
func twoRuns() *cmaf.Snapshot {
	r1 := cmaf.Run{ID: 7, Start: 20 * time.Second, Discontinuity: 3}
	r2 := cmaf.Run{ID: 9, Start: 36 * time.Second, Discontinuity: 4}
	v := append(videoSegs(r1, 10, 20*videoScale, twoSeconds, twoSeconds, twoSeconds),
		videoSegs(r2, 13, 36*videoScale, twoSeconds, twoSeconds, twoSeconds)...)
	a := append(alignedAudioSegs(r1, 10, 3), alignedAudioSegs(r2, 13, 3)...)
	return snapshot([]cmaf.Run{r1, r2}, v, v, a)
}

// noAudio is singleRun without the audio rendition.
func noAudio() *cmaf.Snapshot {
	s := singleRun(false)
	s.Renditions = s.Renditions[:2]
	return s
}

// varying has video segments of slightly different lengths (one of 2.54 s,
// which raises the target duration to 3) and a 0.1 s gap inside the run,
// and audio segments alternating between 94 and 93 AAC frames.
func varying() *cmaf.Snapshot {
	run := cmaf.Run{ID: 3, Start: 100 * time.Second, Discontinuity: 2}
	start := uint64(100 * videoScale)
	v := videoSegs(run, 50, start, 180000, 180900, 179100, 228600)
	gapStart := start + 180000 + 180900 + 179100 + 228600 + 9000
	v = append(v, videoSegs(run, 54, gapStart, 171000, 180000)...)

	var a []cmaf.SegmentInfo
	t := alignUp(100 * audioScale)
	for i := range 6 {
		d := uint64(96256)
		if i%2 == 1 {
			d = 95232
		}
		a = append(a, segment(run, 50+uint64(i), t, d))
		t += d
	}
	return snapshot([]cmaf.Run{run}, v, v, a)
}

// snapshot assembles a two-rung ladder plus audio; a nil audio list still
// yields an audio rendition, without segments.
func snapshot(runs []cmaf.Run, hi, lo, audio []cmaf.SegmentInfo) *cmaf.Snapshot {
	return &cmaf.Snapshot{
		AvailabilityStart: availabilityStart,
		SegmentDuration:   2 * time.Second,
		Window:            30 * time.Second,
		Runs:              runs,
		Renditions: []cmaf.Rendition{
			{
				ID: "720p", Kind: cmaf.Video, Codec: "avc1.64001f",
				Width: 1280, Height: 720, FrameRate: 30,
				Bandwidth: 3600000, AverageBandwidth: 3050000,
				Timescale: videoScale, Segments: hi,
			},
			{
				ID: "360p", Kind: cmaf.Video, Codec: "avc1.4d401e",
				Width: 640, Height: 360, FrameRate: 29.97,
				Bandwidth: 900000, AverageBandwidth: 720000,
				Timescale: videoScale, Segments: lo,
			},
			{
				ID: "audio", Kind: cmaf.Audio, Codec: "mp4a.40.2",
				SampleRate: audioScale, Channels: 2,
				Bandwidth: 131000, AverageBandwidth: 128000,
				Timescale: audioScale, Segments: audio,
			},
		},
	}
}

// videoSegs lays out back-to-back segments of the given durations from start.
func videoSegs(run cmaf.Run, first, start uint64, durations ...uint64) []cmaf.SegmentInfo {
	var out []cmaf.SegmentInfo
	for i, d := range durations {
		out = append(out, segment(run, first+uint64(i), start, d))
		start += d
	}
	return out
}

// alignedAudioSegs cuts n audio segments at the first AAC frame boundary at
// or after each 2 s mark from the run's start, as the packager does.
func alignedAudioSegs(run cmaf.Run, first uint64, n int) []cmaf.SegmentInfo {
	base := uint64(run.Start / time.Second * audioScale)
	var out []cmaf.SegmentInfo
	for i := range n {
		from := alignUp(base + uint64(i)*2*audioScale)
		to := alignUp(base + uint64(i+1)*2*audioScale)
		out = append(out, segment(run, first+uint64(i), from, to-from))
	}
	return out
}

func alignUp(ticks uint64) uint64 {
	return (ticks + aacFrame - 1) / aacFrame * aacFrame
}

func segment(run cmaf.Run, number, start, duration uint64) cmaf.SegmentInfo {
	return cmaf.SegmentInfo{
		Number: number, Run: run.ID, Discontinuity: run.Discontinuity,
		Start: start, Duration: duration, Size: 1000,
	}
}
