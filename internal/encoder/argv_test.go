package encoder

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/golden"
)

func ladder(t *testing.T, enc resource.EncoderSettings) resource.Ladder {
	t.Helper()
	l, err := enc.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// render puts one argument per line so golden diffs are readable.
func render(c Command) []byte {
	var b strings.Builder
	for _, a := range c.Args {
		b.WriteString(a)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func fileSource(pad bool) Source {
	args := []string{"-re", "-stream_loop", "-1", "-protocol_whitelist", "file", "-i", "file:/media/sample.mp4"}
	if pad {
		args = append(args[:1:1], args[3:]...)
	}
	return Source{Args: args, Video: "0:v:0", Audio: "0:a:0", Pad: pad}
}

func TestBuildGolden(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		enc  resource.EncoderSettings
		opts Options
	}{
		{"default-1080p", fileSource(false), resource.EncoderSettings{Ladder: "default-1080p"}, Options{}},
		{"test-360p-ultrafast", fileSource(false), resource.EncoderSettings{Ladder: "test-360p", Preset: "ultrafast"}, Options{}},
		{"continue-padded", fileSource(true), resource.EncoderSettings{Ladder: "test-360p"}, Options{ChunkDuration: 200 * time.Millisecond}},
		{"low-latency-1s", fileSource(false), resource.EncoderSettings{Ladder: "test-360p", SegmentSeconds: 1}, Options{ChunkDuration: 200 * time.Millisecond, LowLatency: true}},
		{"webrtc-1s", fileSource(false), resource.EncoderSettings{Ladder: "test-360p", SegmentSeconds: 1}, Options{ChunkDuration: resource.WebRTCChunk, LowLatency: true, WebRTC: true}},
		{"webrtc-main-no-tune", fileSource(false), resource.EncoderSettings{Ladder: "test-360p"}, Options{WebRTC: true}},
		{"live-low-latency-1s", LiveSource(), resource.EncoderSettings{Ladder: "test-360p", SegmentSeconds: 1}, Options{ChunkDuration: 200 * time.Millisecond, LowLatency: true}},
		{"live-default-720p", LiveSource(), resource.EncoderSettings{Ladder: "default-720p"}, Options{}},
		// The input's video copied beside an encoded rung: one decode, for
		// the encoded rung only.
		{"live-passthrough-ll", LiveSource(), resource.EncoderSettings{
			Video: []resource.VideoDescription{
				{Name: "source", Passthrough: true},
				{Name: "360p", Width: 640, Height: 360, Bitrate: 800000, FPS: 30, Profile: "main", Preset: "ultrafast"},
			},
			SegmentSeconds: 1,
		}, Options{ChunkDuration: 200 * time.Millisecond, LowLatency: true}},
		// Only the input's video: nothing is decoded but the audio.
		{"live-passthrough-only", LiveSource(), resource.EncoderSettings{
			Video:          []resource.VideoDescription{{Name: "source", Passthrough: true}},
			SegmentSeconds: 1,
		}, Options{ChunkDuration: 200 * time.Millisecond, LowLatency: true}},
		{"custom-mono-4s", Source{Args: []string{"-re", "-f", "lavfi", "-i", "smptehdbars", "-re", "-f", "lavfi", "-i", "sine"}, Video: "0:v:0", Audio: "1:a:0"},
			resource.EncoderSettings{
				Video: []resource.VideoDescription{
					{Name: "hd", Width: 1280, Height: 720, Bitrate: 2500000, FPS: 50, Profile: "high", Preset: "faster"},
				},
				Audio:          &resource.AudioDescription{Bitrate: 64000, Channels: 1, SampleRate: 44100},
				SegmentSeconds: 4,
			}, Options{}},
		// On the channel's grid: a file read from 3600.4 s of media time,
		// its output from the boundary at 3602 s; a live stream stamped
		// from 3540 s, with a passthrough rung.
		{"grid-file", fileSource(false), resource.EncoderSettings{Ladder: "test-360p"},
			Options{Timing: &Timing{Start: 3602 * time.Second, Offset: 3600400 * time.Millisecond}}},
		{"grid-live-passthrough-ll", LiveSource(), resource.EncoderSettings{
			Video: []resource.VideoDescription{
				{Name: "source", Passthrough: true},
				{Name: "360p", Width: 640, Height: 360, Bitrate: 800000, FPS: 25, Profile: "main", Preset: "ultrafast"},
			},
			SegmentSeconds: 1,
		}, Options{ChunkDuration: 200 * time.Millisecond, LowLatency: true, Timing: &Timing{Start: 3601 * time.Second, Offset: 3540 * time.Second}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := Build(c.src, ladder(t, c.enc), c.opts)
			golden.Check(t, c.name+".argv", render(cmd))
		})
	}
}

func TestBuildOutputsOnePipePerRendition(t *testing.T) {
	cmd := Build(fileSource(false), ladder(t, resource.EncoderSettings{Ladder: "default-1080p"}), Options{})
	want := []Output{{"1080p", false, 4}, {"720p", false, 5}, {"480p", false, 6}, {"360p", false, 7}, {AudioRendition, true, 8}}
	if len(cmd.Outputs) != len(want) {
		t.Fatalf("outputs %+v", cmd.Outputs)
	}
	for i, o := range cmd.Outputs {
		if o != want[i] {
			t.Errorf("output %d = %+v, want %+v", i, o, want[i])
		}
	}
	joined := strings.Join(cmd.Args, " ")
	if strings.Count(joined, " -i ") != 1 {
		t.Errorf("the source must be decoded once: %s", joined)
	}
	if strings.Count(joined, "-g 60 -keyint_min 60 -sc_threshold 0") != 4 {
		t.Errorf("every rung needs a 2 s GOP at 30 fps without scene cuts: %s", joined)
	}
}
