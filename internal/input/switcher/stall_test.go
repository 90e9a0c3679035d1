package switcher

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// feeder publishes a clip on a hub in fake time, looping, as a publisher
// would in real time; the hub stamps each frame with the fake clock.
type feeder struct {
	session *live.Session
	frames  []live.Frame
	start   time.Time
	span    time.Duration
	next    int // index into the endless, looped clip
	paused  bool
	last    time.Time // when the last frame was written
}

func newFeeder(t *testing.T, hub *live.Hub, clk *fakeClock, tracks []*live.Track, frames []live.Frame) *feeder {
	t.Helper()
	s, err := hub.Claim(live.Publisher{Protocol: "test", Remote: hub.Name()})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTracks(tracks)
	return &feeder{session: s, frames: frames, start: clk.Now(),
		span: frames[len(frames)-1].DTS - frames[0].DTS + 40*time.Millisecond}
}

// sendDue writes the frames due by now; a paused feeder skips them.
func (f *feeder) sendDue(now time.Time) {
	for {
		loop := time.Duration(f.next / len(f.frames))
		fr := f.frames[f.next%len(f.frames)]
		if f.start.Add(loop*f.span + fr.DTS - f.frames[0].DTS).After(now) {
			return
		}
		f.next++
		if f.paused {
			continue
		}
		fr.PTS += loop * f.span
		fr.DTS += loop * f.span
		fr.Received = time.Time{}
		f.session.Write(fr)
		f.last = now
	}
}

// stallRig drives a run by hand: the clock, the publishers and the loop.
type stallRig struct {
	t       *testing.T
	ctx     context.Context
	clk     *fakeClock
	r       *run
	feeders []*feeder

	mu     sync.Mutex
	events []Event
	at     []time.Time // fake time of each event
}

func newStallRig(t *testing.T, policy Policy, loss, clear time.Duration) *stallRig {
	t.Helper()
	pTracks, pFrames := clipFrames(t, "320x180", "libx264", "2")
	sTracks, sFrames := clipFrames(t, "256x144", "libx264", "2")
	rig := &stallRig{t: t, ctx: context.Background(), clk: &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	primary, secondary := live.NewHub("main", rig.clk.Now), live.NewHub("backup", rig.clk.Now)
	sw := New(Config{
		Primary: primary, Secondary: secondary, Policy: policy, InputLoss: loss, ErrorClear: clear,
		Fills: &FillMaker{FFmpeg: media.Tool(t, "ffmpeg")}, Width: 640, Height: 360, FPS: 25,
		Now: rig.clk.Now,
		OnEvent: func(e Event) {
			rig.mu.Lock()
			rig.events, rig.at = append(rig.events, e), append(rig.at, rig.clk.Now())
			rig.mu.Unlock()
		},
	})
	video, audio := sw.Tracks()
	r, err := sw.newRun(rig.ctx, io.Discard, video, audio)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	rig.r = r
	rig.feeders = []*feeder{
		newFeeder(t, primary, rig.clk, pTracks, pFrames),
		newFeeder(t, secondary, rig.clk, sTracks, sFrames),
	}
	return rig
}

// advance moves time on by d in steps of the loop's tick while the inputs
// publish. With the loop running it takes every event, then ticks, at each
// step; stalled, it does nothing and the events wait in the subscriptions.
func (rig *stallRig) advance(d time.Duration, running bool) {
	rig.t.Helper()
	for end := rig.clk.Now().Add(d); rig.clk.Now().Before(end); {
		rig.clk.add(tickEvery)
		for _, f := range rig.feeders {
			f.sendDue(rig.clk.Now())
		}
		if running {
			rig.events1()
			if err := rig.r.tick(rig.ctx); err != nil {
				rig.t.Fatal(err)
			}
		}
	}
}

// events1 handles what waits in the subscriptions, one event at a time, as
// the loop does when its select picks the events before the tick.
func (rig *stallRig) events1() {
	rig.t.Helper()
	for _, src := range rig.r.sources {
		for src.pending() {
			e, ok := <-src.sub.Events()
			if err := rig.r.handle(rig.ctx, src, e, ok); err != nil {
				rig.t.Fatal(err)
			}
		}
	}
}

// ticksFirst is the loop's select picking its tick before the waiting
// events, twice in a row, after a hold-up: the first tick after a hold-up
// judges nothing, the second does.
func (rig *stallRig) ticksFirst() {
	rig.t.Helper()
	for i := 0; i < 2; i++ {
		if err := rig.r.tick(rig.ctx); err != nil {
			rig.t.Fatal(err)
		}
		rig.clk.add(tickEvery)
	}
}

func (rig *stallRig) seen() ([]Event, []time.Time) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return append([]Event(nil), rig.events...), append([]time.Time(nil), rig.at...)
}

