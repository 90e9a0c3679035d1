package channel

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/encoder/ffmpeg"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/redundancy"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// alignLadder has a rung with B-frames (its decode times run ahead of its
// presentation times) and one at another frame rate, 1 s segments.
func alignLadder() resource.Ladder {
	return resource.Ladder{
		Rungs: []resource.Rung{
			{Name: "180p", Width: 320, Height: 180, Bitrate: 300000, MaxBitrate: 400000, FPS: 30, Profile: "main", Preset: "veryfast"},
			{Name: "90p", Width: 160, Height: 90, Bitrate: 100000, MaxBitrate: 150000, FPS: 25, Profile: "baseline", Preset: "ultrafast"},
		},
		Audio:   resource.Audio{Bitrate: 64000, Channels: 2, SampleRate: 48000},
		Segment: time.Second,
	}
}

// alignedConfig is the timeline configuration of a pipeline of the ladder.
func alignedConfig(t *testing.T, l resource.Ladder, as time.Time) cmaf.Config {
	t.Helper()
	var rends []cmaf.RenditionConfig
	for _, r := range l.Rungs {
		rends = append(rends, cmaf.RenditionConfig{ID: r.Name, Kind: cmaf.Video, FrameRate: r.FPS})
	}
	rends = append(rends, cmaf.RenditionConfig{ID: encoder.AudioRendition, Kind: cmaf.Audio})
	return cmaf.Config{
		SegmentDuration: l.Segment, Window: time.Minute, AvailabilityStart: as, Renditions: rends,
		Logger: livetest.Logger(t),
	}
}

