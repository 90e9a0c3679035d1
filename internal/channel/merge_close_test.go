package channel

import (
	"context"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// mergeGoroutines are the goroutines of merged timelines still running.
func mergeGoroutines() string {
	buf := make([]byte, 1<<22)
	buf = buf[:goruntime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "sluice/internal/redundancy.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestSingleServerClosesMergedTimelines checks that a single server closes
// the merged timeline of a STANDARD channel when the channel stops, and
// every merged timeline when it closes: no goroutine of a merge outlives
// them.
func TestSingleServerClosesMergedTimelines(t *testing.T) {
	ctx := context.Background()
	m, ch := singleStandard(t)
	if _, err := m.StopChannel(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the stopped channel's merged timeline to close", 2*time.Minute, func() (bool, string) {
		return m.mergedTimeline(ch.ID) == nil, "still merged"
	})
	if _, err := m.StartChannel(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the started channel to merge again", 3*time.Minute, func() (bool, string) {
		c, _ := m.GetChannel(ctx, "s")
		return m.mergedTimeline(ch.ID) != nil && c.State == resource.StateRunning && len(c.Pipelines) == 2 &&
			c.Pipelines[1].State == resource.PipelineRunning, pipelinesOf(c)
	})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := m.Close(cctx); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the merged timelines' goroutines to end", time.Minute, func() (bool, string) {
		g := mergeGoroutines()
		return g == "", g
	})
}
