package main

import (
	"context"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// load drives the viewers, the hls.js players, the event follower, the
// metrics scraper (Prometheus), the harvests, the on-demand pipeline's
// files and the fault schedule for the configured duration (longer when
// fewer than minFaults faults have run by then), then records in res what
// they saw (the harvests once their jobs ended). where
// names what is loaded in the progress line ("" for the one server, " the
// cluster"); base is the server the API clients talk to at each request,
// players the address the players load their page from, and also runs
// beside the load until it stops.
func (r *rig) load(ctx context.Context, res *results, where string, base func() string, players string, also ...func(context.Context)) error {
	viewTraffic, apiTraffic := newTraffic(), newTraffic()
	metrics := r.watchMetrics(ctx, base, apiTraffic)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	began := time.Now()
	end := began.Add(r.cfg.duration)
	var wg sync.WaitGroup
	goRun := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }

	aud := newAudience(viewTraffic, r.cfg.viewers+r.cfg.llViewers)
	for i := range r.cfg.viewers {
		u := r.edgeURL + hlsPlaylist(r.channels[i%len(r.channels)])
		goRun(func() { aud.watch(loadCtx, u, 2*time.Second) })
	}
	for i := range r.cfg.llViewers {
		u := r.edgeURL + llPlaylist(r.channels[i%len(r.channels)])
		goRun(func() { aud.watchBlocking(loadCtx, u, time.Second) })
	}
	played := make([]playerResult, r.cfg.players)
	for i := range r.cfg.players {
		ch := r.channels[i%len(r.channels)]
		goRun(func() { played[i] = play(loadCtx, players+"/play/"+ch, ch, r.cfg.duration) })
	}
	events := &eventFollower{base: base}
	if r.cl == nil {
		// A cluster's nodes each tell of their own segment.gap events:
		// it follows them all (cluster.followGaps).
		events.gaps = &r.gaps
	}
	goRun(func() { events.run(loadCtx) })
	goRun(func() { metrics.run(loadCtx) })
	harvests := &harvester{api: func() harvestAPI { return r.api() }, channels: r.channels}
	if r.cfg.harvestEvery > 0 {
		goRun(func() { harvests.run(loadCtx, r.cfg.harvestEvery) })
	}
	goRun(func() { r.feed.run(loadCtx, r.cfg.jobEvery) })
	for _, f := range also {
		goRun(func() { f(loadCtx) })
	}

	r.log.Printf("load on%s for %s: %d HLS viewers, %d LL-HLS viewers, %d players, faults every %s, harvests every %s", where, r.cfg.duration, r.cfg.viewers, r.cfg.llViewers, r.cfg.players, r.cfg.faultEvery, r.cfg.harvestEvery)
	sched := &schedule{every: r.cfg.faultEvery, end: end, minFaults: r.cfg.minFaults, kinds: r.cfg.faults, inject: r.inject}
	goRun(func() { sched.run(ctx, loadCtx, stopLoad) })
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	faults := sched.faults
	res.Faults = faults
	res.Duration = sched.stopped.Sub(began).Round(time.Second)
	res.Players = played
	res.Viewers = r.viewerResult(aud, viewTraffic, faults)
	res.ViewerFailures = aud.failures.split(windows(faults, time.Now()))
	res.Events = eventResult{Received: events.received, Reconnects: events.reconnects, OutOfOrder: events.outOfOrder, Gaps: events.byType[resource.EventSegmentGap]}
	metrics.result(ctx, res, windows(faults, time.Now()))
	if r.cfg.harvestEvery > 0 {
		r.log.Printf("waiting for the harvest jobs to end and checking their packages")
		acc := harvests.settle(ctx, harvestBound, windows(faults, time.Now()))
		res.Harvests = &acc
	}
	return nil
}