// alignedTimeline is one pipeline's timeline of the ladder.
func alignedTimeline(t *testing.T, l resource.Ladder, as time.Time) *cmaf.Timeline {
	t.Helper()
	tl, err := cmaf.NewTimeline(alignedConfig(t, l, as))
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// startAligned starts one pipeline on the grid: the encoder's command for
// src (a live source fed by sw) with the timing of a run starting now.
func startAligned(t *testing.T, name string, src encoder.Source, sw *switcher.Switcher, tl *cmaf.Timeline, l resource.Ladder) *pipeline {
	t.Helper()
	timing, place := gridTiming(time.Now(), tl.AvailabilityStart(), l.Segment, sw != nil)
	cmd := encoder.Build(src, l, encoder.Options{ChunkDuration: 250 * time.Millisecond, Timing: timing})
	var feed feeder
	var clock cmaf.Clock
	if sw != nil {
		video, audio := sw.Tracks()
		run := switcher.RunSpec{Video: video, Audio: audio, Clock: switcher.NewClock(), Place: place}
		clock = run.Clock
		feed = func(ctx context.Context, w io.Writer) error { return sw.Run(ctx, w, run) }
	}
	p, err := startPipeline(media.Tool(t, "ffmpeg"), cmd, tl, nil, feed, clock, false, func(ffmpeg.Progress) {},
		livetest.Logger(t).With("pipeline", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.stop(ctx)
	})
	return p
}

// TestPatternPipelinesAreAligned runs two encoders of the same
// TEST_PATTERN channel, started 1.37 s apart (not a whole number of
// segments or frames), on timelines with the same availability start, and
// checks that they cut the same segments.
func TestPatternPipelinesAreAligned(t *testing.T) {
	l := alignLadder()
	as := time.Now().Add(-time.Hour).Truncate(time.Second)
	src, err := input.Resolver{}.Source(resource.InputSpec{
		Name: "bars", Type: resource.InputTestPattern,
		TestPattern: &resource.TestPattern{Width: 320, Height: 180, FPS: 30, ToneHz: 1000},
	}, resource.InputAttachment{Input: "bars"}, true)
	if err != nil {
		t.Fatal(err)
	}
	a, b := alignedTimeline(t, l, as), alignedTimeline(t, l, as)
	pa := startAligned(t, "A", src, nil, a, l)
	time.Sleep(1370 * time.Millisecond)
	pb := startAligned(t, "B", src, nil, b, l)
	checkAligned(t, l, a, b, pa, pb)
}

// TestLivePipelinesAreAligned feeds two pipelines from one live input (a
// publisher with B-frames, in real time), each through its own switcher
// as two nodes would, started 1.37 s apart.
func TestLivePipelinesAreAligned(t *testing.T) {
	l := alignLadder()
	as := time.Now().Add(-time.Hour).Truncate(time.Second)
	hub := live.NewHub("cam", nil)
	publishClip(t, hub)
	bin := media.Tool(t, "ffmpeg")
	newSwitcher := func() *switcher.Switcher {
		return switcher.New(switcher.Config{Primary: hub, Fills: &switcher.FillMaker{FFmpeg: bin}, Width: 320, Height: 180, FPS: 30,
			Logger: livetest.Logger(t)})
	}
	poll.Until(t, "the publisher's tracks", 10*time.Second, func() (bool, string) {
		_, ok := hub.Tracks()
		return ok, "none yet"
	})
	a, b := alignedTimeline(t, l, as), alignedTimeline(t, l, as)
	pa := startAligned(t, "A", encoder.LiveSource(), newSwitcher(), a, l)
	time.Sleep(1370 * time.Millisecond)
	pb := startAligned(t, "B", encoder.LiveSource(), newSwitcher(), b, l)
	checkAligned(t, l, a, b, pa, pb)
}

// publishClip publishes a 10 s clip with B-frames on hub in real time,
// looped, with timestamps that keep growing, as a publisher would.
func publishClip(t *testing.T, hub *live.Hub) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clip.ts")
	media.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ac", "2", "-f", "mpegts", p)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	reader := live.NewHub("clip", nil)
	sub := reader.Subscribe(100000)
	rs, _ := reader.Claim(live.Publisher{})
	if err := live.ReadTS(bytes.NewReader(data), rs, nil); err != nil {
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
	s, err := hub.Claim(live.Publisher{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTracks(tracks)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer s.Close("the test publisher stopped")
		start := time.Now()
		span := 10 * time.Second
		for loop := time.Duration(0); ; loop++ {
			for _, f := range frames {
				// Frames leave in decode order, each once it was captured.
				due := start.Add(loop*span + max(f.PTS, f.DTS) - frames[0].DTS)
				select {
				case <-stop:
					return
				case <-time.After(time.Until(due)):
				}
				f.PTS += loop * span
				f.DTS += loop * span
				f.Received = time.Time{}
				s.Write(f)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// checkAligned waits until both timelines have four segments in common
// after their first ones and checks that they are the same segments: the
// same numbers for the same media times (the grid's), the same decode
// times and durations, aligned, from identical init segments; and that a
// segment of one followed by the next of the other decodes back to back.
func checkAligned(t *testing.T, l resource.Ladder, a, b *cmaf.Timeline, pa, pb *pipeline) {
	t.Helper()
	var common []uint64
	poll.Until(t, "four segments in common", 60*time.Second, func() (bool, string) {
		common = commonNumbers(a, b)
		return len(common) >= 4, fmt.Sprintf("%d in common", len(common))
	})
	ids := []string{encoder.AudioRendition}
	for _, r := range l.Rungs {
		ids = append(ids, r.Name)
	}
	for _, id := range ids {
		ia, _ := a.Init(id, pa.feed.ID())
		ib, _ := b.Init(id, pb.feed.ID())
		if !bytes.Equal(ia, ib) {
			t.Errorf("%s: the init segments differ (%d and %d bytes)", id, len(ia), len(ib))
		}
		for _, n := range common {
			sa, _ := a.Segment(id, n)
			sb, _ := b.Segment(id, n)
			if sa.Start != sb.Start || sa.Duration != sb.Duration {
				t.Errorf("%s segment %d: A starts at %d for %d ticks, B at %d for %d", id, n, sa.Start, sa.Duration, sb.Start, sb.Duration)
			}
			if !sa.Aligned || !sb.Aligned {
				t.Errorf("%s segment %d: aligned %v in A, %v in B", id, n, sa.Aligned, sb.Aligned)
			}
		}
	}
	// The number is the grid's: segment k starts at k seconds.
	for _, n := range common {
		seg, _ := a.Segment(l.Rungs[0].Name, n)
		k := uint64(seg.StartTimeOf(90000) / l.Segment)
		if want := a.GridNumber(k); n != want {
			t.Errorf("segment starting at %v is number %d, want %d", seg.StartTimeOf(90000), n, want)
		}
	}
	for _, tl := range []*cmaf.Timeline{a, b} {
		if s := tl.Snapshot(time.Minute); !s.Runs[0].Aligned {
			t.Errorf("a run is not aligned")
		}
	}
	sa, sb := a.Snapshot(time.Minute), b.Snapshot(time.Minute)
	t.Logf("A has segments %d to %d, B %d to %d; compared %v", sa.Renditions[0].Segments[0].Number, sa.Renditions[0].Segments[len(sa.Renditions[0].Segments)-1].Number,
		sb.Renditions[0].Segments[0].Number, sb.Renditions[0].Segments[len(sb.Renditions[0].Segments)-1].Number, common)
	n := common[0]
	for _, id := range ids {
		init, _ := a.Init(id, pa.feed.ID())
		sa, _ := a.Segment(id, n)
		sb, _ := b.Segment(id, n+1)
		checkBackToBack(t, id, append(append(append([]byte(nil), init...), sa.Data...), sb.Data...))
	}
}

// commonNumbers lists the numbers both timelines have (and the next one
// too).
func commonNumbers(a, b *cmaf.Timeline) []uint64 {
	sa, sb := a.Snapshot(time.Minute), b.Snapshot(time.Minute)
	if len(sa.Renditions) == 0 || len(sb.Renditions) == 0 {
		return nil
	}
	in := map[uint64]bool{}
	for _, s := range sb.Renditions[0].Segments {
		in[s.Number] = true
	}
	var out []uint64
	for _, s := range sa.Renditions[0].Segments {
		if in[s.Number] && in[s.Number+1] {
			out = append(out, s.Number)
		}
	}
	return out
}

// checkBackToBack decodes an init segment and two segments written one
// after the other: no decoding error, and every frame presented within one
// frame of where the previous one ended.
func checkBackToBack(t *testing.T, id string, data []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), id+".mp4")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(media.Tool(t, "ffmpeg"), "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", f, "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("%s: decoding A(n)+B(n+1): %v %s", id, err, out)
	}
	probe, err := exec.Command(media.Tool(t, "ffprobe"), "-v", "error", "-show_entries", "frame=pts_time,pkt_duration_time",
		"-of", "csv=p=0", f).Output()
	if err != nil {
		t.Fatalf("%s: ffprobe: %v", id, err)
	}
	var prevEnd, frame float64
	var frames int
	for _, line := range strings.Fields(string(probe)) {
		fields := strings.Split(line, ",")
		if len(fields) < 2 {
			continue
		}
		pts, err1 := strconv.ParseFloat(fields[0], 64)
		dur, err2 := strconv.ParseFloat(fields[1], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if frames > 0 {
			if gap := pts - prevEnd; gap > frame+1e-3 || gap < -frame-1e-3 {
				t.Errorf("%s: frame %d at %.6f s, %.6f s from where the previous one ended", id, frames, pts, gap)
			}
		}
		prevEnd, frame = pts+dur, dur
		frames++
	}
	if frames < 10 {
		t.Errorf("%s: only %d frames decoded from A(n)+B(n+1)", id, frames)
	}
	t.Logf("%s: %d frames decoded back to back, the last ending at %.6f s", id, frames, prevEnd)
}

// TestRestartContinuesOnTheGrid stops an encoder on the grid and starts
// another on the same timeline, as a restart does: the new run's segments
// are numbered by the grid, the numbers the restart skipped are listed as
// gaps after one discontinuity, and the DASH MPD places both runs.
func TestRestartContinuesOnTheGrid(t *testing.T) {
	l := alignLadder()
	as := time.Now().Add(-time.Hour).Truncate(time.Second)
	src, err := input.Resolver{}.Source(resource.InputSpec{
		Name: "bars", Type: resource.InputTestPattern,
		TestPattern: &resource.TestPattern{Width: 320, Height: 180, FPS: 30, ToneHz: 1000},
	}, resource.InputAttachment{Input: "bars"}, true)
	if err != nil {
		t.Fatal(err)
	}
	tl := alignedTimeline(t, l, as)
	a := startAligned(t, "A", src, nil, tl, l)
	poll.Until(t, "two segments of the first run", 30*time.Second, func() (bool, string) {
		return tl.Produced() >= 2, fmt.Sprintf("%d segments", tl.Produced())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	a.stop(ctx)
	cancel()
	b := startAligned(t, "B", src, nil, tl, l)
	poll.Until(t, "two segments of the second run", 30*time.Second, func() (bool, string) {
		s := tl.Snapshot(time.Minute)
		return len(s.Runs) == 2 && len(s.Renditions[0].Segments) >= int(tl.Produced()) && countRun(s, b.feed.ID()) >= 2, fmt.Sprintf("%d runs", len(s.Runs))
	})
	snap := tl.Snapshot(time.Minute)
	for _, seg := range snap.Renditions[0].Segments {
		k := uint64(seg.StartTime(90000) / l.Segment)
		if want := tl.GridNumber(k); seg.Number != want {
			t.Errorf("segment starting at %v (run %d) is number %d, want %d", seg.StartTime(90000), seg.Run, seg.Number, want)
		}
	}
	if !snap.Runs[1].Aligned || snap.Runs[1].Discontinuity != snap.Runs[0].Discontinuity+1 {
		t.Errorf("runs %+v: want the second aligned, one discontinuity later", snap.Runs)
	}
	pl, err := hls.Media(snap, l.Rungs[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	segs := snap.Renditions[0].Segments
	var skipped uint64
	for i := 1; i < len(segs); i++ {
		skipped += segs[i].Number - segs[i-1].Number - 1
	}
	if got := uint64(strings.Count(string(pl), "#EXT-X-GAP")); got != skipped || strings.Count(string(pl), "#EXT-X-DISCONTINUITY\n") != 1 {
		t.Errorf("playlist with %d numbers skipped:\n%s", skipped, pl)
	}
	if _, err := dash.MPD(snap, dash.Options{Now: time.Now()}); err != nil {
		t.Errorf("MPD: %v", err)
	}
	t.Logf("the restart skipped %d numbers:\n%s", skipped, pl)
}

// countRun counts the segments of run id in a snapshot's first rendition.
func countRun(s *cmaf.Snapshot, id uint64) int {
	n := 0
	for _, seg := range s.Renditions[0].Segments {
		if seg.Run == id {
			n++
		}
	}
	return n
}

// TestMergedAlignedPipelinesSwitchWithoutADiscontinuity merges two live
// pipelines on the grid, as a STANDARD channel's origin does, and stops
// the one the merge serves: the merged timeline goes on with the other's
// segments, with no discontinuity and no number left out.
func TestMergedAlignedPipelinesSwitchWithoutADiscontinuity(t *testing.T) {
	l := alignLadder()
	as := time.Now().Add(-time.Hour).Truncate(time.Second)
	hub := live.NewHub("cam", nil)
	publishClip(t, hub)
	bin := media.Tool(t, "ffmpeg")
	poll.Until(t, "the publisher's tracks", 10*time.Second, func() (bool, string) {
		_, ok := hub.Tracks()
		return ok, "none yet"
	})
	var mu sync.Mutex
	var switches []redundancy.Switch
	m, err := redundancy.New(redundancy.Config{Channel: "cam", Timeline: alignedConfig(t, l, as), Logger: livetest.Logger(t),
		OnSwitch: func(s redundancy.Switch) { mu.Lock(); switches = append(switches, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	var pipes [2]*pipeline
	for i := range pipes {
		tl := alignedTimeline(t, l, as)
		sw := switcher.New(switcher.Config{Primary: hub, Fills: &switcher.FillMaker{FFmpeg: bin}, Width: 320, Height: 180, FPS: 30, Logger: livetest.Logger(t)})
		pipes[i] = startAligned(t, fmt.Sprint(i), encoder.LiveSource(), sw, tl, l)
		m.SetLocal(i, tl, nil)
		time.Sleep(1370 * time.Millisecond)
	}
	merged := m.Timeline()
	poll.Until(t, "three merged segments", 60*time.Second, func() (bool, string) {
		return merged.Produced() >= 3, fmt.Sprintf("%d merged", merged.Produced())
	})
	from, _ := m.Current()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	pipes[from].stop(ctx)
	cancel()
	stoppedAt := merged.Produced()
	poll.Until(t, "three merged segments from the other pipeline", 60*time.Second, func() (bool, string) {
		cur, _ := m.Current()
		return cur != from && merged.Produced() >= stoppedAt+3, fmt.Sprintf("%d merged, from pipeline %d", merged.Produced(), cur)
	})
	snap := merged.Snapshot(time.Minute)
	segs := snap.Renditions[0].Segments
	for i := 1; i < len(segs); i++ {
		if segs[i].Number != segs[i-1].Number+1 {
			t.Errorf("merged segment %d follows %d", segs[i].Number, segs[i-1].Number)
		}
	}
	if len(snap.Runs) != 1 {
		t.Errorf("the merged timeline has %d runs (discontinuities): %+v", len(snap.Runs), snap.Runs)
	}
	mu.Lock()
	defer mu.Unlock()
	switched := false
	for _, s := range switches {
		t.Logf("%s (discontinuity %v)", s.Message(), s.Discontinuity)
		switched = switched || s.From == from
		if s.Discontinuity {
			t.Errorf("a switch is a discontinuity: %s", s.Message())
		}
	}
	if !switched {
		t.Errorf("no switch away from pipeline %d: %+v", from, switches)
	}
	// The merged media across the switch decodes back to back.
	init, _ := merged.Init(l.Rungs[0].Name, snap.Runs[0].ID)
	data := append([]byte(nil), init...)
	for _, seg := range segs {
		s, _ := merged.Segment(l.Rungs[0].Name, seg.Number)
		data = append(data, s.Data...)
	}
	checkBackToBack(t, "merged-"+l.Rungs[0].Name, data)
}
