package redundancy

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// switches collects a merge's switch events.
type switches struct {
	mu   sync.Mutex
	list []Switch
}

func (s *switches) add(e Switch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, e)
}

func (s *switches) all() []Switch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

func newMerged(t *testing.T, cfg Config) (*Merged, *switches) {
	t.Helper()
	sw := &switches{}
	cfg.Channel = "news"
	cfg.Timeline = timelineConfig(epoch)
	cfg.OnSwitch = sw.add
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, sw
}

// complete returns the merged timeline's complete segments of the video.
func complete(m *Merged) []cmaf.SegmentInfo {
	snap := m.Timeline().Snapshot(time.Hour)
	if len(snap.Renditions) == 0 {
		return nil
	}
	return snap.Renditions[0].Segments
}

// lastNumber is the number of a pipeline's newest complete segment.
func lastNumber(tl *cmaf.Timeline) uint64 {
	if n := tl.NextNumber(); n > 0 {
		return n - 1
	}
	return 0
}

// untilMerged waits until the merged timeline has segment number.
func untilMerged(t *testing.T, m *Merged, number uint64) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("segment %d in the merged timeline", number), 30*time.Second, func() (bool, string) {
		segs := complete(m)
		if len(segs) == 0 {
			return false, "no segment"
		}
		last := segs[len(segs)-1].Number
		return last >= number, fmt.Sprintf("last segment %d", last)
	})
}

// playlistWatch renders the merged timeline's LL-HLS playlist over and over
// while the test runs, and remembers what players would have seen wrong.
type playlistWatch struct {
	stop     context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	problems []string
	renders  int
	// sources are where the parts listed of each segment came from.
	sources map[uint64]map[uint64]bool
}

// recordParts notes where the parts the snapshot lists come from.
func (w *playlistWatch) recordParts(tl *cmaf.Timeline, snap *cmaf.Snapshot) {
	r := snap.Renditions[0]
	for _, seg := range append(slices.Clone(r.Segments), r.Edge...) {
		for k := range seg.Parts {
			if pd, ok := tl.Part(r.ID, seg.Number, k); ok {
				if w.sources[seg.Number] == nil {
					w.sources[seg.Number] = map[uint64]bool{}
				}
				w.sources[seg.Number][pd.Source] = true
			}
		}
	}
}

func watchPlaylists(t *testing.T, tl *cmaf.Timeline, window time.Duration) *playlistWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &playlistWatch{stop: cancel, done: make(chan struct{}), sources: map[uint64]map[uint64]bool{}}
	go func() {
		defer close(w.done)
		var lastSeq, lastNum uint64
		for ctx.Err() == nil {
			snap := tl.Snapshot(window)
			body, err := hls.LowLatencyMedia(snap, "360p", hls.LowLatencyOptions{})
			if err == nil {
				seq, num, problem := readPlaylist(string(body))
				w.mu.Lock()
				w.renders++
				w.recordParts(tl, snap)
				switch {
				case problem != "":
					w.problems = append(w.problems, problem)
				case seq < lastSeq:
					w.problems = append(w.problems, fmt.Sprintf("the media sequence went back from %d to %d", lastSeq, seq))
				case num < lastNum:
					w.problems = append(w.problems, fmt.Sprintf("the newest segment went back from %d to %d", lastNum, num))
				}
				w.mu.Unlock()
				lastSeq, lastNum = max(lastSeq, seq), max(lastNum, num)
			}
			select {
			case <-ctx.Done():
			case <-tl.EdgeChanged():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.finish)
	return w
}

func (w *playlistWatch) finish() {
	w.stop()
	<-w.done
}

// check stops the watch and fails t with what it saw wrong.
func (w *playlistWatch) check(t *testing.T) {
	t.Helper()
	w.finish()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.renders == 0 {
		t.Fatal("the merged playlist was never rendered")
	}
	for _, p := range w.problems[:min(len(w.problems), 5)] {
		t.Error(p)
	}
	for n, src := range w.sources {
		if len(src) > 1 {
			t.Errorf("the parts listed of segment %d come from %d pipelines", n, len(src))
		}
	}
}

// readPlaylist returns a media playlist's media sequence and newest
// segment number, and what a player would find wrong with it: a gap or a
// discontinuity, or segment numbers that do not follow.
func readPlaylist(body string) (seq, newest uint64, problem string) {
	next := uint64(0)
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.ParseUint(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
			next = seq
		case line == "#EXT-X-GAP":
			return 0, 0, "the playlist lists a gap:\n" + body
		case line == "#EXT-X-DISCONTINUITY":
			return 0, 0, "the playlist has a discontinuity:\n" + body
		case strings.HasSuffix(line, ".m4s") && !strings.HasPrefix(line, "#"):
			n, err := strconv.ParseUint(strings.TrimSuffix(line, ".m4s"), 10, 64)
			if err != nil || n != next {
				return 0, 0, fmt.Sprintf("segment %q where %d was due:\n%s", line, next, body)
			}
			newest, next = n, n+1
		}
	}
	return seq, newest, ""
}

