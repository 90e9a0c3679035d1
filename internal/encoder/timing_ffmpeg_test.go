package encoder

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// TestTimedEncoderFollowsAPictureSizeChange feeds a timed encoder a live
// stream whose pictures change from 16:9 to 4:3 half way: the filter graph
// is not rebuilt (the run's start stays where it was), and the new
// pictures are letterboxed into the rung, not stretched.
func TestTimedEncoderFollowsAPictureSizeChange(t *testing.T) {
	bin := media.Tool(t, "ffmpeg")
	dir := t.TempDir()
	part := func(name, size, offset string) string {
		p := filepath.Join(dir, name)
		media.FFmpeg(t, "-f", "lavfi", "-i", "color=c=white:s="+size+":r=30", "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "2",
			"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac", "-output_ts_offset", offset, "-f", "mpegts", p)
		return p
	}
	wide, square := part("wide.ts", "320x180", "10"), part("square.ts", "640x480", "12")
	stream := filepath.Join(dir, "in.ts")
	var joined []byte
	for _, p := range []string{wide, square} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, data...)
	}
	if err := os.WriteFile(stream, joined, 0o600); err != nil {
		t.Fatal(err)
	}
	l := resource.Ladder{
		Rungs:   []resource.Rung{{Name: "180p", Width: 320, Height: 180, Bitrate: 300000, MaxBitrate: 400000, FPS: 30, Profile: "main", Preset: "ultrafast"}},
		Audio:   resource.Audio{Bitrate: 64000, Channels: 2, SampleRate: 48000},
		Segment: time.Second,
	}
	cmd := Build(LiveSource(), l, Options{Timing: &Timing{Start: 3611 * time.Second, Offset: 3600 * time.Second}})
	video := filepath.Join(dir, "video.mp4")
	var args []string
	for i := 0; i < len(cmd.Args); i++ {
		switch a := cmd.Args[i]; {
		case a == "-progress":
			i++ // and its pipe
		case a == "pipe:0":
			args = append(args, stream)
		case a == "pipe:4":
			args = append(args, video)
		case strings.HasPrefix(a, "pipe:"):
			args = append(args, filepath.Join(dir, a[len("pipe:"):]+".mp4"))
		default:
			args = append(args, a)
		}
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("encoder: %v\n%s", err, out)
	}
	// A picture of the second part (the mpegts muxer starts each part 1.4 s
	// in): white in the middle, black at the
	// sides (320x180 holds 4:3 as 240x180).
	frame := filepath.Join(dir, "frame.rgb")
	media.FFmpeg(t, "-i", video, "-vf", "select=gte(n\\,100)", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", frame)
	rgb, err := os.ReadFile(frame)
	if err != nil || len(rgb) != 320*180*3 {
		t.Fatalf("frame: %v, %d bytes", err, len(rgb))
	}
	at := func(x, y int) byte { return rgb[(y*320+x)*3] }
	if edge, mid := at(10, 90), at(160, 90); edge > 40 || mid < 200 {
		t.Errorf("a 4:3 picture in the 16:9 rung: %d at its edge, %d in its middle; want it letterboxed (black, white)", edge, mid)
	}
}
