package clockcode

import (
	"context"
	"fmt"
	"image"
	"os/exec"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// Reading is the code read from one decoded frame.
type Reading struct {
	// Clock is the coded time (milliseconds modulo Modulo); OK is false
	// when the frame carried no readable code.
	Clock uint32
	OK    bool
}

// FrameClocks decodes a media file (or the concatenation of an init
// segment and media segments) with ffmpeg, every frame scaled to w×h in
// grey, and reads the code in each, in presentation order.
func FrameClocks(t testing.TB, path string, w, h int) []Reading {
	t.Helper()
	bin := media.Tool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path,
		"-map", "0:v:0", "-vf", fmt.Sprintf("scale=%d:%d,format=gray", w, h), "-fps_mode", "passthrough",
		"-f", "rawvideo", "pipe:1").Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("decoding %s: %v", path, err)
	}
	size := w * h
	strip := Strip(w, h)
	var rs []Reading
	for off := 0; off+size <= len(out); off += size {
		img := &image.Gray{Pix: out[off : off+size], Stride: w, Rect: image.Rect(0, 0, w, h)}
		v, ok := Read(img, strip)
		rs = append(rs, Reading{Clock: v, OK: ok})
	}
	return rs
}