// sourceOfSegment says which pipeline a merged segment came from.
func sourceOfSegment(t *testing.T, m *Merged, number uint64, pipelines ...*pipeline) int {
	t.Helper()
	seg, ok := m.Timeline().Segment("360p", number)
	if !ok {
		t.Fatalf("the merged timeline has no segment %d", number)
	}
	for i, p := range pipelines {
		if p != nil && seg.Source == sourceTag(i, p.feed.ID()) {
			return i
		}
	}
	t.Fatalf("segment %d comes from no pipeline (source %x)", number, seg.Source)
	return -1
}

// checkParts verifies that every merged segment's parts make its bytes.
func checkParts(t *testing.T, m *Merged) {
	t.Helper()
	tl := m.Timeline()
	for _, info := range complete(m) {
		for _, id := range []string{"360p", "audio"} {
			seg, _ := tl.Segment(id, info.Number)
			var joined []byte
			for k := range seg.Parts {
				pd, ok := tl.Part(id, info.Number, k)
				if !ok || !pd.Complete {
					t.Fatalf("%s part %d.%d is missing", id, info.Number, k)
				}
				joined = append(joined, pd.Data...)
			}
			if len(seg.Parts) > 0 && !bytes.Equal(joined, seg.Data) {
				t.Errorf("%s segment %d: the parts do not make the segment", id, info.Number)
			}
		}
	}
}

// edgeParts says how many parts of the segment being written the merged
// timeline shows, and which segment.
func edgeParts(m *Merged) (uint64, int) {
	n, parts, done, ok := m.Timeline().EdgePosition("360p")
	if !ok || done {
		return 0, 0
	}
	return n, parts
}

func TestMergeCompletesAStoppedPipelinesSegmentFromTheOther(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newPipeline(t, enc[0], epoch)
	b := newPipeline(t, enc[1], epoch)
	m, sw := newMerged(t, Config{})
	m.SetLocal(0, a.tl, a.inputLive)
	m.SetLocal(1, b.tl, b.inputLive)
	watch := watchPlaylists(t, m.Timeline(), 3*time.Second)

	// Pipeline 0 is ahead: the merged timeline shows its parts of the
	// segment it is writing.
	a.until(2500 * time.Millisecond)
	a.untilSegments(2)
	stopped := lastNumber(a.tl) + 1
	poll.Until(t, "parts of pipeline 0's segment in progress", 30*time.Second, func() (bool, string) {
		n, parts := edgeParts(m)
		return n == stopped && parts >= 2, fmt.Sprintf("segment %d with %d parts", n, parts)
	})
	// Pipeline 1 catches up; pipeline 0's encoder dies in the middle of
	// that segment; pipeline 1 goes on.
	b.until(2500 * time.Millisecond)
	a.stop()
	b.until(time.Hour)
	b.stop()
	untilMerged(t, m, lastNumber(b.tl))
	watch.check(t)

	segs := complete(m)
	for i := 1; i < len(segs); i++ {
		if segs[i].Number != segs[i-1].Number+1 || segs[i].Run != segs[0].Run {
			t.Fatalf("segment %d (run %d) follows segment %d (run %d)", segs[i].Number, segs[i].Run, segs[i-1].Number, segs[i-1].Run)
		}
	}
	for _, s := range segs {
		want := 0
		if s.Number >= stopped {
			want = 1
		}
		if got := sourceOfSegment(t, m, s.Number, a, b); got != want {
			t.Errorf("segment %d comes from pipeline %d, want %d", s.Number, got, want)
		}
	}
	// Players that had pipeline 0's first parts of the segment do not get
	// pipeline 1's next ones: the segment comes whole.
	seg, _ := m.Timeline().Segment("360p", stopped)
	if len(seg.Parts) != 0 {
		t.Errorf("segment %d lists %d parts of pipeline 1 after pipeline 0's were shown", stopped, len(seg.Parts))
	}
	next, _ := m.Timeline().Segment("360p", stopped+1)
	if next == nil || len(next.Parts) == 0 {
		t.Errorf("segment %d after the switch has no parts", stopped+1)
	}
	want, _ := b.tl.Segment("360p", stopped)
	if !bytes.Equal(seg.Data, want.Data) {
		t.Errorf("segment %d is not pipeline 1's", stopped)
	}
	checkParts(t, m)
	if cur, ok := m.Current(); !ok || cur != 1 {
		t.Errorf("the merge says it serves pipeline %d (%v)", cur, ok)
	}
	got := sw.all()
	if len(got) != 1 || got[0].From != 0 || got[0].To != 1 || got[0].Segment != stopped || got[0].Discontinuity {
		t.Fatalf("switch events %+v, want one from pipeline 0 to 1 at segment %d without a discontinuity", got, stopped)
	}
	if !strings.Contains(got[0].Reason, "pipeline 0 did not complete segment") {
		t.Errorf("the switch says %q", got[0].Reason)
	}
	ev := got[0].Event()
	if ev.Type != "channel.pipeline.switched" || ev.Detail["from"] != "0" || ev.Detail["to"] != "1" || ev.Detail["discontinuity"] != "false" {
		t.Errorf("event %+v", ev)
	}
}

