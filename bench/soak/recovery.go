package main

import (
	"context"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// settleFor is how long every channel must stay on air on its own input
// before a fault counts as recovered: a publisher that returns puts its
// channel back on its input, and the channel may then restart its encoder
// (RECOVERING for a few seconds) to follow the input's clock. That restart
// is part of the fault's recovery, not a failure after it.
const settleFor = 2 * time.Second

// recover waits until the channels are back from a fault and measures
// it: Running is the time from the fault's end until every channel was
// RUNNING on its input (no fill) for good (settleFor without relapse),
// Segment until every channel then listed a segment newer than when it
// got there and newer than before the fault.
func (r *rig) recover(ctx context.Context, rec *faultRecord, before map[string]uint64) {
	deadline := time.Now().Add(recoverWithin)
	var since time.Time
	var at map[string]uint64
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if !r.allOnAir(ctx) {
			since, at = time.Time{}, nil
			rec.Running, rec.Segment = -1, -1
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		if since.IsZero() {
			since, at = time.Now(), r.lastSegments(ctx)
			for ch, n := range before {
				at[ch] = max(at[ch], n)
			}
			rec.Running = max(0, since.Sub(rec.End))
		}
		if rec.Segment < 0 {
			if lag := r.notAdvanced(ctx, at); len(lag) == 0 {
				rec.Segment = max(0, time.Since(rec.End))
			} else {
				rec.Slowest = strings.Join(lag, ", ")
			}
		}
		if rec.Segment >= 0 && time.Since(since) >= settleFor {
			return
		}
		sleep(ctx, 250*time.Millisecond)
	}
	if rec.Segment >= 0 && time.Since(since) < settleFor {
		rec.Running, rec.Segment = -1, -1
	}
}

// allOnAir reports whether every channel is RUNNING on its own input,
// not on fill.
func (r *rig) allOnAir(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, ch := range r.channels {
		c, err := r.api().Channel(rctx, ch)
		if err != nil || c.State != resource.StateRunning || (c.Pipeline != nil && c.Pipeline.Filling) {
			return false
		}
	}
	return true
}
