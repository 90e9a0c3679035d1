package switcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// clipFrames encodes a test picture of a size and reads it as live frames.
func clipFrames(t *testing.T, size, vcodec string, seconds string) ([]*live.Track, []live.Frame) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clip.ts")
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-t", seconds, "-c:v", vcodec, "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p"}
	if vcodec == "libx265" {
		args = append(args, "-x265-params", "log-level=error")
	}
	args = append(args, "-c:a", "aac", "-ac", "2", "-f", "mpegts", p)
	media.FFmpeg(t, args...)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub("clip", nil)
	sub := hub.Subscribe(100000)
	s, _ := hub.Claim(live.Publisher{})
	if err := live.ReadTS(bytes.NewReader(data), s, nil); err != nil {
		t.Fatal(err)
	}
	var tracks []*live.Track
	var frames []live.Frame
	for len(sub.Events()) > 0 {
		switch e := <-sub.Events(); e.Type {
		case live.EventStarted:
			tracks = e.Tracks
		case live.EventFrame:
			frames = append(frames, e.Frame)
		}
	}
	return tracks, frames
}

// publisher plays frames on a hub in real time, looping, until stopped.
type publisher struct {
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	paused bool
}

func publish(t *testing.T, hub *live.Hub, tracks []*live.Track, frames []live.Frame, remote string) *publisher {
	t.Helper()
	p := &publisher{stop: make(chan struct{}), done: make(chan struct{})}
	s, err := hub.Claim(live.Publisher{Protocol: "test", Remote: remote})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTracks(tracks)
	go func() {
		defer close(p.done)
		defer s.Close("the test publisher stopped")
		start := time.Now()
		span := frames[len(frames)-1].DTS - frames[0].DTS + 40*time.Millisecond
		for loop := time.Duration(0); ; loop++ {
			for _, f := range frames {
				due := start.Add(loop*span + f.DTS - frames[0].DTS)
				select {
				case <-p.stop:
					return
				case <-time.After(time.Until(due)):
				}
				p.mu.Lock()
				paused := p.paused
				p.mu.Unlock()
				if paused {
					continue
				}
				f.PTS += loop * span
				f.DTS += loop * span
				f.Received = time.Time{}
				s.Write(f)
			}
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *publisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func (p *publisher) pause(v bool) {
	p.mu.Lock()
	p.paused = v
	p.mu.Unlock()
}

// watcher reads the switcher's output back and records which picture size
// it carried at which output time.
type watcher struct {
	mu      sync.Mutex
	changes []change // resolution changes in output order
	frames  int
	lastDTS time.Duration
	err     error
	ended   bool // the switcher's stream ended and was read to its end
	back    bool // a timestamp went backwards
	raw     bytes.Buffer
}

type change struct {
	at            time.Duration
	width, height int
}

func watch(t *testing.T, r io.Reader) *watcher {
	t.Helper()
	w := &watcher{}
	hub := live.NewHub("out", nil)
	sub := hub.Subscribe(100000)
	s, _ := hub.Claim(live.Publisher{})
	go func() {
		err := live.ReadTS(io.TeeReader(r, &lockedWriter{w: w}), s, nil)
		w.mu.Lock()
		w.err, w.ended = err, true
		w.mu.Unlock()
	}()
	go func() {
		var size [2]int
		for e := range sub.Events() {
			w.mu.Lock()
			switch e.Type {
			case live.EventStarted:
				v, _ := split(e.Tracks)
				size = [2]int{v.Width, v.Height}
			case live.EventFrame:
				if e.Frame.Kind == live.Video {
					if len(w.changes) == 0 || w.changes[len(w.changes)-1].width != size[0] {
						w.changes = append(w.changes, change{at: e.Frame.DTS, width: size[0], height: size[1]})
					}
					if w.frames > 0 && e.Frame.DTS <= w.lastDTS {
						w.back = true
					}
					w.lastDTS = e.Frame.DTS
					w.frames++
				}
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(sub.Close)
	return w
}

type lockedWriter struct{ w *watcher }

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	return l.w.raw.Write(p)
}

func (w *watcher) snapshot() ([]change, int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]change(nil), w.changes...), w.frames, w.back
}

// all waits for the switcher's stream to end (cancel its run first) and
// returns it whole: read while the switcher still writes, its last frame
// could be cut short.
func (w *watcher) all(t *testing.T) []byte {
	t.Helper()
	var data []byte
	poll.UntilTrue(t, "the switcher's stream to end", 60*time.Second, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		data = append([]byte(nil), w.raw.Bytes()...)
		return w.ended
	})
	return data
}

// waitFor polls until the output has shown the sizes in order.
func (w *watcher) waitFor(t *testing.T, widths ...int) []change {
	t.Helper()
	return w.waitForFrom(t, 0, widths...)
}

// waitFrames polls until the output has carried at least n video frames.
func (w *watcher) waitFrames(t *testing.T, n int) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("%d frames in the output", n), 60*time.Second, func() (bool, string) {
		_, frames, _ := w.snapshot()
		return frames >= n, fmt.Sprintf("%d frames", frames)
	})
}

