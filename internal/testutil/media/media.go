// Package media generates test media with ffmpeg's lavfi sources, so tests
// use real encoded streams without committing media files.
package media

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RequireEnv names the variable that, when set to 1, turns a missing tool into a test failure
// instead of a skip; the test command sets it so CI never skips silently.
const RequireEnv = "SLUICE_REQUIRE_TOOLS"

// Tool returns the path of an external program the test needs, or skips
// the test (fails it when RequireEnv is set).
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s is required for this test but is not installed: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// FFmpeg runs ffmpeg with args and fails the test with its output on error.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	bin := Tool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	full := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	out, err := exec.CommandContext(ctx, bin, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// Sample writes an H.264/AAC MP4 of the given size and length into dir and
// returns its path: a moving test picture with a tone.
func Sample(t testing.TB, dir string, width, height int, seconds float64) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("sample-%dx%d-%gs.mp4", width, height, seconds))
	FFmpeg(t,
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", width, height),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.FormatFloat(seconds, 'f', -1, 64),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
		"-c:a", "aac", "-b:a", "96k", "-shortest", "-movflags", "+faststart", p)
	return p
}

// EncoderStream returns a short fragmented MP4 stream of the kind Sluice's
// encoder writes (key frames every second, 500 ms fragments), for seeding
// fuzz tests; nil when ffmpeg is not installed.
func EncoderStream(tb testing.TB) []byte {
	tb.Helper()
	return Output(tb, "mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", "2.5",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-force_key_frames", "expr:gte(t,n_forced*1)",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "500000")
}

// TransportStream returns a short MPEG-TS stream with H.264 and AAC, for
// seeding fuzz tests; nil when ffmpeg is not installed.
func TransportStream(tb testing.TB) []byte {
	tb.Helper()
	return Output(tb, "ts", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-f", "lavfi", "-i", "sine", "-t", "1.5",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-c:a", "aac", "-f", "mpegts")
}

// Output runs ffmpeg with args and an output file of the given extension
// and returns what it wrote; nil (and a log line) when ffmpeg is missing or
// fails, since seeds are a bonus, not a requirement.
func Output(tb testing.TB, ext string, args ...string) []byte {
	tb.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil
	}
	p := filepath.Join(tb.TempDir(), "out."+ext)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	if out, err := exec.Command(bin, append(full, p)...).CombinedOutput(); err != nil {
		tb.Logf("ffmpeg %v: %v: %s", args, err, out)
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return data
}