func TestMergePrefersTheLiveInputOverFill(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newPipeline(t, enc[0], epoch)
	b := newPipeline(t, enc[1], epoch)
	a.live.Store(false) // pipeline 0 plays its fill
	m, sw := newMerged(t, Config{})
	m.SetLocal(0, a.tl, a.inputLive)
	m.SetLocal(1, b.tl, b.inputLive)
	watch := watchPlaylists(t, m.Timeline(), 3*time.Second)

	// Pipeline 0 is first every time, and loses to the live pipeline 1.
	untilLive := func(p int, live bool) {
		poll.UntilTrue(t, fmt.Sprintf("pipeline %d's input state in the merge", p), 30*time.Second, func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.src[p] != nil && m.src[p].live == live
		})
	}
	untilLive(0, false)
	for d := 500 * time.Millisecond; d <= 3500*time.Millisecond; d += 500 * time.Millisecond {
		a.until(d)
		b.until(d)
	}
	untilMerged(t, m, lastNumber(b.tl))
	for _, s := range complete(m) {
		if got := sourceOfSegment(t, m, s.Number, a, b); got != 1 {
			t.Fatalf("segment %d comes from pipeline %d on fill", s.Number, got)
		}
	}
	flip := lastNumber(b.tl)

	// Pipeline 1's input is lost, pipeline 0's comes back.
	b.live.Store(false)
	a.live.Store(true)
	untilLive(0, true)
	untilLive(1, false)
	for d := 4 * time.Second; d <= 8*time.Second; d += 500 * time.Millisecond {
		a.until(d)
		b.until(d)
	}
	a.stop()
	b.stop()
	untilMerged(t, m, lastNumber(a.tl))
	watch.check(t)
	got := sw.all()
	if len(got) != 1 || got[0].From != 1 || got[0].To != 0 || got[0].Discontinuity || got[0].Segment <= flip || got[0].Segment > flip+2 {
		t.Fatalf("switch events %+v, want one from pipeline 1 to 0 right after segment %d", got, flip)
	}
	if !strings.Contains(got[0].Reason, "not live") {
		t.Errorf("the switch says %q", got[0].Reason)
	}
	for _, s := range complete(m) {
		if s.Number >= got[0].Segment {
			if src := sourceOfSegment(t, m, s.Number, a, b); src != 0 {
				t.Errorf("segment %d comes from pipeline %d on fill", s.Number, src)
			}
		}
	}
	checkParts(t, m)
}

