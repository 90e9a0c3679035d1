package main

import (
	"errors"
	"io"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
)

// config is the command line.
type config struct {
	harness.Flags
	duration  time.Duration
	warmup    time.Duration
	interval  time.Duration
	samples   int
	contends  []string
	protocols []string
	mediamtx  string
	hlsSync   int
	audio     bool
	follow    bool
	rounds    int
	syncRate  float64
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("latency", `Usage: go run ./bench/latency [flags]

Measures live latency glass to glass, from the picture. A publisher burns
its wall clock into every frame (a row of black and white cells, and the
same time as text) and sends it over RTMP or SRT to each contender in
turn: Sluice LL-HLS, LL-DASH, HLS and WebRTC (one 640x360 ultrafast
rung), a Sluice passthrough rung (when the build has it), ffmpeg's own
HLS muxer and MediaMTX LL-HLS, HLS and WebRTC (built from its module into
.tools by bench/latency/mediamtx.sh). hls.js, dash.js or the browser's
RTCPeerConnection (WHEP) plays each in headless Chromium; screenshots of the video, taken at random instants beside a
clock the page draws at every frame, give the latency: the instant the
screenshot shows minus the clock in the picture. The players' own figure
from program date-times (or DASH availability times) is read at the same
instants and printed beside it. Prints medians, p10/p90, sample counts and
the ratios Sluice/MediaMTX, then Sluice's per-stage medians when the
server exposes `+stageMetric+`.

Flags:
`, stderr)
	fs.StringVar(&c.SluiceBin, "sluice", "", "sluice binary (default: bin/sluice of the module, built if missing)")
	fs.StringVar(&c.FFmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary, for the server, the publisher and the bare HLS contender")
	fs.StringVar(&c.JSONPath, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&c.Keep, "keep", false, "keep the temporary directory (logs, a readable and an unreadable screenshot per contender)")
	only := fs.String("only", joinNames(contenderNames()), "contenders to run, comma-separated")
	protocols := fs.String("protocols", "rtmp,srt", "publisher protocols, comma-separated: each contender is measured with each")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long screenshots are taken of each contender, after the warm-up")
	fs.DurationVar(&c.warmup, "warmup", 10*time.Second, "playback before the first screenshot, for the player to settle at its live position")
	fs.DurationVar(&c.interval, "interval", 250*time.Millisecond, "mean time between screenshots (each wait is random, 0.5 to 1.5 times this)")
	fs.IntVar(&c.samples, "samples", 200, "at most this many screenshots per contender")
	fs.StringVar(&c.mediamtx, "mediamtx", "", "MediaMTX binary (default: built by bench/latency/mediamtx.sh into .tools)")
	fs.IntVar(&c.hlsSync, "hls-sync-segments", 0, "hls.js liveSyncDurationCount for standard HLS, for every contender alike; 0 keeps hls.js's default (the playlist's HOLD-BACK, else 3 segments)")
	fs.IntVar(&c.rounds, "rounds", 1, "run every contender this many times, every other round in reverse order; the ratios use the median of the rounds")
	fs.BoolVar(&c.follow, "follow", true, "also follow HLS media playlists with a Go client, and read the clock of every new segment or part")
	fs.Float64Var(&c.syncRate, "live-sync-rate", 1, "hls.js maxLiveSyncPlaybackRate for every hls.js contender: above 1, hls.js plays faster until it is back at its target latency; 1 keeps hls.js's default (it never catches up)")
	fs.BoolVar(&c.audio, "audio", false, "the publisher also sends a 440 Hz tone in AAC")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	var err error
	if c.contends, err = harness.SplitNames("only", "contender", *only, contenderNames()); err != nil {
		return c, err
	}
	if c.protocols, err = harness.SplitNames("protocols", "protocol", *protocols, []string{"rtmp", "srt"}); err != nil {
		return c, err
	}
	switch {
	case c.duration < 5*time.Second || c.duration > 30*time.Minute:
		return c, errors.New("--duration must be between 5s and 30m")
	case c.warmup < 0 || c.warmup > 5*time.Minute:
		return c, errors.New("--warmup must be between 0 and 5m")
	case c.interval < 50*time.Millisecond || c.interval > 10*time.Second:
		return c, errors.New("--interval must be between 50ms and 10s")
	case c.samples < 5 || c.samples > 10000:
		return c, errors.New("--samples must be between 5 and 10000")
	case c.rounds < 1 || c.rounds > 20:
		return c, errors.New("--rounds must be between 1 and 20")
	case c.syncRate < 1 || c.syncRate > 2:
		return c, errors.New("--live-sync-rate must be between 1 and 2")
	case c.hlsSync < 0 || c.hlsSync > 10:
		return c, errors.New("--hls-sync-segments must be between 0 and 10")
	}
	return c, nil
}
