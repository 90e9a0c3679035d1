package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
)

// world is Sluice's metrics for the configured channels, on a clock the
// benchmark moves.
type world struct {
	cfg   config
	now   time.Time
	m     *metrics.Metrics
	start time.Time
}

// historyResult is the size of the filled history.
type historyResult struct {
	Series          int     `json:"series"`
	PointsPerSeries int     `json:"pointsPerSeries"`
	HeapMiB         float64 `json:"heapMiB"`
	FillSeconds     float64 `json:"fillSeconds"`
}

// newWorld builds the registry with every channel's series present.
func newWorld(cfg config) *world {
	w := &world{cfg: cfg, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w.start = w.now
	w.m = metrics.New(metrics.Config{
		Now:       func() time.Time { return w.now },
		Retention: cfg.history,
		// Room for every series, so that the figures are those of a full
		// history rather than of the cap.
		MaxSeries: 1_000_000,
	})
	w.step(0)
	return w
}

func channelName(i int) string { return fmt.Sprintf("channel-%03d", i) }

// step reports one sampling interval's worth of activity for every
// channel: encoder progress, segments, origin traffic, input bytes.
func (w *world) step(n int) {
	m := w.m
	for i := range w.cfg.channels {
		ch, in := channelName(i), fmt.Sprintf("input-%03d", i)
		if n == 0 {
			m.ChannelState(ch, resource.StateRunning)
			m.ActiveInput(ch, in)
			m.AlarmState(ch+"-slow", resource.AlarmOK)
			m.InputRefused(in, metrics.RefusedStreamKey)
		}
		m.EncoderProgress(ch, 1+float64(n%7)/100, 30, int64(n/100))
		m.InputBitrate(in, 4e6+float64(n%50)*1e4)
		m.InputBytes(in, 5<<20)
		m.InputLoss(ch, 0)
		m.ChannelFill(ch, 0)
		for r := range w.cfg.renditions {
			m.SegmentProduced(ch, fmt.Sprintf("r%d", r), time.Duration(600+n%400)*time.Millisecond)
		}
		for _, k := range []metrics.RequestKind{metrics.KindManifest, metrics.KindSegment, metrics.KindPart, metrics.KindInit} {
			m.OriginRequest(ch, k, 200, 40<<10, 2*time.Millisecond)
			m.OriginRequest(ch, k, 304, 0, time.Millisecond)
			m.OriginRequest(ch, k, 404, 200, time.Millisecond)
		}
	}
}

// fillHistory samples the registry every 10 s of the fake clock over the
// configured history, and reports the heap the history then holds.
func (w *world) fillHistory(ctx context.Context) historyResult {
	before := heap()
	start := time.Now()
	samples := int(w.cfg.history / (10 * time.Second))
	for n := range samples {
		if n%500 == 0 && ctx.Err() != nil {
			break
		}
		if n > 0 {
			w.now = w.now.Add(10 * time.Second)
			if n%6 == 0 { // activity every minute keeps the fill quick
				w.step(n)
			}
		}
		w.m.SampleNow(w.now)
	}
	fill := time.Since(start)
	st := w.m.HistoryStats()
	return historyResult{
		Series:          st.Series,
		PointsPerSeries: st.PointsPerSeries,
		HeapMiB:         float64(heap()-before) / (1 << 20),
		FillSeconds:     fill.Seconds(),
	}
}

// heap returns the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
