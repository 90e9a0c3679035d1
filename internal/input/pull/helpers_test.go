package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// waitLong is the tests' deadline: generous, the machine is shared and slow.
const waitLong = 90 * time.Second

// testOptions shortens the backoff so reconnections happen within a test.
func testOptions() options {
	o := defaultOptions()
	o.connectTimeout = 10 * time.Second
	o.readTimeout = 5 * time.Second
	o.firstBackoff = 100 * time.Millisecond
	o.maxBackoff = time.Second
	return o
}

// pulling is a Run in the background.
type pulling struct {
	logs   *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan error
}

// startRun runs the puller of input from url until the test ends. Its
// logs are shown when the test fails, or always with SLUICE_TEST_LOGS=1.
func startRun(t *testing.T, reg *live.Registry, input, url string, o options) *pulling {
	t.Helper()
	p := &pulling{logs: &syncbuf.Buffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	logger := slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { p.done <- run(ctx, reg, input, url, logger, o) }()
	t.Cleanup(func() {
		if err := p.stop(t); err != nil {
			t.Errorf("Run returned %v", err)
		}
		if t.Failed() || os.Getenv("SLUICE_TEST_LOGS") != "" {
			t.Logf("puller logs:\n%s", p.logs.String())
		}
	})
	return p
}

// stop cancels Run and waits for it to return.
func (p *pulling) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	select {
	case err, ok := <-p.done:
		if ok {
			close(p.done)
		}
		return err
	case <-time.After(waitLong):
		t.Fatal("Run did not return after its context ended")
		return nil
	}
}

// watcher records what a hub subscriber receives.
type watcher struct {
	mu       sync.Mutex
	tracks   []*live.Track
	starts   int
	frames   map[live.Kind]int
	keys     int
	reorder  int
	lastDTS  map[live.Kind]time.Duration
	backward int
	ended    []string
	pubs     []live.Publisher
}

func watch(t *testing.T, h *live.Hub) *watcher {
	w := &watcher{frames: map[live.Kind]int{}, lastDTS: map[live.Kind]time.Duration{}}
	sub := h.Subscribe(8192)
	t.Cleanup(sub.Close)
	go func() {
		for e := range sub.Events() {
			w.mu.Lock()
			switch e.Type {
			case live.EventStarted:
				w.tracks = e.Tracks
				w.starts++
				w.pubs = append(w.pubs, e.Publisher)
				w.lastDTS = map[live.Kind]time.Duration{}
			case live.EventFrame:
				k := e.Frame.Kind
				if last, ok := w.lastDTS[k]; ok && e.Frame.DTS <= last {
					w.backward++
				}
				if e.Frame.PTS < e.Frame.DTS {
					w.backward++
				}
				if e.Frame.PTS > e.Frame.DTS {
					w.reorder++
				}
				w.frames[k]++
				if k == live.Video && e.Frame.Key {
					w.keys++
				}
				w.lastDTS[k] = e.Frame.DTS
			case live.EventEnded:
				w.ended = append(w.ended, e.Reason)
				w.lastDTS = map[live.Kind]time.Duration{}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *watcher) count(k live.Kind) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames[k]
}

func (w *watcher) reorderedFrames() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reorder
}

func (w *watcher) endings() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ended...)
}

func (w *watcher) track(k live.Kind) *live.Track {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, tr := range w.tracks {
		if tr.Kind == k {
			return tr
		}
	}
	return nil
}

// expectMedia waits for tracks of the given codecs and size, then for a
// growing number of frames with timestamps that only increase.
func expectMedia(t *testing.T, w *watcher, video, audio live.Codec, width, height int) {
	t.Helper()
	poll.UntilTrue(t, "the source's tracks", waitLong, func() bool { return w.track(live.Video) != nil })
	poll.UntilTrue(t, "video and audio frames", waitLong, func() bool {
		return w.count(live.Video) >= 30 && (audio == "" || w.count(live.Audio) >= 30)
	})
	v, a := w.track(live.Video), w.track(live.Audio)
	if v.Codec != video || v.Width != width || v.Height != height || len(v.ParamSets) == 0 {
		t.Errorf("video track %+v, want %s %dx%d with parameter sets", v, video, width, height)
	}
	if audio != "" && (a == nil || a.Codec != audio || a.SampleRate != 48000 || a.Channels == 0) {
		t.Errorf("audio track %+v, want %s at 48 kHz", a, audio)
	}
	before := w.count(live.Video)
	poll.UntilTrue(t, "more frames", waitLong, func() bool { return w.count(live.Video) > before+10 })
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.backward > 0 {
		t.Errorf("%d frames went back in time (or had PTS before DTS)", w.backward)
	}
	if w.keys == 0 {
		t.Error("no key frames")
	}
}