func containsInOrder(changes []change, widths []int) bool {
	i := 0
	for _, c := range changes {
		if i < len(widths) && c.width == widths[i] {
			i++
		}
	}
	return i == len(widths)
}

func newSwitcher(t *testing.T, cfg Config) (*Switcher, *watcher, context.CancelFunc, chan error) {
	t.Helper()
	return newSwitcherWith(t, cfg, false)
}

// newSwitcherWith is newSwitcher whose run's audio is silent or not.
func newSwitcherWith(t *testing.T, cfg Config, silent bool) (*Switcher, *watcher, context.CancelFunc, chan error) {
	t.Helper()
	cfg.Fills = &FillMaker{FFmpeg: media.Tool(t, "ffmpeg")}
	cfg.Width, cfg.Height, cfg.FPS = 640, 360, 25
	sw := New(cfg)
	pr, pw := io.Pipe()
	w := watch(t, pr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	video, audio := sw.Tracks()
	go func() {
		err := sw.Run(ctx, pw, RunSpec{Video: video, Audio: audio, Silent: silent})
		_ = pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Logf("switcher ended: %v", err)
		}
	})
	return sw, w, cancel, done
}

func TestFillThenInputThenFill(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx264", "2")
	in := live.NewHub("cam", nil)
	sw, w, _, _ := newSwitcher(t, Config{Primary: in, InputLoss: 500 * time.Millisecond})
	w.waitFor(t, 640) // fill before anyone publishes
	p := publish(t, in, tracks, frames, "192.0.2.1:1")
	w.waitFor(t, 640, 320)
	if st := sw.Status(); st.Filling || st.ActiveInput != "cam" {
		t.Errorf("status while live: %+v", st)
	}
	p.pause(true) // the publisher stays connected but sends nothing
	w.waitFor(t, 640, 320, 640)
	p.pause(false)
	w.waitFor(t, 640, 320, 640, 320)
	p.close() // the publisher leaves
	changes := w.waitFor(t, 640, 320, 640, 320, 640)
	if st := sw.Status(); st.FillSeconds <= 0 || st.LossSeconds <= 0 {
		t.Errorf("fill and loss time must be counted: %+v", st)
	}
	t.Logf("output sizes over time: %+v", changes)
}

// waitLiveOn polls until the switcher carries input, not fill.
func waitLiveOn(t *testing.T, sw *Switcher, input string) {
	t.Helper()
	poll.Until(t, "live on "+input, 60*time.Second, func() (bool, string) {
		st := sw.Status()
		return st.ActiveInput == input && !st.Filling, fmt.Sprintf("status %+v", st)
	})
}

// waitForFrom is waitFor on the changes from index from on.
func (w *watcher) waitForFrom(t *testing.T, from int, widths ...int) []change {
	t.Helper()
	var changes []change
	poll.Until(t, fmt.Sprintf("widths %v in order from change %d on", widths, from), 60*time.Second, func() (bool, string) {
		var back bool
		changes, _, back = w.snapshot()
		if back {
			t.Fatal("an output timestamp went backwards")
		}
		return containsInOrder(changes[from:], widths), fmt.Sprintf("output sizes %+v", changes)
	})
	return changes[from:]
}

// liveOnPrimary starts a primary and, once the output carries it, a
// secondary: the secondary never gets the chance to go first.
func liveOnPrimary(t *testing.T, policy Policy, loss, clear time.Duration) (*Switcher, *watcher, *publisher, func() []Event) {
	t.Helper()
	pTracks, pFrames := clipFrames(t, "320x180", "libx264", "2")
	sTracks, sFrames := clipFrames(t, "256x144", "libx264", "2")
	primary, secondary := live.NewHub("main", nil), live.NewHub("backup", nil)
	var mu sync.Mutex
	var events []Event
	sw, w, _, _ := newSwitcher(t, Config{
		Primary: primary, Secondary: secondary, Policy: policy, InputLoss: loss, ErrorClear: clear,
		OnEvent: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
	})
	pp := publish(t, primary, pTracks, pFrames, "192.0.2.1:1")
	w.waitFor(t, 320)
	publish(t, secondary, sTracks, sFrames, "192.0.2.2:1")
	waitLiveOn(t, sw, "main")
	return sw, w, pp, func() []Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]Event(nil), events...)
	}
}

