// Package encoder turns a channel's ladder into the argv of the one ffmpeg
// process that encodes it: decode once, split and scale, encode every rung,
// and write one fragmented-MP4 stream per rendition to its own pipe.
package encoder

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Source is the input side of the encoder command, produced by the input
// package: ffmpeg input options and which streams carry video and audio.
type Source struct {
	// Args are the input options, ending with the last "-i".
	Args []string
	// Stdin, when set, is the file the encoder reads as its standard input
	// (Args name it "file:/dev/stdin"): a file opened and checked by Sluice,
	// so ffmpeg reads what was checked, not whatever a path leads to by
	// then. The caller closes it once the encoder has started.
	Stdin *os.File
	// Release, when set, frees what the source holds for the encoder (a
	// relayed URL); the caller calls it once the encoder has ended.
	Release func()
	// Video and Audio are stream specifiers such as "0:v:0" and "1:a:0".
	Video string
	Audio string
	// Pad keeps the output going after the source ends: black picture and
	// silence, paced in real time (source-end behaviour CONTINUE).
	Pad bool
	// Stamped says the source's timestamps are already placed on the
	// channel's media clock by whoever writes it (the switcher), less
	// Timing.Offset; other sources' timestamps start at zero when the
	// encoder starts reading them.
	Stamped bool
}

// LiveSource is the encoder's input for live inputs: the switcher's MPEG-TS
// on standard input. That stream is already paced in real time (no -re),
// always starts with a key frame carrying its parameter sets and has one
// video and one audio stream whose parameters the first packets give, so
// the encoder reads it with as little delay as it can: it stops probing as
// soon as both streams are known (0.2 s of stream at most, and no frame
// rate estimate: every rung sets its own), and decodes without frame
// threads, each of which would hold a frame back (low_delay; slice
// threads remain).
func LiveSource() Source {
	return Source{
		Args: []string{
			"-fflags", "+genpts", "-probesize", "1000000", "-analyzeduration", "200000", "-fpsprobesize", "0",
			"-flags", "low_delay", "-f", "mpegts", "-i", "pipe:0",
		},
		Video:   "0:v:0",
		Audio:   "0:a:0",
		Stamped: true,
	}
}

// Output is one rendition stream of the encoder.
type Output struct {
	Rendition string `json:"rendition"`
	Audio     bool   `json:"audio"`
	// FD is the file descriptor the encoder writes to (3 is progress).
	FD int `json:"fd"`
}

// Command is a ready-to-run encoder invocation.
type Command struct {
	Args    []string
	Outputs []Output
	// Stdin is the source's file, given to the encoder as standard input.
	Stdin *os.File
	// Timing is Options.Timing: the run is on the channel's segment grid.
	Timing *Timing
}

// Options tune the command beyond the ladder.
type Options struct {
	// ChunkDuration is the length of the fragments the encoder emits; the
	// packager receives media at this granularity.
	ChunkDuration time.Duration
	// LowLatency tunes x264 for zero latency (no look-ahead, no B-frames),
	// for channels with low-latency endpoints.
	LowLatency bool
	// WebRTC encodes every rung without B-frames and adds an Opus audio
	// output (OpusRendition), for channels with a WebRTC endpoint.
	WebRTC bool
	// Timing, when set, puts the run on the channel's segment grid.
	Timing *Timing
}

// ProgressFD is the descriptor on which ffmpeg writes its -progress report.
const ProgressFD = 3

// VideoTimescale is the timescale of every video track, so that segment
// boundaries are exact whatever the frame rate.
const VideoTimescale = 90000

