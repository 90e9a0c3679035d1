// Package livetest holds what the tests of the live input packages share:
// a logger into the test log, the deadline of their polls, a recorder
// of what a hub delivers, and real ffmpeg publishers and sources.
package livetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// WaitLong is the tests' deadline: generous, the machine is shared and slow.
const WaitLong = 60 * time.Second

// Logger logs into the test's log, debug level included.
func Logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

// CaptureLog logs into the test's log, as Logger does, and returns what
// was logged so far on demand, for tests of what is logged.
func CaptureLog(t *testing.T) (*slog.Logger, func() string) {
	c := &captured{t: t}
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})), c.String
}

// captured is a test writer that keeps a copy.
type captured struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *captured) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(p)
	c.mu.Unlock()
	return testWriter{c.t}.Write(p)
}

func (c *captured) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Prefixes parses CIDR blocks, panicking on a typo in the test.
func Prefixes(cidrs ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

// Watcher records what a hub subscriber receives.
type Watcher struct {
	mu       sync.Mutex
	tracks   []*live.Track
	starts   int
	frames   map[live.Kind]int
	lastDTS  map[live.Kind]time.Duration
	backward int
	ended    []string
}

// Watch subscribes to h until the test ends.
func Watch(t *testing.T, h *live.Hub) *Watcher {
	w := &Watcher{frames: map[live.Kind]int{}, lastDTS: map[live.Kind]time.Duration{}}
	sub := h.Subscribe(4096)
	t.Cleanup(sub.Close)
	go func() {
		for e := range sub.Events() {
			w.mu.Lock()
			switch e.Type {
			case live.EventStarted:
				w.tracks = e.Tracks
				w.starts++
			case live.EventFrame:
				k := e.Frame.Kind
				if w.frames[k] > 0 && e.Frame.DTS < w.lastDTS[k] {
					w.backward++
				}
				w.frames[k]++
				w.lastDTS[k] = e.Frame.DTS
			case live.EventEnded:
				w.ended = append(w.ended, e.Reason)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// Count is the number of frames of kind k received.
func (w *Watcher) Count(k live.Kind) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames[k]
}

// Snapshot returns the last tracks, how many times the stream started,
// how many frames went back in time and why the stream ended each time.
func (w *Watcher) Snapshot() (tracks []*live.Track, starts, backward int, ended []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tracks, w.starts, w.backward, append([]string(nil), w.ended...)
}

// Track is the current track of kind k, or nil.
func (w *Watcher) Track(k live.Kind) *live.Track {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, tr := range w.tracks {
		if tr.Kind == k {
			return tr
		}
	}
	return nil
}

// ExpectMedia waits for tracks of the given codecs and size, then for a
// growing number of frames with timestamps that only increase.
func ExpectMedia(t *testing.T, w *Watcher, video, audio live.Codec, width, height int) {
	t.Helper()
	poll.UntilTrue(t, "the publisher's tracks", WaitLong, func() bool { return w.Track(live.Video) != nil })
	poll.UntilTrue(t, "video and audio frames", WaitLong, func() bool { return w.Count(live.Video) >= 40 && (audio == "" || w.Count(live.Audio) >= 40) })
	v, a := w.Track(live.Video), w.Track(live.Audio)
	if v.Codec != video || v.Width != width || v.Height != height {
		t.Errorf("video track %+v, want %s %dx%d", v, video, width, height)
	}
	if audio != "" && (a == nil || a.Codec != audio || a.SampleRate == 0 || a.Channels == 0) {
		t.Errorf("audio track %+v, want %s", a, audio)
	}
	before := w.Count(live.Video)
	poll.UntilTrue(t, "more frames", WaitLong, func() bool { return w.Count(live.Video) > before+10 })
	if _, _, backward, _ := w.Snapshot(); backward > 0 {
		t.Errorf("%d frames went back in time", backward)
	}
}

// FFmpegPublish runs ffmpeg in real time until the test ends; its output
// is logged when the test fails.
func FFmpegPublish(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin := media.Tool(t, "ffmpeg")
	ctx, cancel := context.WithCancel(context.Background())
	full := append([]string{"-hide_banner", "-nostdin", "-loglevel", "warning", "-re"}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("ffmpeg output:\n%s", out.String())
		}
	})
	return cmd
}

// Lavfi returns ffmpeg input arguments for a test picture and a tone.
func Lavfi(width, height, sampleRate, seconds int) []string {
	return []string{
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25", width, height),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=%d", sampleRate),
		"-t", fmt.Sprint(seconds),
	}
}

// TSFile encodes a test stream as MPEG-TS with ffmpeg.
func TSFile(t testing.TB, vcodec, acodec string, width, height int, seconds float64) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.ts")
	args := []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25", width, height),
		"-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", fmt.Sprint(seconds),
		"-c:v", vcodec, "-g", "25", "-pix_fmt", "yuv420p", "-preset", "ultrafast"}
	if vcodec == "libx265" {
		args = append(args, "-x265-params", "log-level=error")
	}
	args = append(args, "-c:a", acodec, "-f", "mpegts", p)
	media.FFmpeg(t, args...)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