func TestMergeOfUnalignedPipelinesIsADiscontinuity(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newPipeline(t, enc[0], epoch)
	b := newPipeline(t, enc[1], epoch.Add(300*time.Millisecond)) // started 300 ms off the grid
	m, sw := newMerged(t, Config{})
	m.SetLocal(0, a.tl, a.inputLive)
	m.SetLocal(1, b.tl, b.inputLive)
	a.until(2500 * time.Millisecond)
	a.untilSegments(2)
	untilMerged(t, m, lastNumber(a.tl))
	b.until(2500 * time.Millisecond)
	b.untilSegments(2)
	before := complete(m)
	a.stop()
	b.until(time.Hour)
	b.stop()
	poll.Until(t, "a switch to pipeline 1", 30*time.Second, func() (bool, string) {
		return len(sw.all()) > 0, fmt.Sprint(len(complete(m)), " segments")
	})
	got := sw.all()[0]
	if got.From != 0 || got.To != 1 || !got.Discontinuity || !strings.Contains(got.Reason, "not aligned") {
		t.Fatalf("switch %+v, want one from 0 to 1 with a discontinuity because the pipelines are not aligned", got)
	}
	if got.Segment != before[len(before)-1].Number+1 {
		t.Errorf("the switch is at segment %d, after segment %d", got.Segment, before[len(before)-1].Number)
	}
	poll.Until(t, "pipeline 1's segments", 30*time.Second, func() (bool, string) {
		segs := complete(m)
		return segs[len(segs)-1].Number >= got.Segment+3, fmt.Sprint(segs[len(segs)-1].Number)
	})
	snap := m.Timeline().Snapshot(time.Hour)
	body, err := hls.Media(snap, "360p")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(body), "#EXT-X-DISCONTINUITY\n") != 1 || strings.Contains(string(body), "#EXT-X-GAP") {
		t.Errorf("want one discontinuity and no gap:\n%s", body)
	}
	if _, err := dash.MPD(snap, dash.Options{Now: epoch}); err != nil {
		t.Errorf("the MPD of the merged timeline: %v", err)
	}
}

func TestSegmentNoPipelineHasIsAGap(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newPipeline(t, enc[0], epoch)
	// Pipeline 1 starts three seconds late, on the same grid.
	b := newPipeline(t, enc[1], epoch.Add(3*time.Second))
	b.skip(3 * time.Second)
	m, sw := newMerged(t, Config{})
	m.SetLocal(0, a.tl, a.inputLive)
	m.SetLocal(1, b.tl, b.inputLive)
	a.until(2500 * time.Millisecond)
	a.untilSegments(2)
	untilMerged(t, m, lastNumber(a.tl))
	missing := lastNumber(a.tl) + 1
	a.stop()
	b.until(time.Hour)
	b.stop()
	untilMerged(t, m, missing+3)

	snap := m.Timeline().Snapshot(time.Hour)
	for _, render := range []func() ([]byte, error){
		func() ([]byte, error) { return hls.Media(snap, "360p") },
		func() ([]byte, error) { return hls.LowLatencyMedia(snap, "360p", hls.LowLatencyOptions{}) },
	} {
		body, err := render()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), "#EXT-X-GAP\n#EXTINF:1.000,\n"+strconv.FormatUint(missing, 10)+".m4s") {
			t.Errorf("segment %d is not listed as a gap:\n%s", missing, body)
		}
		if _, _, problem := readPlaylist(strings.ReplaceAll(strings.ReplaceAll(string(body), "#EXT-X-GAP\n", ""), "#EXT-X-DISCONTINUITY\n", "")); problem != "" {
			t.Error(problem)
		}
	}
	if _, err := dash.MPD(snap, dash.Options{Now: epoch}); err != nil {
		t.Errorf("the MPD of the merged timeline: %v", err)
	}
	got := sw.all()
	if len(got) != 1 || got[0].To != 1 || got[0].Segment != missing+1 || !got[0].Discontinuity || !strings.Contains(got[0].Reason, "no pipeline has segment") {
		t.Fatalf("switch events %+v, want one to pipeline 1 at segment %d after a gap", got, missing+1)
	}
}

