package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/bench/internal/backing"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
)

// failoverResult is the failover part of the report.
type failoverResult struct {
	LeaseSeconds   float64   `json:"leaseSeconds"`
	SegmentSeconds int       `json:"segmentSeconds"`
	Seconds        []float64 `json:"seconds"`
	MedianSeconds  float64   `json:"medianSeconds"`
	// Backwards counts runs whose first new segment number was not above
	// the last one before the kill; DiscontinuitySteps lists by how much
	// the discontinuity sequence moved in each run.
	Backwards          int      `json:"backwards"`
	DiscontinuitySteps []uint64 `json:"discontinuitySteps"`
}

const failoverStack = `name: failover
inputs:
  - name: bars
    type: TEST_PATTERN
channels:
  - name: fo
    autoStart: true
    inputAttachments: [{input: bars}]
    encoder: {ladder: test-360p, segmentSeconds: %d}
    outputs: [{name: hls, type: HLS}]
`

// measureFailover runs three nodes and one channel, and kills the
// channel's holder --runs times.
func measureFailover(ctx context.Context, ws *harness.Workspace, cfg config, pg *backing.Postgres) (*failoverResult, error) {
	res := &failoverResult{LeaseSeconds: cfg.lease.Seconds(), SegmentSeconds: cfg.segment}
	db, err := pg.Database(ctx, "failover")
	if err != nil {
		return res, err
	}
	nodes := make([]*node, 3)
	for i := range nodes {
		if nodes[i], err = startNode(ctx, ws, cfg, fmt.Sprintf("fo-%d", i+1), db, "--max-channels", "4"); err != nil {
			return res, err
		}
	}
	if _, err := nodes[0].apply(ctx, ws, "failover", fmt.Sprintf(failoverStack, cfg.segment)); err != nil {
		return res, err
	}
	for run := 1; run <= cfg.runs; run++ {
		d, back, disc, err := failoverOnce(ctx, ws, cfg, nodes)
		if err != nil {
			return res, fmt.Errorf("run %d: %w", run, err)
		}
		ws.Log.Printf("failover %d: %s (discontinuity +%d)", run, seconds(d), disc)
		res.Seconds = append(res.Seconds, d.Seconds())
		res.DiscontinuitySteps = append(res.DiscontinuitySteps, disc)
		if back {
			res.Backwards++
		}
	}
	res.MedianSeconds = report.Median(res.Seconds)
	return res, nil
}

// failoverOnce kills the holder and measures until a newer segment is
// listed through another node; then the killed node starts again.
func failoverOnce(ctx context.Context, ws *harness.Workspace, cfg config, nodes []*node) (time.Duration, bool, uint64, error) {
	// The channel runs, with segments, on a node.
	var holder *node
	var lastBefore, discBefore uint64
	deadline := time.Now().Add(2 * time.Minute)
	for holder == nil {
		if time.Now().After(deadline) {
			return 0, false, 0, errors.New("the channel did not run on a node within 2 minutes")
		}
		id, err := nodes[0].holderOf(ctx, "fo")
		if err == nil && id != "" {
			for _, n := range nodes {
				if n.id == id {
					if last, disc, ok := edge(ctx, n.srv.URL, "fo"); ok {
						holder, lastBefore, discBefore = n, last, disc
					}
				}
			}
		}
		if err := harness.Sleep(ctx, 200*time.Millisecond); err != nil {
			return 0, false, 0, err
		}
	}
	// Settle: a few segments of the current holder, and the newest number.
	if err := harness.Sleep(ctx, time.Duration(cfg.segment)*time.Second*2); err != nil {
		return 0, false, 0, err
	}
	if last, disc, ok := edge(ctx, holder.srv.URL, "fo"); ok {
		lastBefore, discBefore = last, disc
	}
	var other *node
	for _, n := range nodes {
		if n != holder {
			other = n
			break
		}
	}
	ws.Log.Printf("killing node %s, which holds the channel (segment %d)", holder.id, lastBefore)
	killed := time.Now()
	holder.srv.Kill()
	var took time.Duration
	var lastAfter, discAfter uint64
	deadline = killed.Add(3*cfg.lease + time.Minute)
	for {
		if last, disc, ok := edge(ctx, other.srv.URL, "fo"); ok && (last > lastBefore || disc > discBefore) {
			took, lastAfter, discAfter = time.Since(killed), last, disc
			break
		}
		if time.Now().After(deadline) {
			return 0, false, 0, fmt.Errorf("no new segment within %s of killing the holder", time.Since(killed).Round(time.Second))
		}
		if err := harness.Sleep(ctx, 50*time.Millisecond); err != nil {
			return 0, false, 0, err
		}
	}
	// The killed node comes back for the next run.
	if err := holder.start(ctx, ws, cfg); err != nil {
		return took, false, 0, err
	}
	return took, lastAfter <= lastBefore, discAfter - discBefore, nil
}

func (f *failoverResult) table(cfg config) report.Table {
	t := report.Table{
		Title:  "Failover: SIGKILL of the node holding a TEST_PATTERN channel, until a newer segment is listed (through another node)",
		Header: []string{"lease", "segment", "runs", "median", "min", "max", "target (lease + segment)", "numbers back", "discontinuity steps"},
	}
	minS, maxS := 0.0, 0.0
	for i, s := range f.Seconds {
		if i == 0 || s < minS {
			minS = s
		}
		if s > maxS {
			maxS = s
		}
	}
	target := cfg.lease + time.Duration(cfg.segment)*time.Second
	t.Rows = append(t.Rows, []string{
		cfg.lease.String(), fmt.Sprintf("%d s", cfg.segment), fmt.Sprint(len(f.Seconds)),
		fmt.Sprintf("%.2f s", f.MedianSeconds), fmt.Sprintf("%.2f s", minS), fmt.Sprintf("%.2f s", maxS),
		seconds(target), fmt.Sprint(f.Backwards), fmt.Sprint(f.DiscontinuitySteps),
	})
	t.Notes = append(t.Notes, "A killed node starts again (same id) before the next run; it takes its row back once its old heartbeat is stale.")
	return t
}
