package channel

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// The tests below call what newPipeline and ensureTimeline compute on a
// runtime outside the manager's loop, over a real store; no encoder runs.

// setupNow is the wall clock of the setup tests: half a second past a
// whole second, which a new availability start is truncated to.
var setupNow = time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)

// setupSpec is a channel on the input "bars", as the API spells it, with
// the given encoder settings and outputs (JSON; empty for none).
func setupSpec(t *testing.T, encoder, outputs string) resource.ChannelSpec {
	t.Helper()
	doc := `{"name": "news", "inputAttachments": [{"input": "bars"}], "encoder": ` + encoder
	if outputs != "" {
		doc += `, "outputs": ` + outputs
	}
	var s resource.ChannelSpec
	if err := json.Unmarshal([]byte(doc+"}"), &s); err != nil {
		t.Fatalf("%v in %s", err, doc)
	}
	return s
}

// setupRuntime stores a channel with spec and the timeline counters an
// earlier process left, and returns its runtime and the store.
func setupRuntime(t *testing.T, spec resource.ChannelSpec, earlier store.TimelineState) (*runtime, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{Store: st, Now: func() time.Time { return setupNow }})
	t.Cleanup(func() {
		m.Close(ctx)
		_ = st.Close()
	})
	rec := store.ChannelRecord{
		Channel: resource.Channel{ID: "ch-news", ChannelSpec: spec, State: resource.StateIdle, CreatedAt: setupNow, UpdatedAt: setupNow},
		Desired: resource.StateIdle, Timeline: earlier,
	}
	if err := st.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveTimeline(ctx, rec.ID, store.Fence{}, earlier); err != nil {
		t.Fatal(err)
	}
	lease, err := m.cl.Acquire(ctx, rec.ID, rec.Name)
	if err != nil {
		t.Fatal(err)
	}
	return m.newRuntime(rec, lease), st
}