func TestFailoverAndBack(t *testing.T) {
	// Loss and error-clear times well above any hold-up of a loaded machine:
	// this test is about what happens, not how fast.
	sw, w, pp, events := liveOnPrimary(t, PrimaryPreferred, 3*time.Second, 3*time.Second)
	changes0, _, _ := w.snapshot()
	from, switches0, events0 := len(changes0), sw.Status().Switches, len(events())

	pp.pause(true)
	changes := w.waitForFrom(t, from, 256)
	// The secondary follows the primary's last frame in media time: no fill
	// in between.
	if changes[0].width != 256 {
		t.Errorf("fill between primary and secondary: %+v", changes)
	}
	waitLiveOn(t, sw, "backup")
	pp.pause(false)
	w.waitForFrom(t, from, 256, 320)
	waitLiveOn(t, sw, "main")

	var types []string
	for _, e := range events()[events0:] {
		types = append(types, e.Type+" "+e.Input)
	}
	want := []string{"input.lost main", "input.switched backup", "input.switched main"}
	if len(types) != len(want) || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Errorf("events after the primary paused %v, want %v", types, want)
	}
	if st := sw.Status(); st.Switches-switches0 != 2 {
		t.Errorf("%d switches after the primary paused, want 2: %+v", st.Switches-switches0, st)
	}
}

func TestEqualPolicyStays(t *testing.T) {
	const clear = 3 * time.Second
	sw, w, pp, _ := liveOnPrimary(t, Equal, 3*time.Second, clear)
	changes0, _, _ := w.snapshot()
	from, switches0 := len(changes0), sw.Status().Switches

	pp.pause(true)
	changes := w.waitForFrom(t, from, 256)
	waitLiveOn(t, sw, "backup")
	switched := from
	for changes[switched-from].width != 256 {
		switched++
	}
	pp.pause(false)
	// Give a wrong switch back every chance: the error-clear time and three
	// more seconds of output, at 25 frames a second, with the primary healthy.
	_, frames, _ := w.snapshot()
	w.waitFrames(t, frames+int((clear+3*time.Second)/(40*time.Millisecond)))
	changes, _, _ = w.snapshot()
	for _, c := range changes[switched+1:] {
		if c.width == 320 {
			t.Errorf("EQUAL went back to the primary: %+v", changes[from:])
			break
		}
	}
	if st := sw.Status(); st.ActiveInput != "backup" || st.Switches-switches0 != 1 {
		t.Errorf("EQUAL must stay on the secondary after one switch: %+v", st)
	}
}

func TestNewCodecNeedsANewEncoder(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx265", "1")
	in := live.NewHub("cam", nil)
	_, w, _, done := newSwitcher(t, Config{Primary: in})
	w.waitFor(t, 640)
	publish(t, in, tracks, frames, "192.0.2.1:1")
	select {
	case err := <-done:
		var restart *NeedRestart
		if !errors.As(err, &restart) || restart.Video.Codec != live.H265 {
			t.Fatalf("want a restart for H.265, got %v", err)
		}
		done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatal("the switcher went on with an H.265 input on an H.264 stream")
	}
}

// wantRestart waits for the run to end asking for a new encoder for reason.
func wantRestart(t *testing.T, done chan error, reason string) {
	t.Helper()
	select {
	case err := <-done:
		var restart *NeedRestart
		if !errors.As(err, &restart) || !strings.Contains(restart.Reason, reason) {
			t.Fatalf("want a restart because %s, got %v", reason, err)
		}
		done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatalf("the switcher went on: want a restart because %s", reason)
	}
}

func TestAudioInASilentRunNeedsANewEncoder(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx264", "1")
	in := live.NewHub("cam", nil)
	_, w, _, done := newSwitcherWith(t, Config{Primary: in}, true)
	w.waitFor(t, 640)
	publish(t, in, tracks, frames, "192.0.2.1:1")
	wantRestart(t, done, "brings audio")
}

