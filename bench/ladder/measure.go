package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/bench/internal/report"
)

// window says how a contender is measured.
type window struct {
	// Warmup is skipped after the encoders first report output.
	Warmup time.Duration
	// Duration is the measured steady state, in wall time.
	Duration time.Duration
	// Every is the interval of progress lines.
	Every time.Duration
}

// measure waits until every producer outputs media, skips the warm-up,
// then takes aligned readings at the start and the end of the window and
// turns them into the contender's figures.
func measure(ctx context.Context, log *report.Log, name string, ps []producer, w window) (contenderResult, error) {
	res := contenderResult{Name: name}
	log.Printf("%s: waiting for output from %d process tree(s)", name, len(ps))
	for _, p := range ps {
		for {
			r, err := p.Next(ctx)
			if err != nil {
				return res, err
			}
			if r.OutTime > 0 {
				break
			}
		}
	}
	log.Printf("%s: producing; warming up for %s", name, w.Warmup)
	if err := harness.Sleep(ctx, w.Warmup); err != nil {
		return res, err
	}
	sys0, err := procfs.ReadSystemCPU()
	if err != nil {
		return res, err
	}
	sysStart := time.Now()
	start, err := nextAll(ctx, ps)
	if err != nil {
		return res, err
	}
	log.Printf("%s: measuring for %s", name, w.Duration)
	t0 := start[0].CPU.At
	for {
		left := w.Duration - time.Since(t0)
		if left <= 0 {
			break
		}
		if err := harness.Sleep(ctx, min(left, w.Every)); err != nil {
			return res, err
		}
		if time.Since(t0) < w.Duration {
			logProgress(ctx, log, name, ps, start, t0, w.Duration)
		}
	}
	end, err := nextAll(ctx, ps)
	if err != nil {
		return res, err
	}
	sys1, err := procfs.ReadSystemCPU()
	if err != nil {
		return res, err
	}
	sysWall := time.Since(sysStart)

	var cpuAll time.Duration
	var wall time.Duration
	res.Speed = -1
	for i, p := range ps {
		pr := producerResult{Label: p.Label()}
		cpu, changed := end[i].CPU.CPUSince(start[i].CPU)
		rootCPU := rootCPUSince(p.Root(), end[i].CPU, start[i].CPU)
		media := end[i].OutTime - start[i].OutTime
		pwall := end[i].CPU.At.Sub(start[i].CPU.At)
		if media <= 0 {
			return res, fmt.Errorf("%s: no media output during the window", p.Label())
		}
		pr.CPUSeconds = cpu.Seconds()
		pr.RootCPUSeconds = rootCPU.Seconds()
		pr.MediaSeconds = media.Seconds()
		pr.WallSeconds = pwall.Seconds()
		pr.CPUPerMediaSecond = cpu.Seconds() / media.Seconds()
		pr.Speed = media.Seconds() / pwall.Seconds()
		pr.Processes = len(end[i].CPU.CPU)
		pr.ProcessesChanged = changed
		pr.PerProcess = perProcess(end[i].CPU, start[i].CPU)
		for _, pp := range pr.PerProcess {
			pr.PeakRSSBytes += pp.PeakRSSBytes
		}
		if changed {
			res.Notes = append(res.Notes, p.Label()+": a process started or ended during the window; its CPU figure is not exact")
		}
		res.Producers = append(res.Producers, pr)
		res.CPUPerMediaSecond += pr.CPUPerMediaSecond
		res.PeakRSSBytes += pr.PeakRSSBytes
		res.Processes += pr.Processes
		if res.Speed < 0 || pr.Speed < res.Speed {
			res.Speed = pr.Speed
		}
		cpuAll += cpu
		wall = max(wall, pwall)
	}
	res.CoresBusy = cpuAll.Seconds() / wall.Seconds()
	res.OtherCores = ((sys1.Busy - sys0.Busy) - cpuAll).Seconds() / sysWall.Seconds()
	res.OtherCores = max(res.OtherCores, 0)
	res.StealCores = (sys1.Steal - sys0.Steal).Seconds() / sysWall.Seconds()
	log.Printf("%s: %.3f CPU s per output s, speed %.3fx, %.2f cores busy, other load %.2f cores, steal %.2f cores",
		name, res.CPUPerMediaSecond, res.Speed, res.CoresBusy, res.OtherCores, res.StealCores)
	return res, nil
}

// rootCPUSince is the CPU time of the root process alone between two
// samples (for a Sluice channel: the server without its encoder).
func rootCPUSince(root int, end, start procfs.TreeSample) time.Duration {
	var d time.Duration
	for id, c := range end.CPU {
		if id.Pid == root {
			d = c - start.CPU[id]
		}
	}
	return d
}

// perProcess splits a tree's window by process, in pid order, with each
// process's peak resident memory (VmHWM, since it started). Adding the
// peaks up gives an upper bound of the tree's peak, since they need not
// coincide.
func perProcess(end, start procfs.TreeSample) []processResult {
	var out []processResult
	for id, c := range end.CPU {
		pr := processResult{Pid: id.Pid, Name: procfs.Name(id.Pid), CPUSeconds: (c - start.CPU[id]).Seconds()}
		if rss, err := procfs.PeakRSS(id.Pid); err == nil {
			pr.PeakRSSBytes = rss
		}
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b processResult) int { return a.Pid - b.Pid })
	return out
}

// nextAll takes the next reading of every producer at once, so that the
// readings of separate processes cover the same stretch of time.
func nextAll(ctx context.Context, ps []producer) ([]reading, error) {
	out := make([]reading, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { out[i], errs[i] = p.Next(ctx) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// logProgress prints where the window is and how hard the producers work.
func logProgress(ctx context.Context, log *report.Log, name string, ps []producer, start []reading, t0 time.Time, d time.Duration) {
	var cpu time.Duration
	speeds := make([]float64, 0, len(ps))
	for i, p := range ps {
		r, err := p.Latest(ctx)
		if err != nil {
			log.Printf("%s: %v", name, err)
			return
		}
		c, _ := r.CPU.CPUSince(start[i].CPU)
		cpu += c
		speeds = append(speeds, r.Speed)
	}
	el := time.Since(t0)
	log.Printf("%s: %3.0f/%.0f s, %.2f cores busy, encoder speed %.2fx",
		name, el.Seconds(), d.Seconds(), cpu.Seconds()/el.Seconds(), slices.Min(speeds))
}
