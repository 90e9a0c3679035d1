package switcher

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// ratedFeeder publishes a looped clip on a hub in fake time at a rate of
// real time: 2 sends two seconds of media each second.
type ratedFeeder struct {
	session *live.Session
	frames  []live.Frame
	span    time.Duration
	next    int
	// base is when the media time baseDTS is due; rate is the media time
	// sent per second of fake time from there.
	base    time.Time
	baseDTS time.Duration
	rate    float64
}

// frame is the next frame of the endless, looped clip.
func (f *ratedFeeder) frame() live.Frame {
	loop := time.Duration(f.next / len(f.frames))
	fr := f.frames[f.next%len(f.frames)]
	fr.PTS += loop * f.span
	fr.DTS += loop * f.span
	fr.Received = time.Time{}
	return fr
}

func (f *ratedFeeder) setRate(now time.Time, rate float64) {
	f.base, f.baseDTS, f.rate = now, f.frame().DTS, rate
}

func (f *ratedFeeder) sendDue(now time.Time) {
	for {
		fr := f.frame()
		if f.base.Add(time.Duration(float64(fr.DTS-f.baseDTS) / f.rate)).After(now) {
			return
		}
		f.session.Write(fr)
		f.next++
	}
}

// An input sent at twice real time does not carry a placed run's output
// ahead of the wall clock: the frames that come too early are dropped, the
// output goes on from a key frame once the wall clock has caught up, placed
// at its arrival, and when the input slows to real time again it stays on
// air where its frames arrive, with no restart.
func TestInputFasterThanRealTimeKeepsTheOutputOnTheClock(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx264", "2")
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	hub := live.NewHub("cam", clk.Now)
	sw := New(Config{Primary: hub, Fills: &FillMaker{FFmpeg: media.Tool(t, "ffmpeg")}, Width: 320, Height: 180, FPS: 25, Now: clk.Now})
	video, audio := sw.Tracks()
	ctx := context.Background()
	r, err := sw.newRun(ctx, io.Discard, video, audio)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	r.clock = NewClock()
	r.place(&Placement{Zero: clk.Now()})
	s, err := hub.Claim(live.Publisher{Protocol: "test", Remote: "pub"})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTracks(tracks)
	feed := &ratedFeeder{session: s, frames: frames, span: frames[len(frames)-1].DTS - frames[0].DTS + 40*time.Millisecond}
	feed.setRate(clk.Now(), 1)
	advance := func(d time.Duration) {
		t.Helper()
		for end := clk.Now().Add(d); clk.Now().Before(end); {
			clk.add(tickEvery)
			feed.sendDue(clk.Now())
			for _, src := range r.sources {
				for src.pending() {
					e, ok := <-src.sub.Events()
					if err := r.handle(ctx, src, e, ok); err != nil {
						t.Fatalf("at %v: %v", clk.Now().Sub(r.start), err)
					}
				}
			}
			if err := r.tick(ctx); err != nil {
				t.Fatalf("at %v: %v", clk.Now().Sub(r.start), err)
			}
		}
	}
	advance(3 * time.Second)
	if r.mode != modeLive {
		t.Fatal("the input is not on air after 3 s")
	}
	feed.setRate(clk.Now(), 2)
	advance(10 * time.Second)
	fastEnd := clk.Now()
	feed.setRate(clk.Now(), 1)
	advance(5 * time.Second)
	if r.mode != modeLive || r.ahead {
		t.Fatalf("after the input slowed to real time: mode %d, dropping %v", r.mode, r.ahead)
	}
	if st := sw.Status(); st.DroppedInput == 0 {
		t.Error("no frame of the fast input was counted as dropped")
	}

	// Every frame written stands for an instant no later than its arrival
	// plus the bound; the output's end stays with the wall clock.
	r.clock.mu.Lock()
	defer r.clock.mu.Unlock()
	var written, afterFast int
	var last time.Duration = -1
	for i := range r.clock.size() {
		f := r.clock.frame(i)
		if f.pts <= last {
			t.Fatalf("output time went back from %v to %v", last, f.pts)
		}
		last = f.pts
		if ahead := r.start.Add(f.pts).Sub(f.captured); ahead > aheadLimit+40*time.Millisecond {
			t.Errorf("a frame that arrived at %v is written %v ahead of its arrival", f.captured.Sub(r.start), ahead)
		}
		if late := f.captured.Sub(r.start.Add(f.pts)); f.captured.After(fastEnd.Add(time.Second)) && late > 40*time.Millisecond {
			t.Errorf("after the input slowed down, a frame that arrived at %v is written %v late", f.captured.Sub(r.start), late)
		}
		written++
		if f.captured.After(fastEnd.Add(time.Second)) {
			afterFast++
		}
	}
	if end := r.start.Add(last); end.After(clk.Now().Add(aheadLimit)) || end.Before(clk.Now().Add(-time.Second)) {
		t.Errorf("the output ends at %v, the wall clock is at %v", end.Sub(r.start), clk.Now().Sub(r.start))
	}
	if afterFast < 75 {
		t.Errorf("only %d frames written in the 4 s after the input slowed down", afterFast)
	}
	t.Logf("%d frames written over %v, %d dropped", written, clk.Now().Sub(r.start), sw.Status().DroppedInput)
}
