package switcher

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/sluice-video/sluice/internal/input/live"
)

// FillMode is what a channel shows while its input is lost.
type FillMode string

// Fill modes.
const (
	FillBlack FillMode = "BLACK"
	FillSlate FillMode = "SLATE"
	// FillLastFrame repeats the last key frame of the input.
	FillLastFrame FillMode = "LAST_FRAME"
)

// Clip is a short encoded fill: one GOP of video starting with a key frame,
// and one frame of silence that is repeated as long as needed.
type Clip struct {
	Video       []live.Frame // timestamps from zero, no B-frames
	FrameDur    time.Duration
	Silence     live.Frame
	SilenceDur  time.Duration
	VideoParams [][]byte
}

// FillMaker encodes fill clips with ffmpeg, once per shape, and keeps them.
type FillMaker struct {
	FFmpeg string
	// Dir holds scratch files; the system temporary directory when empty.
	Dir string

	mu    sync.Mutex
	clips map[string]*Clip
}

// Shape is what a fill clip must match to be spliced into an output.
type Shape struct {
	Mode FillMode
	// Slate names the image shown in SLATE mode (any format ffmpeg reads);
	// OpenSlate opens it, nil opens Slate as a path.
	Slate     string
	OpenSlate func() (*os.File, error)
	Video     live.Codec
	Width     int
	Height    int
	FPS       int
	Audio     *live.Track
}

func (s Shape) key() string {
	a := s.Audio
	return fmt.Sprintf("%s/%s/%s/%dx%d@%d/%s/%d/%d/%x", s.Mode, s.Slate, s.Video, s.Width, s.Height, s.FPS, a.Codec, a.SampleRate, a.Channels, a.AACConfig)
}

// Clip returns the fill clip of a shape, encoding it the first time.
func (f *FillMaker) Clip(ctx context.Context, s Shape) (*Clip, error) {
	if s.Mode == FillLastFrame {
		s.Mode = FillBlack // before any frame was seen, the last frame is black
	}
	if s.Mode == FillSlate && s.Slate == "" {
		s.Mode = FillBlack
	}
	k := s.key()
	f.mu.Lock()
	c, ok := f.clips[k]
	f.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := f.encode(ctx, s)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.clips == nil {
		f.clips = map[string]*Clip{}
	}
	f.clips[k] = c
	f.mu.Unlock()
	return c, nil
}

// encode runs ffmpeg for one second of fill and reads it back as frames.
func (f *FillMaker) encode(ctx context.Context, s Shape) (*Clip, error) {
	dir, err := os.MkdirTemp(f.Dir, "sluice-fill-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	out := filepath.Join(dir, "fill.ts")
	size := fmt.Sprintf("%dx%d", s.Width, s.Height)
	fps := strconv.Itoa(s.FPS)
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}
	var stdin *os.File
	if s.Mode == FillSlate {
		open := s.OpenSlate
		if open == nil {
			open = func() (*os.File, error) { return os.Open(s.Slate) }
		}
		if stdin, err = open(); err != nil {
			return nil, fmt.Errorf("the slate: %w", err)
		}
		defer func() { _ = stdin.Close() }()
		// The opened image on standard input: ffmpeg reads the file that
		// was checked, whatever the path leads to by now.
		args = append(args, "-loop", "1", "-framerate", fps, "-f", "image2", "-pattern_type", "none", "-i", "file:/dev/stdin")
	} else {
		args = append(args, "-f", "lavfi", "-i", "color=c=black:s="+size+":r="+fps)
	}
	a := s.Audio
	layout := "stereo"
	if a.Channels == 1 {
		layout = "mono"
	}
	args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("anullsrc=r=%d:cl=%s", a.SampleRate, layout),
		"-t", "1", "-map", "0:v", "-map", "1:a",
		"-vf", fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p", s.Width, s.Height, s.Width, s.Height))
	switch s.Video {
	case live.H265:
		args = append(args, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint="+fps+":bframes=0:log-level=error")
	default:
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-g", fps, "-bf", "0")
	}
	args = append(args, "-r", fps)
	switch a.Codec {
	case live.Opus:
		args = append(args, "-c:a", "libopus", "-ar", "48000", "-ac", strconv.Itoa(a.Channels))
	case live.MP3:
		args = append(args, "-c:a", "libmp3lame", "-ar", strconv.Itoa(a.SampleRate), "-ac", strconv.Itoa(a.Channels))
	default:
		args = append(args, "-c:a", "aac", "-ar", strconv.Itoa(a.SampleRate), "-ac", strconv.Itoa(a.Channels))
	}
	args = append(args, "-f", "mpegts", out)
	cmd := exec.CommandContext(ctx, f.FFmpeg, args...) //nolint:gosec // argv built here from validated numbers
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("encoding the %s fill: %w: %s", s.Mode, err, bytes.TrimSpace(msg))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	return readClip(data, s)
}

// readClip demuxes an encoded fill into a Clip.
func readClip(data []byte, s Shape) (*Clip, error) {
	hub := live.NewHub("fill", nil)
	sub := hub.Subscribe(4096)
	sess, _ := hub.Claim(live.Publisher{Protocol: "fill"})
	if err := live.ReadTS(bytes.NewReader(data), sess, nil); err != nil {
		return nil, fmt.Errorf("reading the fill back: %w", err)
	}
	sess.Close("done")
	c := &Clip{FrameDur: time.Second / time.Duration(s.FPS)}
	var audio []live.Frame
	for done := false; !done; {
		select {
		case e := <-sub.Events():
			switch e.Type {
			case live.EventStarted:
				v, _ := split(e.Tracks)
				c.VideoParams = v.ParamSets
			case live.EventFrame:
				if e.Frame.Kind == live.Video {
					c.Video = append(c.Video, e.Frame)
				} else {
					audio = append(audio, e.Frame)
				}
			}
		default:
			done = true
		}
	}
	if len(c.Video) == 0 || !c.Video[0].Key || len(audio) < 3 {
		return nil, fmt.Errorf("the fill has %d video and %d audio frames", len(c.Video), len(audio))
	}
	base := c.Video[0].DTS
	for i := range c.Video {
		c.Video[i].PTS -= base
		c.Video[i].DTS -= base
	}
	// A frame from the middle: the first ones may carry encoder priming.
	c.Silence = audio[len(audio)/2]
	c.SilenceDur = audioFrameDur(s.Audio, c.Silence)
	return c, nil
}

// audioFrameDur is how long one audio frame of the track lasts.
func audioFrameDur(t *live.Track, f live.Frame) time.Duration {
	rate := max(t.SampleRate, 1)
	switch t.Codec {
	case live.Opus:
		if d := opus.PacketDuration2(f.Data); d > 0 {
			return time.Duration(d) * time.Second / 48000
		}
		return 20 * time.Millisecond
	case live.MP3:
		return 1152 * time.Second / time.Duration(rate)
	}
	return mpeg4audio.SamplesPerAccessUnit * time.Second / time.Duration(rate)
}

// DefaultAudio is the output audio when the input has none (or none yet):
// AAC-LC, 48 kHz, stereo.
func DefaultAudio() *live.Track {
	cfg := mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}
	b, _ := cfg.Marshal()
	return &live.Track{Kind: live.Audio, Codec: live.AAC, SampleRate: 48000, Channels: 2, AACConfig: b}
}