// Build returns the encoder command for a source and a resolved ladder.
func Build(src Source, l resource.Ladder, opts Options) Command {
	if opts.ChunkDuration <= 0 {
		opts.ChunkDuration = 500 * time.Millisecond
	}
	args := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-progress", "pipe:" + strconv.Itoa(ProgressFD), "-stats_period", "1",
	}
	args = append(args, timingArgs(src, opts.Timing)...)
	args = append(args, "-filter_complex", webrtcAudioGraph(filterGraph(src, l, opts.Timing), opts))
	chunk := strconv.FormatInt(opts.ChunkDuration.Microseconds(), 10)
	fragFlags, fragOpts := fragmentArgs(opts.Timing)
	var outs []Output
	fd := ProgressFD + 1
	encoded := 0 // index of the next encoded rung in the filter graph
	for _, r := range l.Rungs {
		if r.Passthrough {
			// The input's own video, copied: no decode, no encode. The
			// packager cuts it on the segment grid where its key frames are.
			// delay_moov: the input's first video may start after its
			// audio, which an empty moov written up front cannot say.
			args = append(args,
				"-map", src.Video, "-c:v", "copy",
				"-video_track_timescale", strconv.Itoa(VideoTimescale),
				"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+delay_moov+default_base_moof+negative_cts_offsets"+fragFlags)
			args = append(args, fragOpts...)
			if tm := opts.Timing; tm != nil && tm.Offset != 0 {
				args = append(args, "-output_ts_offset", seconds(tm.Offset))
			}
			args = append(args,
				"-frag_duration", chunk,
				"pipe:"+strconv.Itoa(fd),
			)
			outs = append(outs, Output{Rendition: r.Name, FD: fd})
			fd++
			continue
		}
		gop := strconv.Itoa(int(r.FPS*l.Segment.Seconds() + 0.5))
		args = append(args,
			"-map", fmt.Sprintf("[v%d]", encoded),
			"-c:v", "libx264", "-preset", r.Preset, "-profile:v", r.Profile,
		)
		encoded++
		args = append(args, webrtcRungArgs(opts)...)
		if opts.LowLatency {
			args = append(args, "-tune", "zerolatency")
		}
		args = append(args,
			"-b:v", strconv.FormatInt(int64(r.Bitrate), 10),
			"-maxrate", strconv.FormatInt(int64(r.MaxBitrate), 10),
			"-bufsize", strconv.FormatInt(int64(r.MaxBitrate)*2, 10),
			"-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
			"-force_key_frames", keyFrames(l.Segment, r.FPS, opts.Timing),
			"-video_track_timescale", strconv.Itoa(VideoTimescale),
			"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets"+fragFlags)
		args = append(args, fragOpts...)
		args = append(args,
			"-frag_duration", chunk,
			"pipe:"+strconv.Itoa(fd),
		)
		outs = append(outs, Output{Rendition: r.Name, FD: fd})
		fd++
	}
	a := l.Audio
	args = append(args,
		"-map", "[a]",
		"-c:a", "aac", "-b:a", strconv.FormatInt(int64(a.Bitrate), 10),
		"-ac", strconv.Itoa(a.Channels), "-ar", strconv.Itoa(a.SampleRate),
	)
	if opts.LowLatency {
		// Every AAC frame as it is encoded: fragments of a part's length
		// would not end where the packager's parts do (1024-sample frames
		// do not divide 200 ms), and the packager would wait up to a
		// fragment for the frame that ends a part. It joins the frames of
		// a part into one fragment itself.
		args = append(args, "-f", "mp4", "-movflags", "+empty_moov+default_base_moof+frag_every_frame"+fragFlags)
		args = append(args, fragOpts...)
	} else {
		args = append(args, "-f", "mp4", "-movflags", "+empty_moov+default_base_moof"+fragFlags)
		args = append(args, fragOpts...)
		args = append(args, "-frag_duration", chunk)
	}
	args = append(args, "pipe:"+strconv.Itoa(fd))
	outs = append(outs, Output{Rendition: AudioRendition, Audio: true, FD: fd})
	opusArgs, opusOuts := webrtcAudioOutput(l, opts, chunk, fd+1)
	args, outs = append(args, opusArgs...), append(outs, opusOuts...)
	return Command{Args: args, Outputs: outs, Stdin: src.Stdin, Timing: opts.Timing}
}

// AudioRendition is the name of the audio rendition of every channel.
const AudioRendition = "audio"

// filterGraph decodes the source once, splits the picture for every
// encoded rung (a passthrough rung takes the source's video as it is) and
// conforms the audio.
func filterGraph(src Source, l resource.Ladder, tm *Timing) string {
	var b strings.Builder
	encoded := l.Encoded()
	if len(encoded) > 0 {
		fmt.Fprintf(&b, "[%s]%s", src.Video, shift("setpts", tm))
		if src.Pad {
			b.WriteString("tpad=stop=-1:color=black,realtime,")
		}
		fmt.Fprintf(&b, "format=yuv420p,split=%d", len(encoded))
		for i := range encoded {
			fmt.Fprintf(&b, "[s%d]", i)
		}
		for i, r := range encoded {
			fmt.Fprintf(&b, ";[s%d]%s,scale=%d:%d:force_original_aspect_ratio=decrease%s,pad=%d:%d:(ow-iw)/2:(oh-ih)/2%s,setsar=1[v%d]",
				i, fpsFilter(r.FPS, tm), r.Width, r.Height, perFrame(tm), r.Width, r.Height, perFrame(tm), i)
		}
		b.WriteString(";")
	}
	fmt.Fprintf(&b, "[%s]%s", src.Audio, shift("asetpts", tm))
	if src.Pad {
		b.WriteString("apad,arealtime,")
	}
	layout := "stereo"
	if l.Audio.Channels == 1 {
		layout = "mono"
	}
	// first_pts only with a timing: a new input picture size reconfigures
	// the whole graph unless the timing's -reinit_filter 0 keeps it, and
	// first_pts would restart the audio there.
	fmt.Fprintf(&b, "aresample=async=1%s,aformat=sample_fmts=fltp:sample_rates=%d:channel_layouts=%s[a]", audioStart(l.Audio, tm), l.Audio.SampleRate, layout)
	return b.String()
}