func (rig *stallRig) wantLive(input string) {
	rig.t.Helper()
	if rig.r.mode != modeLive || rig.r.active.name() != input {
		events, _ := rig.seen()
		rig.t.Fatalf("mode %d on %s, want live on %s; events %+v", rig.r.mode, rig.r.active.name(), input, events)
	}
}

// A stall of the switcher longer than the input loss time, with frames
// arriving all along, is not an input loss, whichever the loop takes first
// afterwards; a real loss is still found after the loss time, and fails over.
func TestStallIsNotAnInputLoss(t *testing.T) {
	const loss = time.Second
	rig := newStallRig(t, PrimaryPreferred, loss, 3*time.Second)
	rig.advance(2*time.Second, true)
	rig.wantLive("main")

	// The loop is held up for 1.5 s, then its select picks the tick first.
	rig.advance(1500*time.Millisecond, false)
	rig.ticksFirst()
	rig.wantLive("main")
	// Held up again, then the select picks the frames first.
	rig.advance(1500*time.Millisecond, false)
	rig.events1()
	if err := rig.r.tick(rig.ctx); err != nil {
		t.Fatal(err)
	}
	rig.advance(time.Second, true)
	rig.wantLive("main")
	if events, _ := rig.seen(); len(events) != 0 {
		t.Fatalf("a stall with media arriving made events %+v", events)
	}

	// The primary really stops: lost after the loss time, not before.
	primary := rig.feeders[0]
	primary.paused = true
	lastMedia := primary.last
	rig.advance(loss-50*time.Millisecond, true)
	if events, _ := rig.seen(); len(events) != 0 {
		t.Fatalf("lost before the loss time: %+v", events)
	}
	rig.advance(time.Second, true)
	events, at := rig.seen()
	if len(events) != 2 || events[0].Type != "input.lost" || events[0].Input != "main" ||
		events[1].Type != "input.switched" || events[1].Input != "backup" {
		t.Fatalf("events %+v, want main lost and a switch to backup", events)
	}
	if d := at[0].Sub(lastMedia); d <= loss || d > loss+2*tickEvery {
		t.Errorf("lost %v after the last media, want just over %v", d, loss)
	}
	rig.wantLive("backup")
}

// A stall while a recovered primary proves itself does not restart its
// error-clear time: the switch back comes error-clear after its media came
// back, measured in arrival time.
func TestStallKeepsTheErrorClearTime(t *testing.T) {
	const loss, clear = time.Second, 3 * time.Second
	rig := newStallRig(t, PrimaryPreferred, loss, clear)
	rig.advance(2*time.Second, true)
	primary := rig.feeders[0]
	primary.paused = true
	rig.advance(2*time.Second, true)
	rig.wantLive("backup")
	before, _ := rig.seen()

	primary.paused = false
	rig.advance(tickEvery, true)
	back := primary.last
	if back.IsZero() {
		t.Fatal("the primary sent nothing after its pause")
	}
	rig.advance(time.Second, true)
	// Held up for 1.5 s; the select then takes the waiting frames first.
	rig.advance(1500*time.Millisecond, false)
	rig.events1()
	for i := 0; i < 300 && rig.r.active.name() != "main"; i++ {
		rig.advance(tickEvery, true)
	}
	rig.wantLive("main")
	events, at := rig.seen()
	events, at = events[len(before):], at[len(before):]
	if len(events) != 1 || events[0].Type != "input.switched" || events[0].Input != "main" {
		t.Fatalf("events after the primary came back %+v, want one switch to main", events)
	}
	// The switch waits for a key frame: the clip has one a second.
	if d := at[0].Sub(back); d < clear || d > clear+time.Second+2*tickEvery {
		t.Errorf("switched back %v after the primary came back, want %v to %v", d, clear, clear+time.Second)
	}
}

// An input that stops while the whole process is held up is lost at the
// second tick after the hold-up: one tick of grace for the inputs' readers,
// no more.
func TestLossDuringAStall(t *testing.T) {
	const loss = time.Second
	rig := newStallRig(t, PrimaryPreferred, loss, 3*time.Second)
	rig.advance(2*time.Second, true)
	rig.wantLive("main")
	rig.feeders[0].paused = true
	rig.advance(1500*time.Millisecond, false)
	rig.events1()
	if err := rig.r.tick(rig.ctx); err != nil {
		t.Fatal(err)
	}
	if events, _ := rig.seen(); len(events) != 0 {
		t.Fatalf("judged at the first tick after a hold-up: %+v", events)
	}
	rig.clk.add(tickEvery)
	if err := rig.r.tick(rig.ctx); err != nil {
		t.Fatal(err)
	}
	events, _ := rig.seen()
	if len(events) != 2 || events[0].Type != "input.lost" || events[0].Input != "main" ||
		events[1].Type != "input.switched" || events[1].Input != "backup" {
		t.Fatalf("events %+v, want main lost and a switch to backup at the second tick", events)
	}
	rig.wantLive("backup")
}
