package vod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Probe is what ffprobe found in an input.
type Probe struct {
	Format     string   `json:"format"`
	Duration   float64  `json:"durationSeconds"`
	Size       int64    `json:"size"`
	VideoCodec string   `json:"videoCodec,omitempty"`
	Width      int      `json:"width,omitempty"`
	Height     int      `json:"height,omitempty"`
	FrameRate  float64  `json:"frameRate,omitempty"`
	AudioCodec string   `json:"audioCodec,omitempty"`
	Streams    []string `json:"streams"`
}

// Length returns the input's duration as ffprobe found it.
func (p Probe) Length() time.Duration { return time.Duration(p.Duration * float64(time.Second)) }

// InputError is a problem with the input file itself: retrying cannot help.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// IsInputError reports whether err is a problem with the input.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

type ffprobeOut struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// probeFile inspects the input file and explains in plain words why it
// cannot be used.
func probeFile(ctx context.Context, ffprobe, path string) (Probe, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Probe{}, err
	}
	if st.Size() == 0 {
		return Probe{}, inputErrorf("input is empty (0 bytes)")
	}
	cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-protocol_whitelist", "file", "file:"+path) //nolint:gosec // the configured ffprobe on a file the worker fetched
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return Probe{}, ctx.Err()
	}
	reason := strings.TrimSpace(stderr.String())
	if err != nil {
		switch {
		case strings.Contains(reason, "moov atom not found"):
			return Probe{}, inputErrorf("input is corrupt or truncated: no MP4 index (moov box) was found")
		case strings.Contains(reason, "Invalid data found"):
			return Probe{}, inputErrorf("input is not a media file ffmpeg can read (invalid data)")
		}
		return Probe{}, inputErrorf("input cannot be read: %s", lastLine(reason))
	}
	var fo ffprobeOut
	if err := json.Unmarshal(out, &fo); err != nil {
		return Probe{}, inputErrorf("input cannot be read: ffprobe gave no description")
	}
	p := Probe{Format: fo.Format.FormatName, Size: st.Size()}
	p.Duration, _ = strconv.ParseFloat(fo.Format.Duration, 64)
	for _, s := range fo.Streams {
		p.Streams = append(p.Streams, s.CodecType+":"+s.CodecName)
		switch {
		case s.CodecType == "video" && p.VideoCodec == "" && s.CodecName != "mjpeg" && s.CodecName != "png":
			p.VideoCodec, p.Width, p.Height = s.CodecName, s.Width, s.Height
			p.FrameRate = parseRate(s.AvgFrameRate)
		case s.CodecType == "audio" && p.AudioCodec == "":
			p.AudioCodec = s.CodecName
		}
	}
	if p.VideoCodec == "" && p.AudioCodec == "" {
		return Probe{}, inputErrorf("input has no video or audio stream")
	}
	if p.Duration <= 0 {
		return Probe{}, inputErrorf("input has no duration: it is a still image or a live stream, not a file to transcode")
	}
	return p, nil
}

func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	n, _ := strconv.ParseFloat(num, 64)
	d, _ := strconv.ParseFloat(den, 64)
	if d == 0 {
		return 0
	}
	return n / d
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "ffprobe failed"
	}
	return s
}