// timelineFor resolves the spec's ladder as newPipeline does and returns
// the runtime's timeline for it.
func timelineFor(t *testing.T, rt *runtime, spec resource.ChannelSpec) *cmaf.Timeline {
	t.Helper()
	ladder, err := spec.Ladder()
	if err != nil {
		t.Fatal(err)
	}
	tl, err := rt.ensureTimeline(spec, ladder)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// storedTimeline reads the counters the store holds for the channel.
func storedTimeline(t *testing.T, st *store.Store) store.TimelineState {
	t.Helper()
	recs, err := st.ListChannels(context.Background())
	if err != nil || len(recs) != 1 {
		t.Fatalf("stored channels %+v, %v", recs, err)
	}
	return recs[0].Timeline
}

const testLadder = `{"ladder": "test-360p", "segmentSeconds": 1}`

// TestTimelineOfAChannel: the timeline's segment and part lengths and
// renditions follow the channel's encoder settings and endpoints.
func TestTimelineOfAChannel(t *testing.T) {
	type rendition struct {
		id       string
		kind     cmaf.TrackKind
		fps      float64
		max, avg int64
	}
	testRungs := []rendition{
		{"360p", cmaf.Video, 25, 800000, 600000},
		{"180p", cmaf.Video, 25, 300000, 200000},
		{"audio", cmaf.Audio, 0, 128000, 128000},
	}
	tests := []struct {
		name           string
		encoder        string
		outputs        string
		segment, part  time.Duration
		wantRenditions []rendition
	}{
		{"named ladder", testLadder, "", time.Second, 0, testRungs},
		{"default segment", `{"ladder": "test-360p"}`, "", 2 * time.Second, 0, testRungs},
		{"low latency: one-second segments, default parts", `{"ladder": "test-360p"}`,
			`[{"name": "ll", "type": "LL_HLS"}]`, time.Second, 200 * time.Millisecond, testRungs},
		{"the shortest part of the low-latency endpoints", `{"ladder": "test-360p", "segmentSeconds": 2}`,
			`[{"name": "hls", "type": "HLS"}, {"name": "ll", "type": "LL_HLS", "partSeconds": 0.5}, {"name": "lld", "type": "LL_DASH", "partSeconds": 0.25}]`,
			2 * time.Second, 250 * time.Millisecond, testRungs},
		{"listed rungs and audio", `{"segmentSeconds": 4, "video": [
				{"name": "hd", "width": 1280, "height": 720, "bitrate": 3000000},
				{"name": "sd", "width": 640, "height": 360, "bitrate": 800000, "maxBitrate": 1000000, "fps": 25}],
				"audio": {"bitrate": 96000}}`, "", 4 * time.Second, 0,
			[]rendition{{"hd", cmaf.Video, 30, 3600000, 3000000}, {"sd", cmaf.Video, 25, 1000000, 800000}, {"audio", cmaf.Audio, 0, 96000, 96000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := setupSpec(t, tt.encoder, tt.outputs)
			rt, _ := setupRuntime(t, spec, store.TimelineState{})
			tl := timelineFor(t, rt, spec)
			if tl.SegmentDuration() != tt.segment || tl.PartDuration() != tt.part {
				t.Errorf("segments of %v, parts of %v; want %v and %v", tl.SegmentDuration(), tl.PartDuration(), tt.segment, tt.part)
			}
			var got []rendition
			for _, r := range tl.Snapshot(time.Minute).Renditions {
				got = append(got, rendition{r.ID, r.Kind, r.FrameRate, r.Bandwidth, r.AverageBandwidth})
			}
			if len(got) != len(tt.wantRenditions) {
				t.Fatalf("renditions %+v, want %+v", got, tt.wantRenditions)
			}
			for i := range got {
				if got[i] != tt.wantRenditions[i] {
					t.Errorf("rendition %d: %+v, want %+v", i, got[i], tt.wantRenditions[i])
				}
			}
		})
	}
}

// TestTimelineIsKeptUnlessItsShapeChanges: a new spec keeps the channel's
// timeline unless its renditions, segment or part length or the longest
// window changed; a new one continues the old one's numbers after a
// discontinuity, from the same availability start.
func TestTimelineIsKeptUnlessItsShapeChanges(t *testing.T) {
	tests := []struct {
		name                      string
		before, after             string // encoder settings
		outputsBefore, outputsAft string
		autoStartAfter            bool
		kept                      bool
	}{
		{"the same spec", testLadder, testLadder, "", "", false, true},
		{"autoStart", testLadder, testLadder, "", "", true, true},
		{"deliveries only: the default window", testLadder, testLadder,
			`[{"name": "hls", "type": "HLS", "windowSeconds": 60}]`, `[{"name": "push", "type": "UDP", "url": "udp://127.0.0.1:5000"}]`, false, true},
		{"the longest window is the same", testLadder, testLadder,
			`[{"name": "hls", "type": "HLS", "windowSeconds": 90}]`, `[{"name": "dash", "type": "DASH", "windowSeconds": 90}, {"name": "hls", "type": "HLS", "windowSeconds": 30}]`, false, true},
		{"a longer window", testLadder, testLadder, "", `[{"name": "hls", "type": "HLS", "windowSeconds": 120}]`, false, false},
		{"a segment length", testLadder, `{"ladder": "test-360p", "segmentSeconds": 2}`, "", "", false, false},
		{"a ladder", testLadder, `{"ladder": "default-720p", "segmentSeconds": 1}`, "", "", false, false},
		{"a rung's bitrate only", `{"segmentSeconds": 1, "video": [{"name": "sd", "width": 640, "height": 360, "bitrate": 800000}]}`,
			`{"segmentSeconds": 1, "video": [{"name": "sd", "width": 640, "height": 360, "bitrate": 900000}]}`, "", "", false, true},
		{"parts", testLadder, testLadder, "", `[{"name": "ll", "type": "LL_HLS"}]`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := setupSpec(t, tt.before, tt.outputsBefore)
			rt, st := setupRuntime(t, before, store.TimelineState{})
			first := timelineFor(t, rt, before)
			after := setupSpec(t, tt.after, tt.outputsAft)
			after.AutoStart = tt.autoStartAfter
			second := timelineFor(t, rt, after)
			if kept := first == second; kept != tt.kept {
				t.Fatalf("timeline kept: %v, want %v", kept, tt.kept)
			}
			want := store.TimelineState{AvailabilityStart: setupNow.Truncate(time.Second)}
			if !tt.kept {
				want.Discontinuity = 1
			}
			// The stored discontinuity is the newest one players saw: none
			// yet, whatever the new timeline starts at.
			if got := storedTimeline(t, st); !got.AvailabilityStart.Equal(want.AvailabilityStart) || got.NextNumber != want.NextNumber || got.Discontinuity != 0 {
				t.Errorf("stored counters %+v, want %+v with discontinuity 0", got, want)
			}
			if second.Discontinuity() != want.Discontinuity || !second.Snapshot(time.Minute).AvailabilityStart.Equal(want.AvailabilityStart) {
				t.Errorf("timeline at discontinuity %d from %v, want %+v", second.Discontinuity(), second.Snapshot(time.Minute).AvailabilityStart, want)
			}
		})
	}
}

// TestTimelineCountersAcrossProcesses: a channel's first timeline starts at
// the current second; one after an earlier process's keeps its start and
// numbers and opens a discontinuity; the counters are stored, with the
// discontinuity players saw last until the new run shows a segment.
func TestTimelineCountersAcrossProcesses(t *testing.T) {
	earlierStart := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		earlier store.TimelineState
		want    store.TimelineState
	}{
		{"never ran", store.TimelineState{}, store.TimelineState{AvailabilityStart: setupNow.Truncate(time.Second)}},
		{"ran before", store.TimelineState{AvailabilityStart: earlierStart, NextNumber: 42, Discontinuity: 3},
			store.TimelineState{AvailabilityStart: earlierStart, NextNumber: 42, Discontinuity: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := setupSpec(t, testLadder, "")
			rt, st := setupRuntime(t, spec, tt.earlier)
			tl := timelineFor(t, rt, spec)
			stored := tt.want
			stored.Discontinuity = tt.earlier.Discontinuity
			for what, c := range map[string][2]store.TimelineState{"stored": {storedTimeline(t, st), stored}, "runtime's": {rt.rec.Timeline, tt.want}} {
				got, want := c[0], c[1]
				if !got.AvailabilityStart.Equal(want.AvailabilityStart) || got.NextNumber != want.NextNumber || got.Discontinuity != want.Discontinuity {
					t.Errorf("%s counters %+v, want %+v", what, got, want)
				}
			}
			if tl.Discontinuity() != tt.want.Discontinuity || !tl.Snapshot(time.Minute).AvailabilityStart.Equal(tt.want.AvailabilityStart) {
				t.Errorf("timeline at discontinuity %d from %v, want %+v", tl.Discontinuity(), tl.Snapshot(time.Minute).AvailabilityStart, tt.want)
			}
		})
	}
}

// TestNewPipelineRefusals: what keeps a pipeline from being built is an
// error naming it, before any encoder starts.
func TestNewPipelineRefusals(t *testing.T) {
	tests := []struct {
		name    string
		encoder string
		want    error
		says    string
	}{
		{"an unknown ladder", `{"ladder": "no-such-ladder"}`, resource.ErrInvalid, "no-such-ladder"},
		{"an input that is not stored", testLadder, resource.ErrNotFound, "input bars"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _ := setupRuntime(t, setupSpec(t, tt.encoder, ""), store.TimelineState{})
			p, err := rt.newPipeline()
			if p != nil || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("newPipeline: %v, %v; want %v saying %q", p, err, tt.want, tt.says)
			}
			if rt.tl != nil {
				t.Error("a timeline was made for a pipeline that could not be built")
			}
		})
	}
}
