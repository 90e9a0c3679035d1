package encoder

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Timing puts an encoder run on its channel's segment grid, so that runs
// started at different instants (the two pipelines of a STANDARD channel,
// or an encoder that restarted) produce the same media for the same media
// time: every timestamp is media time since the channel's availability
// start; every encoded rung's frames fall on the grid of its frame rate
// counted from that start, and its key frames at the first frame of each
// segment (k × segment); the AAC frames fall on a grid of 1024 samples
// counted from that start. Without a Timing, a run's timestamps start at
// zero and its key frames are placed from its first frame.
type Timing struct {
	// Start is the media time at which the run's output begins: each
	// encoded rung starts at its first frame at or after it (the first
	// picture repeated back to it when the source starts later, frames
	// before it dropped), the audio at its first AAC frame boundary at or
	// after it.
	Start time.Duration
	// Offset is the media time of the source's timestamp zero: the
	// encoder adds it to every input timestamp. A source whose
	// timestamps start when ffmpeg starts reading (a file, a generated
	// pattern) has the media time of the moment it starts; the
	// switcher's stream, stamped with capture times, has the
	// placement's media time.
	Offset time.Duration
}

// StampLead is how far before a run's start the timestamp zero of a
// stamped source (the switcher's stream) is placed: the stream starts
// with the frames of the input's current GOP, captured before the run
// started, and none of them may fall before zero.
const StampLead = time.Minute

// GridTiming is the timing of a run started now on a grid of segments of
// length segment: its output starts at the first boundary at or after
// now's media time, so that its first segment is as long as every other
// (the encoder drops what comes before). A source read from when the
// encoder starts (a file, a pattern) is offset by now's media time; a
// stamped source's timestamp zero is at a whole second of media time
// StampLead before.
func GridTiming(now, availabilityStart time.Time, segment time.Duration, stamped bool) Timing {
	at := max(now.Sub(availabilityStart), 0).Truncate(time.Millisecond)
	start := at
	if segment > 0 {
		// Never boundary 0: the audio's first frame comes a frame early
		// (the AAC encoder's priming), and media time is never below zero.
		start = max((at+segment-1)/segment, 1) * segment
	}
	if !stamped {
		return Timing{Start: start, Offset: at}
	}
	return Timing{Start: start, Offset: max(at-StampLead, 0).Truncate(time.Second)}
}

// AudioFrame is the number of samples of one AAC frame.
const AudioFrame = 1024

// timingArgs returns the source's options with the timing's: timestamps
// kept as the source has them (-copyts; a file or a pattern from its own
// zero, -start_at_zero), and the filter graph never rebuilt when the
// input's pictures change size (the start of each rung and of the audio
// is fixed once, by their first frames). The offset is added in the
// filter graph (shift) and to copied streams (-output_ts_offset), not to
// the input (-itsoffset), which ffmpeg's -re would wait out.
func timingArgs(src Source, tm *Timing) []string {
	if tm == nil {
		return src.Args
	}
	args := []string{"-copyts"}
	if !src.Stamped {
		args = append(args, "-start_at_zero")
	}
	for _, a := range src.Args {
		if a == "-i" {
			args = append(args, "-reinit_filter", "0")
		}
		args = append(args, a)
	}
	return args
}

// perFrame makes the scale and pad filters of a timed run follow a change
// of the input's picture size themselves (":eval=frame"), since the graph
// is not rebuilt for it: a picture of another shape is still letterboxed.
func perFrame(tm *Timing) string {
	if tm == nil {
		return ""
	}
	return ":eval=frame"
}

// shift is the filter that adds the timing's offset to a stream's
// timestamps at the head of its chain in the filter graph ("setpts" or
// "asetpts"), with a comma; "" without a timing.
func shift(filter string, tm *Timing) string {
	if tm == nil || tm.Offset == 0 {
		return ""
	}
	return filter + "=PTS+" + seconds(tm.Offset) + "/TB,"
}

