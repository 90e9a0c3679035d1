package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// runSchedule runs a schedule whose faults take recovery each, for a
// load of duration, and returns it once the load stopped.
func runSchedule(t *testing.T, duration, recovery time.Duration, minFaults int) (*schedule, time.Duration) {
	t.Helper()
	var running atomic.Int32
	s := &schedule{every: 20 * time.Millisecond, end: time.Now().Add(duration), minFaults: minFaults,
		kinds: []string{faultNodeKill, faultNetEdge},
		inject: func(ctx context.Context, kind string) faultRecord {
			if running.Add(1) != 1 {
				t.Error("two faults at once")
			}
			defer running.Add(-1)
			rec := faultRecord{Kind: kind, Start: time.Now()}
			sleep(ctx, recovery)
			rec.End = time.Now()
			return rec
		}}
	began := time.Now()
	loadCtx, stop := context.WithCancel(context.Background())
	s.run(context.Background(), loadCtx, stop)
	if loadCtx.Err() == nil {
		t.Fatal("the schedule returned without stopping the load")
	}
	return s, s.stopped.Sub(began)
}

// Faults slower than the whole duration still come to minFaults: the
// load goes on until they have run, one after the other in the order
// of the kinds, and no further fault starts after the end.
func TestUnitScheduleMinFaults(t *testing.T) {
	s, took := runSchedule(t, 100*time.Millisecond, 150*time.Millisecond, 3)
	if len(s.faults) != 3 {
		t.Fatalf("%d faults, want 3", len(s.faults))
	}
	for i, want := range []string{faultNodeKill, faultNetEdge, faultNodeKill} {
		if s.faults[i].Kind != want {
			t.Errorf("fault %d is %s, want %s", i, s.faults[i].Kind, want)
		}
	}
	last := s.faults[2]
	if took < last.End.Sub(s.faults[0].Start) {
		t.Errorf("the load stopped after %s, before the third fault ended", took)
	}
	for i := 1; i < len(s.faults); i++ {
		if s.faults[i].Start.Before(s.faults[i-1].End.Add(s.every)) {
			t.Errorf("fault %d started %s after the one before it ended, want at least %s", i, s.faults[i].Start.Sub(s.faults[i-1].End), s.every)
		}
	}
}

// Without a minimum the load stops at the end of the duration, even
// while a fault still runs (which runs to its end).
func TestUnitScheduleEndsWithDuration(t *testing.T) {
	s, _ := runSchedule(t, 100*time.Millisecond, 2*time.Second, 0)
	if len(s.faults) != 1 {
		t.Fatalf("%d faults, want the one running at the end", len(s.faults))
	}
	if !s.stopped.Before(s.faults[0].End) {
		t.Errorf("the load stopped at %s, only once the fault ended at %s", s.stopped.Format("15:04:05.000"), s.faults[0].End.Format("15:04:05.000"))
	}
}