func TestSwitchToPipelineWithOtherInitIsADiscontinuity(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newPipeline(t, enc[0], epoch)
	b := newPipeline(t, encodeWith(t, "-level:v", "4.1"), epoch) // another H.264 level
	m, sw := newMerged(t, Config{})
	m.SetLocal(0, a.tl, a.inputLive)
	m.SetLocal(1, b.tl, b.inputLive)
	a.until(2500 * time.Millisecond)
	a.untilSegments(2)
	untilMerged(t, m, lastNumber(a.tl))
	switched := lastNumber(a.tl) + 1
	b.until(2500 * time.Millisecond)
	a.stop()
	b.until(time.Hour)
	b.stop()
	untilMerged(t, m, lastNumber(b.tl))
	got := sw.all()
	if len(got) != 1 || got[0].From != 0 || got[0].To != 1 || got[0].Segment != switched || !got[0].Discontinuity ||
		!strings.Contains(got[0].Reason, "the init segments of rendition 360p differ") {
		t.Fatalf("switch events %+v, want one from 0 to 1 at segment %d with a discontinuity for the init segments", got, switched)
	}
	body, err := hls.Media(m.Timeline().Snapshot(time.Hour), "360p")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(body), "#EXT-X-DISCONTINUITY\n") != 1 || strings.Contains(string(body), "#EXT-X-GAP") {
		t.Errorf("want one discontinuity and no gap:\n%s", body)
	}
	if _, _, problem := readPlaylist(strings.ReplaceAll(string(body), "#EXT-X-DISCONTINUITY\n", "")); problem != "" {
		t.Error(problem)
	}
}

func TestLiveUnalignedPipelineWinsOverFill(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newPipeline(t, enc[0], epoch)
	b := newPipeline(t, enc[1], epoch.Add(300*time.Millisecond)) // 300 ms off the grid
	m, sw := newMerged(t, Config{})
	m.SetLocal(0, a.tl, a.inputLive)
	m.SetLocal(1, b.tl, b.inputLive)
	a.until(2500 * time.Millisecond)
	a.untilSegments(2)
	untilMerged(t, m, lastNumber(a.tl))
	b.until(2500 * time.Millisecond)
	a.live.Store(false) // pipeline 0's input is lost: it plays its fill
	poll.UntilTrue(t, "pipeline 0 on fill in the merge", 30*time.Second, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return !m.src[0].live
	})
	for d := 3 * time.Second; d <= 8*time.Second; d += 500 * time.Millisecond {
		a.until(d)
		b.until(d)
	}
	a.stop()
	b.stop()
	poll.Until(t, "a switch to pipeline 1", 30*time.Second, func() (bool, string) {
		return len(sw.all()) > 0, fmt.Sprint(len(complete(m)), " segments")
	})
	got := sw.all()
	if len(got) != 1 || got[0].From != 0 || got[0].To != 1 || !got[0].Discontinuity || !strings.Contains(got[0].Reason, "not live") {
		t.Fatalf("switch events %+v, want one from 0 to 1 with a discontinuity, for the fill", got)
	}
	untilMerged(t, m, got[0].Segment+2)
	for _, s := range complete(m) {
		if want := 0; s.Number < got[0].Segment {
			if src := sourceOfSegment(t, m, s.Number, a, b); src != want {
				t.Errorf("segment %d comes from pipeline %d", s.Number, src)
			}
		} else if src := sourceOfSegment(t, m, s.Number, a, b); src != 1 {
			t.Errorf("segment %d comes from pipeline %d on fill", s.Number, src)
		}
	}
}

func TestPipelineOfAnotherGridIsNotMerged(t *testing.T) {
	t.Parallel()
	m, _ := newMerged(t, Config{})
	for name, change := range map[string]func(*cmaf.Config){
		"segment":           func(c *cmaf.Config) { c.SegmentDuration = 2 * time.Second },
		"media time origin": func(c *cmaf.Config) { c.AvailabilityStart = c.AvailabilityStart.Add(time.Second) },
		"renditions":        func(c *cmaf.Config) { c.Renditions = c.Renditions[:1] },
		"parts":             func(c *cmaf.Config) { c.PartDuration = 0 },
	} {
		cfg := timelineConfig(epoch)
		change(&cfg)
		tl, err := cmaf.NewTimeline(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.SetLocal(0, tl, nil)
		m.mu.Lock()
		attached := m.src[0] != nil
		m.mu.Unlock()
		if attached {
			t.Errorf("a pipeline with another %s was merged", name)
		}
	}
}
