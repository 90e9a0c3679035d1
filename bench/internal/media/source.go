// Package media generates the source files the benchmarks feed to Sluice,
// so that every run encodes the same synthetic picture and sound without
// shipping a video file.
package media

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Source describes a generated MP4: a moving test picture (testsrc2) in
// H.264 and a sine tone in AAC, with a keyframe every two seconds like a
// typical contribution file.
type Source struct {
	Width, Height int
	FPS           int
	Seconds       int
}

// Generate writes the source to path with ffmpeg.
func Generate(ctx context.Context, ffmpeg, path string, s Source) error {
	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", s.Width, s.Height, s.FPS),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(s.Seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", strconv.Itoa(2 * s.FPS),
		"-c:a", "aac", "-b:a", "128k", "-ac", "2",
		"-movflags", "+faststart",
		path,
	}
	out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("generating %s: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// String describes the source for reports, such as "1920x1080p30, 30 s,
// testsrc2 + 440 Hz sine".
func (s Source) String() string {
	return fmt.Sprintf("%dx%dp%d H.264/AAC, %d s, testsrc2 + 440 Hz sine", s.Width, s.Height, s.FPS, s.Seconds)
}
