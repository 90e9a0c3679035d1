package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/internal/metrics"
)

// contenderResult is what one receiver cost and how late the marker
// reached its output.
type contenderResult struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	// MbitIn is the publisher's send rate over the window.
	MbitIn float64 `json:"mbitPerSecondIn"`
	// Cores is the CPU of the receiving process tree (sluice serve with
	// its encoder, or the bare ffmpeg), in cores; RootCores that of the
	// root process alone (for Sluice: ingest, switcher, packager, origin).
	Cores     float64 `json:"cores"`
	RootCores float64 `json:"rootCores"`
	// CoresPerMbit is Cores per Mbit/s in.
	CoresPerMbit float64 `json:"coresPerMbit"`
	// Delays are, per marker, the wall clock at which the playlist first
	// listed the segment where the marker starts minus the moment the
	// publisher sent the marker, in seconds: publisher to origin,
	// segment duration included.
	Delays      []float64 `json:"delays"`
	DelayMedian float64   `json:"delayMedianSeconds"`
	DelayP90    float64   `json:"delayP90Seconds"`
}

// measure waits for the receiver's first segment, warms up, then samples
// CPU and the publisher's bytes at both ends of the window while polling
// the playlist: every new segment is decoded, and the first of each run
// of black marker pictures gives a delay.
func measure(ctx context.Context, ws *harness.Workspace, name string, root int, get func(context.Context, string) ([]byte, error), playlist string, cfg config) (contenderResult, error) {
	log := ws.Log
	res := contenderResult{Name: name}
	clock := &publisherClock{path: progressPath(ws, name)}
	segments := func() ([]segment, error) {
		b, err := get(ctx, playlist)
		return parseMediaPlaylist(string(b)), err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		clock.read()
		segs, err := segments()
		if err == nil && len(segs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			why := "the playlist lists no segment"
			if err != nil {
				why = err.Error()
			}
			return res, fmt.Errorf("%s: no segment after 2 minutes (%s; logs in %s with --keep)", name, why, ws.Dir)
		}
		if err := harness.Sleep(ctx, 200*time.Millisecond); err != nil {
			return res, err
		}
	}
	log.Printf("%s: segments are coming; warming up for %s", name, cfg.warmup)
	if err := harness.Sleep(ctx, cfg.warmup); err != nil {
		return res, err
	}
	segs, err := segments()
	if err != nil {
		return res, err
	}
	seen := map[string]bool{}
	for _, s := range segs {
		seen[s.URI] = true
	}
	tree0 := procfs.SampleTree(root)
	rootStat0, err := procfs.ReadStat(root)
	if err != nil {
		return res, err
	}
	sent0, err := sentBytes(clock.path)
	if err != nil {
		return res, err
	}
	log.Printf("%s: measuring for %s", name, cfg.duration)
	inits := map[string][]byte{}
	prevBlack := true // the first segment seen cannot be told to start a marker
	t0 := time.Now()
	for time.Since(t0) < cfg.duration {
		if err := harness.Sleep(ctx, 50*time.Millisecond); err != nil {
			return res, err
		}
		clock.read()
		segs, err := segments()
		if err != nil {
			return res, err
		}
		now := time.Now()
		for _, s := range segs {
			if seen[s.URI] {
				continue
			}
			seen[s.URI] = true
			if inits[s.Init] == nil {
				if inits[s.Init], err = get(ctx, s.Init); err != nil {
					return res, err
				}
			}
			body, err := get(ctx, s.URI)
			if err != nil {
				return res, err
			}
			black, err := hasBlack(ctx, cfg.FFmpeg, ws.Dir, inits[s.Init], body)
			if err != nil {
				return res, err
			}
			if black && !prevBlack && !clock.start.IsZero() {
				since := now.Sub(clock.start).Seconds()
				marker := float64(int(since/markerPeriod) * markerPeriod)
				res.Delays = append(res.Delays, since-marker)
			}
			prevBlack = black
		}
	}
	tree1 := procfs.SampleTree(root)
	rootStat1, err := procfs.ReadStat(root)
	if err != nil {
		return res, err
	}
	sent1, err := sentBytes(clock.path)
	if err != nil {
		return res, err
	}
	wall := tree1.At.Sub(tree0.At).Seconds()
	cpu, changed := tree1.CPUSince(tree0)
	if changed {
		log.Printf("%s: processes came or went during the window; the CPU figure is a lower bound", name)
	}
	res.Seconds = wall
	res.Cores = cpu.Seconds() / wall
	res.RootCores = (rootStat1.CPU - rootStat0.CPU).Seconds() / wall
	res.MbitIn = float64(sent1-sent0) * 8 / wall / 1e6
	if res.MbitIn > 0 {
		res.CoresPerMbit = res.Cores / res.MbitIn
	}
	if len(res.Delays) == 0 {
		return res, fmt.Errorf("%s: no marker reached the output during the window", name)
	}
	res.DelayMedian = report.Median(res.Delays)
	res.DelayP90 = metrics.Quantile(0.9, res.Delays)
	log.Printf("%s: %.2f cores (root %.2f) for %.2f Mbit/s in; %d markers, delay median %.2f s", name, res.Cores, res.RootCores, res.MbitIn, len(res.Delays), res.DelayMedian)
	return res, nil
}