// fragmentArgs are the options of a rendition's fragmented MP4 output on
// a timed run: fragments keep their decode times (frag_discont: the muxer
// would otherwise count each track from zero), and nothing is shifted
// (no edit list, timestamps moved only if below zero).
func fragmentArgs(tm *Timing) (movflags string, opts []string) {
	if tm == nil {
		return "", nil
	}
	return "+frag_discont", []string{"-use_editlist", "0", "-avoid_negative_ts", "make_non_negative"}
}

// seconds formats d in seconds, to the microsecond, as ffmpeg reads times.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 6, 64)
}

// frameRate is a rung's frame rate as ffmpeg reads the fps filter's
// argument: the exact decimal it is written as.
func frameRate(fps float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(fps, 'f', -1, 64))
	if !ok || r.Sign() <= 0 {
		return big.NewRat(30, 1)
	}
	return r
}

// firstFrame is the media time of a rung's first frame in a run that
// starts at start: the first point of the rung's frame grid (multiples of
// 1/fps) at or after it, as the number of frames n and its time in
// seconds.
func firstFrame(start time.Duration, fps float64) (n *big.Int, at *big.Rat) {
	rate := frameRate(fps)
	// n = ceil(start × rate), start in nanoseconds.
	x := new(big.Rat).Mul(new(big.Rat).SetFrac(big.NewInt(int64(start)), big.NewInt(int64(time.Second))), rate)
	n = new(big.Int).Quo(x.Num(), x.Denom())
	if new(big.Rat).SetInt(n).Cmp(x) < 0 {
		n.Add(n, big.NewInt(1))
	}
	return n, new(big.Rat).Quo(new(big.Rat).SetInt(n), rate)
}

// fpsFilter is a rung's frame-rate filter: without a timing, frames from
// the first the source gives; with one, from the rung's first frame of
// the run.
func fpsFilter(fps float64, tm *Timing) string {
	rate := strconv.FormatFloat(fps, 'f', -1, 64)
	if tm == nil {
		return "fps=" + rate
	}
	_, at := firstFrame(tm.Start, fps)
	return "fps=" + rate + ":start_time=" + at.FloatString(6)
}

// keyFrames is a rung's -force_key_frames expression. ffmpeg's t counts
// from the rung's first frame. Without a timing, a key frame comes at the
// first frame at or after each multiple of the segment length from there.
// With one, t plus the first frame's media time is media time, and a key
// frame comes at the first frame of each segment of the grid: the first
// frame (the encoder's first picture is a key frame anyway), then each
// frame that falls in a later segment than the last key frame (a
// millisecond early counts as on time: frame times are sums of fractions).
func keyFrames(seg time.Duration, fps float64, tm *Timing) string {
	s := strconv.FormatFloat(seg.Seconds(), 'f', -1, 64)
	if tm == nil {
		return "expr:gte(t,n_forced*" + s + ")"
	}
	_, at := firstFrame(tm.Start, fps)
	base := at.FloatString(9)
	slot := func(v string) string { return fmt.Sprintf("floor((%s+%s+0.001)/%s)", v, base, s) }
	return "expr:if(isnan(prev_forced_t),1,gte(" + slot("t") + "," + slot("prev_forced_t") + "+1))"
}

// audioStart is the aresample option that starts the audio on the AAC
// grid: the first multiple of 1024 samples, counted from the availability
// start, at or after the run's start (silence before the source's first
// sample, samples before it dropped).
func audioStart(a resource.Audio, tm *Timing) string {
	if tm == nil {
		return ""
	}
	rate := int64(a.SampleRate)
	// ceil(start × rate / 1024) × 1024, in samples.
	sec, frac := int64(tm.Start/time.Second), int64(tm.Start%time.Second)
	samples := sec*rate + (frac*rate+int64(time.Second)-1)/int64(time.Second)
	frames := (samples + AudioFrame - 1) / AudioFrame
	return ":first_pts=" + strconv.FormatInt(frames*AudioFrame, 10)
}