func TestRestartIntoInput(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx264", "1")
	in := live.NewHub("cam", nil)
	_, w, _, done := newSwitcher(t, Config{Primary: in, RestartIntoInput: true})
	w.waitFor(t, 640)
	publish(t, in, tracks, frames, "192.0.2.1:1")
	wantRestart(t, done, "on air after fill")
}

// A publisher whose first frames were queued while it connected: the run
// placed on the wall clock by its fill would date every later frame late.
func TestLateFirstKeyFrameNeedsANewEncoder(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx264", "2")
	in := live.NewHub("cam", nil)
	_, w, _, done := newSwitcher(t, Config{Primary: in})
	w.waitFor(t, 640)
	s, err := in.Claim(live.Publisher{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTracks(tracks)
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer s.Close("done")
		// The first half second arrives at once, the rest in real time.
		start := time.Now().Add(-500 * time.Millisecond)
		for _, f := range frames {
			select {
			case <-stop:
				return
			case <-time.After(time.Until(start.Add(f.DTS - frames[0].DTS))):
			}
			f.Received = time.Time{}
			s.Write(f)
		}
	}()
	t.Cleanup(func() { close(stop); <-finished })
	wantRestart(t, done, "frames")
}

func TestOutputDecodes(t *testing.T) {
	ffmpeg := media.Tool(t, "ffmpeg")
	tracks, frames := clipFrames(t, "320x180", "libx264", "2")
	in := live.NewHub("cam", nil)
	_, w, cancel, _ := newSwitcher(t, Config{Primary: in, InputLoss: 400 * time.Millisecond})
	p := publish(t, in, tracks, frames, "192.0.2.1:1")
	w.waitFor(t, 320)
	w.waitFrames(t, 40)
	p.pause(true)
	w.waitFor(t, 320, 640)
	w.waitFrames(t, 80)
	p.pause(false)
	w.waitFor(t, 320, 640, 320)
	w.waitFrames(t, 120)
	cancel()
	data := w.all(t)
	cmd := exec.Command(ffmpeg, "-hide_banner", "-v", "error", "-xerror", "-f", "mpegts", "-i", "pipe:0", "-f", "null", "-")
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("ffmpeg cannot decode the switched stream: %v\n%s", err, out)
	}
}

// meanColour decodes the last picture of an MPEG-TS stream scaled to one
// pixel: its red, green and blue.
func meanColour(t *testing.T, ts []byte) [3]byte {
	t.Helper()
	cmd := exec.Command(media.Tool(t, "ffmpeg"), "-hide_banner", "-v", "error", "-f", "mpegts", "-i", "pipe:0",
		"-vf", "scale=1:1", "-update", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	cmd.Stdin = bytes.NewReader(ts)
	out, err := cmd.Output()
	if err != nil || len(out) < 3 {
		t.Fatalf("decoding the output: %v (%d bytes)", err, len(out))
	}
	return [3]byte(out[len(out)-3:])
}

func TestSlateFillShowsTheSlate(t *testing.T) {
	slate := filepath.Join(t.TempDir(), "slate.png")
	media.FFmpeg(t, "-f", "lavfi", "-i", "color=c=red:s=640x360", "-frames:v", "1", slate)
	_, w, cancel, _ := newSwitcher(t, Config{Primary: live.NewHub("cam", nil), InputLoss: 400 * time.Millisecond, Fill: FillSlate, Slate: slate})
	w.waitFor(t, 640)
	w.waitFrames(t, 40)
	cancel()
	data := w.all(t)
	if c := meanColour(t, data); c[0] < 150 || c[1] > 100 || c[2] > 100 {
		t.Errorf("the fill is %v, want the red slate", c)
	}
}

func TestLastFrameFillRepeatsThePicture(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx264", "2")
	in := live.NewHub("cam", nil)
	sw, w, cancel, _ := newSwitcher(t, Config{Primary: in, InputLoss: 400 * time.Millisecond, Fill: FillLastFrame})
	p := publish(t, in, tracks, frames, "192.0.2.1:1")
	w.waitFor(t, 320)
	w.waitFrames(t, 40)
	p.pause(true)
	poll.UntilTrue(t, "the switcher to fill after the input stopped", 60*time.Second, func() bool { return sw.Status().Filling })
	_, n, _ := w.snapshot()
	w.waitFrames(t, n+40) // well into the fill
	cancel()
	data := w.all(t)
	if c := meanColour(t, data); int(c[0])+int(c[1])+int(c[2]) < 60 {
		t.Errorf("the fill is %v: black, not the input's last picture", c)
	}
}
