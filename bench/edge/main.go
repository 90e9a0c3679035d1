// Command edge measures Sluice's caching edge against Varnish and nginx
// proxy_cache in front of the same origin, in one run: cache-hit requests
// per second and p99 latency with wrk (1 KB playlist, 1 MB segment), and
// the origin requests that 1,000 simulated viewers of a live channel cost
// through each of them.
//
//	go run ./bench/edge [--rounds 3] [--viewers 1000] [--json FILE]
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/bench/internal/wrk"
	"github.com/sluice-video/sluice/internal/resource"
)

func main() { harness.Main("edge", parseFlags, run) }

// edgeReport is the JSON document of a run.
type edgeReport struct {
	Benchmark string         `json:"benchmark"`
	Command   string         `json:"command"`
	Machine   report.Machine `json:"machine"`
	Hits      []hitResult    `json:"hits,omitempty"`
	Viewers   []viewerResult `json:"viewers,omitempty"`
}

func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "edge", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	machine := ws.Machine(ctx)
	rep := edgeReport{Benchmark: "edge", Command: report.CommandLine("go run ./bench/edge", os.Args[1:]), Machine: machine}
	failed := false
	if slices.Contains(cfg.parts, "hits") {
		hits, err := measureHits(ctx, ws, cfg)
		if ctx.Err() != nil {
			return ws.Fail(ctx, ctx.Err())
		}
		if err != nil {
			ws.Log.Printf("hits: %v", err)
			failed = true
		}
		rep.Hits = hits
	}
	if slices.Contains(cfg.parts, "viewers") {
		vs, err := measureViewers(ctx, ws, cfg)
		if ctx.Err() != nil {
			return ws.Fail(ctx, ctx.Err())
		}
		if err != nil {
			ws.Log.Printf("viewers: %v", err)
			failed = true
		}
		rep.Viewers = vs
	}
	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	if len(rep.Hits) > 0 {
		_ = hitsTable(rep.Hits, cfg).Write(os.Stdout)
		_ = ratioTable(rep.Hits).Write(os.Stdout)
	}
	if len(rep.Viewers) > 0 {
		_ = viewersTable(rep.Viewers, cfg).Write(os.Stdout)
	}
	return ws.Finish(ctx, rep, failed)
}

// measureHits runs the wrk rounds: for each object, round after round,
// each proxy in turn, so that a noisy moment does not favour one.
func measureHits(ctx context.Context, ws *harness.Workspace, cfg config) ([]hitResult, error) {
	origin, err := startStaticOrigin()
	if err != nil {
		return nil, err
	}
	defer origin.close()
	var results []hitResult
	for _, obj := range []struct{ name, path string }{{"playlist 1 KB", playlistPath}, {"segment 1 MB", segmentPath}} {
		byProxy := map[string]*hitResult{}
		for _, name := range cfg.proxies {
			byProxy[name] = &hitResult{Proxy: name, Object: obj.name}
		}
		for round := 1; round <= cfg.rounds; round++ {
			for _, name := range cfg.proxies {
				r := byProxy[name]
				p, err := startProxy(ctx, name, ws.Bin, ws.Dir, origin.url, cfg.cacheMB)
				if err != nil {
					return results, err
				}
				before := origin.requests.Load()
				err = warm(ctx, p.url+obj.path)
				if err == nil {
					ws.Log.Printf("%s, %s, round %d/%d: wrk -c %d for %v", name, obj.name, round, cfg.rounds, cfg.connections, cfg.duration)
					var w wrk.Result
					w, err = wrk.Run(ctx, wrk.Options{Threads: cfg.threads, Connections: cfg.connections, Duration: cfg.duration}, p.url+obj.path)
					if err == nil {
						r.Rounds = append(r.Rounds, w)
						r.OriginRequests += origin.requests.Load() - before
						ws.Log.Printf("%s, %s: %.0f requests/s, p99 %.2f ms, %d errors", name, obj.name, w.RequestsPerSecond, w.P99Milliseconds, w.Errors)
					}
				}
				p.stop()
				if err != nil {
					r.Error = err.Error()
					return append(results, collect(byProxy, cfg.proxies)...), fmt.Errorf("%s, %s: %w", name, obj.name, err)
				}
			}
		}
		results = append(results, collect(byProxy, cfg.proxies)...)
	}
	return results, nil
}

func collect(m map[string]*hitResult, order []string) []hitResult {
	out := make([]hitResult, 0, len(order))
	for _, name := range order {
		r := m[name]
		r.summarise()
		out = append(out, *r)
	}
	return out
}

// warm fetches an object until the proxy has it cached (three times).
func warm(ctx context.Context, u string) error {
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("warming %s: %s", u, resp.Status)
		}
	}
	return nil
}

// measureViewers runs a live channel on sluice serve and the viewers
// through each proxy in turn.
func measureViewers(ctx context.Context, ws *harness.Workspace, cfg config) ([]viewerResult, error) {
	stack := sluice.StackYAML("edge-bench",
		[]sluice.Input{{Name: "edge-pattern", PatternWidth: 640, PatternHeight: 360}},
		[]sluice.Channel{{Name: liveChannel, Input: "edge-pattern", Ladder: "test-360p", Preset: "ultrafast"}})
	// The benchmark needs no ingest; other servers may hold the default ports.
	srv, err := ws.Serve(ctx, cfg.FFmpeg, stack, "--rtmp", "", "--srt", "")
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	if _, err := srv.WaitState(ctx, liveChannel, time.Minute, resource.StateIdle); err != nil {
		return nil, err
	}
	if err := srv.StartChannel(ctx, liveChannel); err != nil {
		return nil, err
	}
	if _, err := srv.WaitState(ctx, liveChannel, 2*time.Minute, resource.StateRunning); err != nil {
		return nil, err
	}
	var playlist string
	deadline := time.Now().Add(time.Minute)
	for playlist, err = mediaPlaylist(ctx, srv); err != nil; playlist, err = mediaPlaylist(ctx, srv) {
		if time.Now().After(deadline) {
			return nil, err
		}
		if err := harness.Sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	var out []viewerResult
	for _, name := range cfg.proxies {
		p, err := startProxy(ctx, name, ws.Bin, ws.Dir, srv.URL, cfg.cacheMB)
		if err != nil {
			return out, err
		}
		ws.Log.Printf("%s: %d viewers watch %s for %v", name, cfg.viewers, playlist, cfg.watch)
		r, err := watch(ctx, srv, p, playlist, cfg)
		p.stop()
		if err != nil {
			r.Error = err.Error()
			return append(out, r), err
		}
		ws.Log.Printf("%s: %d viewer requests (%d failed), %d objects, %.0f origin object requests (%.2f per object), %.2f origin playlist requests/s",
			name, r.Requests, r.Failed, r.Objects, r.OriginObjectRequests, r.PerObject, r.OriginPlaylistPerSecond)
		out = append(out, r)
	}
	return out, nil
}
