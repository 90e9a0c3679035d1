package channel

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/redundancy"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// singleStandard runs a STANDARD channel with both pipelines on a single
// server that merges them, and returns the manager and the channel once
// both pipelines deliver.
func singleStandard(t *testing.T) (*Manager, resource.Channel) {
	t.Helper()
	ffmpeg := media.Tool(t, "ffmpeg")
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{
		Store: st, Resolver: input.Resolver{MediaRoot: dir}, FFmpeg: ffmpeg, Backoff: []time.Duration{100 * time.Millisecond},
		Merge: func(mc MergeConfig) (Merger, error) {
			return redundancy.New(redundancy.Config{Channel: mc.Channel, ChannelID: mc.ChannelID, Timeline: mc.Timeline, Logger: mc.Logger})
		},
	})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = m.Close(ctx)
		_ = st.Close()
	})
	ctx := context.Background()
	smallPattern(t, m, "bars")
	if _, err := m.CreateChannel(ctx, "", standardSpec("s", "bars")); err != nil {
		t.Fatal(err)
	}
	var ch resource.Channel
	poll.Until(t, "both pipelines to run", 3*time.Minute, func() (bool, string) {
		ch, _ = m.GetChannel(ctx, "s")
		return ch.State == resource.StateRunning && len(ch.Pipelines) == 2 &&
			ch.Pipelines[0].State == resource.PipelineRunning && ch.Pipelines[1].State == resource.PipelineRunning, pipelinesOf(ch)
	})
	return m, ch
}

// TestSecondPipelineRestsOnASingleServer checks that pipeline 1's runtime
// of a single server handles events as they come, not in a loop of its
// own: while the merged timeline grows by a few segments, it handles a
// few events per segment, not thousands.
func TestSecondPipelineRestsOnASingleServer(t *testing.T) {
	m, ch := singleStandard(t)
	sec := m.second(ch.ID, 1)
	merged := m.mergedTimeline(ch.ID)
	if sec == nil || merged == nil {
		t.Fatal("no runtime of pipeline 1 or no merged timeline")
	}
	from, steps := merged.NextNumber(), sec.steps.Load()
	const segments = 3
	poll.Until(t, "the merged timeline to grow", 2*time.Minute, func() (bool, string) {
		return merged.NextNumber() >= from+segments, fmt.Sprintf("next segment %d, was %d", merged.NextNumber(), from)
	})
	if n := sec.steps.Load() - steps; n > 100*segments {
		t.Errorf("pipeline 1's runtime handled %d events while %d segments were made", n, segments)
	}
}