// encode writes a test stream with ffmpeg into dir/name and returns its path.
func encode(t testing.TB, dir, name string, seconds float64, outArgs ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
		"-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k"}
	args = append(args, outArgs...)
	media.FFmpeg(t, append(args, p)...)
	return p
}

// tsFile encodes an H.264/AAC MPEG-TS of the given length.
func tsFile(t testing.TB, seconds float64) []byte {
	t.Helper()
	data, err := os.ReadFile(encode(t, t.TempDir(), "in.ts", seconds, "-f", "mpegts"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sample is one access unit of a clip.
type sample struct {
	video    bool
	pts, dts time.Duration
	au       [][]byte
	data     []byte
}

// clip is a stream demuxed in the test, to feed test servers: H.264 or
// H.265 video, AAC or Opus audio.
type clip struct {
	video         live.Codec
	vps, sps, pps []byte
	audio         live.Codec
	aac           *mpeg4audio.AudioSpecificConfig
	samples       []sample
	length        time.Duration
	reordered     bool // some video has PTS after DTS: B-frames
}

// loadClip demuxes an MPEG-TS file into samples, in file order.
func loadClip(t testing.TB, data []byte) *clip {
	t.Helper()
	r := &mpegts.Reader{R: bytes.NewReader(data)}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	c := &clip{}
	var td mpegts.TimeDecoder
	td.Initialize()
	at := func(v int64) time.Duration { return time.Duration(td.Decode(v)) * time.Second / 90000 }
	onVideo := func(pts, dts int64, au [][]byte) error {
		for _, n := range au {
			if c.video == live.H264 {
				switch h264.NALUType(n[0] & 0x1f) {
				case h264.NALUTypeSPS:
					c.sps = n
				case h264.NALUTypePPS:
					c.pps = n
				}
				continue
			}
			switch h265.NALUType((n[0] >> 1) & 0x3f) {
			case h265.NALUType_VPS_NUT:
				c.vps = n
			case h265.NALUType_SPS_NUT:
				c.sps = n
			case h265.NALUType_PPS_NUT:
				c.pps = n
			}
		}
		p, d := at(pts), at(dts)
		c.samples = append(c.samples, sample{video: true, pts: p, dts: d, au: au})
		c.length = max(c.length, d)
		c.reordered = c.reordered || p > d
		return nil
	}
	for _, tr := range r.Tracks() {
		switch codec := tr.Codec.(type) {
		case *tscodecs.H264:
			c.video = live.H264
			r.OnDataH264(tr, onVideo)
		case *tscodecs.H265:
			c.video = live.H265
			r.OnDataH265(tr, onVideo)
		case *tscodecs.MPEG4Audio:
			cfg := codec.Config
			c.audio, c.aac = live.AAC, &cfg
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error {
				p := at(pts)
				for i, au := range aus {
					off := time.Duration(i) * 1024 * time.Second / time.Duration(cfg.SampleRate)
					c.samples = append(c.samples, sample{pts: p + off, dts: p + off, data: au})
				}
				return nil
			})
		case *tscodecs.Opus:
			c.audio = live.Opus
			r.OnDataOpus(tr, func(pts int64, packets [][]byte) error {
				p := at(pts)
				for _, pkt := range packets {
					c.samples = append(c.samples, sample{pts: p, dts: p, data: pkt})
					p += ticks(opus.PacketDuration2(pkt), 48000)
				}
				return nil
			})
		}
	}
	for {
		if err := r.Read(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
	}
	if c.sps == nil || c.pps == nil || c.audio == "" {
		t.Fatal("the clip has no video parameters or no audio")
	}
	return c
}

// pace sleeps until a sample's time, the clip looping with offset.
func pace(ctx context.Context, start time.Time, at time.Duration) bool {
	d := time.Until(start.Add(at))
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// freePort returns a TCP port nobody listens on, for servers the test
// starts later (ffmpeg).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).AddrPort().String()
}

// ffmpegBackground runs ffmpeg until the test ends.
func ffmpegBackground(t *testing.T, args ...string) {
	t.Helper()
	bin := media.Tool(t, "ffmpeg")
	ctx, cancel := context.WithCancel(context.Background())
	full := append([]string{"-hide_banner", "-nostdin", "-loglevel", "warning"}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
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
}

// logsContain polls the puller's logs for text.
func logsContain(t *testing.T, p *pulling, text string) {
	t.Helper()
	poll.UntilTrue(t, fmt.Sprintf("%q in the logs", text), waitLong, func() bool { return strings.Contains(p.logs.String(), text) })
}

// newTestLogger logs everything, for assertions on the words.
func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
