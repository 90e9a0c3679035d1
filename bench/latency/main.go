// Command latency measures the live latency of Sluice LL-HLS and HLS beside
// bare ffmpeg HLS from the same looped source, with hls.js in headless
// Chromium and with a Go client following the media playlist, and prints
// the published MediaMTX and ffmpeg figures as anchors.
//
//	go run ./bench/latency [--watch 40s] [--json FILE]
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/media"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
)

func main() { harness.Main("latency", parseFlags, run) }

// result is one contender's figures, in seconds.
type result struct {
	Name string `json:"name"`
	Text string `json:"description"`
	// Player is the median hls.js latency over the second half of the
	// watch; -1 when not measured.
	Player        float64 `json:"hlsjsLatencySeconds"`
	PlayerSamples int     `json:"hlsjsSamples"`
	PlayerErrors  int     `json:"hlsjsErrors"`
	// Listed is the median and P90 of the Go client's listing delay.
	Listed    float64 `json:"listedDelayMedianSeconds"`
	ListedP90 float64 `json:"listedDelayP90Seconds"`
	Listings  int     `json:"listings"`
	Target    string  `json:"target"`
	Anchor    string  `json:"anchor"`
	Error     string  `json:"error,omitempty"`
}

type latencyReport struct {
	Benchmark string         `json:"benchmark"`
	Command   string         `json:"command"`
	Machine   report.Machine `json:"machine"`
	Results   []result       `json:"results"`
}

// stackYAML declares the two Sluice channels: LL-HLS with Sluice's
// low-latency defaults (1 s segments, 200 ms parts) and standard HLS with
// 2 s segments.
func stackYAML(ladder, preset string) string {
	enc := "      ladder: " + ladder + "\n"
	if preset != "" {
		enc += "      preset: " + preset + "\n"
	}
	return `name: latency-bench
inputs:
  - name: source
    type: FILE
    url: "source.mp4"
channels:
  - name: ll
    inputAttachments: [{input: source}]
    encoder:
` + enc + `    outputs: [{name: ll, type: LL_HLS}]
  - name: std
    inputAttachments: [{input: source}]
    encoder:
` + enc + `      segmentSeconds: 2
    outputs: [{name: hls, type: HLS}]
`
}

func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "latency", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	log := ws.Log
	src := media.Source{Width: 640, Height: 360, FPS: 30, Seconds: cfg.SourceSeconds}
	source, err := ws.Generate(ctx, src, "source.mp4")
	if err != nil {
		return ws.Fail(ctx, err)
	}
	stack := filepath.Join(ws.Dir, "stack.yaml")
	if err := os.WriteFile(stack, []byte(stackYAML(cfg.ladder, cfg.preset)), 0o600); err != nil {
		return ws.Fail(ctx, err)
	}
	machine := ws.Machine(ctx)
	log.Printf("starting sluice serve")
	srv, err := sluice.StartServer(ctx, sluice.ServerConfig{Binary: ws.Bin, DataDir: ws.DataDir, FFmpeg: cfg.FFmpeg, Apply: []string{stack}})
	if err != nil {
		return ws.Fail(ctx, err)
	}
	ws.Cleanup.Add(srv.Stop)

	var results []result
	failed := false
	for _, name := range cfg.contends {
		res := result{Name: name, Player: -1}
		var err error
		switch name {
		case "sluice-llhls":
			res.Text, res.Target, res.Anchor = "Sluice LL-HLS, 1 s segments, 200 ms parts", "≤ 2 s, below MediaMTX", "MediaMTX LL-HLS 1.0 s"
			err = measureSluice(ctx, log, srv, cfg, "ll", "/live/ll/ll/360p/index.m3u8", "llhls", &res)
		case "sluice-hls":
			res.Text, res.Target, res.Anchor = "Sluice HLS, 2 s segments", "≤ 6 s", "MediaMTX HLS 6.8 s"
			err = measureSluice(ctx, log, srv, cfg, "std", "/live/std/hls/360p/index.m3u8", "hls", &res)
		case "ffmpeg-hls":
			res.Text, res.Target, res.Anchor = "bare ffmpeg HLS muxer, 2 s segments, files over HTTP", "(anchor)", "ffmpeg HLS 6.9 s"
			err = measureBare(ctx, log, cfg, source, ws.Dir, &res)
		}
		if ctx.Err() != nil {
			return ws.Fail(ctx, ctx.Err())
		}
		if err != nil {
			log.Printf("%s: %v", name, err)
			res.Error = err.Error()
			failed = true
		}
		results = append(results, res)
	}
	srv.Stop()
	for _, p := range srv.LogProblems() {
		log.Printf("server log: %s", p)
	}
	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	_ = resultTable(results, cfg).Write(os.Stdout)
	return ws.Finish(ctx, latencyReport{
		Benchmark: "latency", Command: report.CommandLine("go run ./bench/latency", os.Args[1:]),
		Machine: machine, Results: results,
	}, failed)
}

// measureSluice starts a channel, measures it and stops it again.
func measureSluice(ctx context.Context, log *report.Log, srv *sluice.Server, cfg config, channel, playlist, player string, res *result) error {
	if _, err := srv.WaitState(ctx, channel, time.Minute, resource.StateIdle); err != nil {
		return err
	}
	log.Printf("%s: starting channel %s", res.Name, channel)
	if err := srv.StartChannel(ctx, channel); err != nil {
		return err
	}
	defer func() {
		_ = srv.StopChannel(context.WithoutCancel(ctx), channel)
		_, _ = srv.WaitState(context.WithoutCancel(ctx), channel, time.Minute, resource.StateIdle)
	}()
	if _, err := srv.WaitState(ctx, channel, 2*time.Minute, resource.StateRunning); err != nil {
		return err
	}
	if err := waitPlaylist(ctx, srv.URL+playlist); err != nil {
		return err
	}
	return measure(ctx, log, cfg, srv.URL+playlist, srv.URL+"/play/"+channel+"?player="+player, res)
}

// measureBare runs ffmpeg's HLS muxer and measures it.
func measureBare(ctx context.Context, log *report.Log, cfg config, source, dir string, res *result) error {
	log.Printf("%s: starting ffmpeg", res.Name)
	b, err := startBare(ctx, cfg.FFmpeg, source, dir, cfg.preset)
	if err != nil {
		return err
	}
	defer b.stop()
	if err := waitPlaylist(ctx, b.URL+"/hls/index.m3u8"); err != nil {
		return err
	}
	return measure(ctx, log, cfg, b.URL+"/hls/index.m3u8", b.URL+"/", res)
}

// waitPlaylist waits until a playlist lists at least three segments.
func waitPlaylist(ctx context.Context, u string) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u) //nolint:gosec,noctx // a loopback URL the benchmark built
		if err == nil {
			l, perr := parsePlaylist(resp.Body)
			_ = resp.Body.Close()
			if perr == nil && resp.StatusCode == 200 && segments(l) >= 3 {
				return nil
			}
		}
		if err := harness.Sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s did not list three segments within 90 s", u)
}

func segments(l listing) int {
	n := 0
	for _, e := range l.entries {
		if strings.HasSuffix(e.uri, ".ts") || (strings.HasSuffix(e.uri, ".m4s") && strings.Count(e.uri, ".") == 1) {
			n++
		}
	}
	return n
}

// measure runs the Go client, then hls.js.
func measure(ctx context.Context, log *report.Log, cfg config, playlist, page string, res *result) error {
	delays, err := follow(ctx, &http.Client{Timeout: 30 * time.Second}, playlist, cfg.follow)
	if err != nil {
		return err
	}
	res.Listed, res.ListedP90, res.Listings = quantile(delays, 0.5), quantile(delays, 0.9), len(delays)
	log.Printf("%s: Go client: %d new segments or parts listed %.2f s (median) after their media ended", res.Name, len(delays), res.Listed)
	if !cfg.browser {
		return nil
	}
	bctx, cancel := context.WithTimeout(ctx, cfg.watch+3*time.Minute)
	defer cancel()
	pr, err := browser.Play(bctx, page, cfg.watch)
	if err != nil {
		return fmt.Errorf("hls.js: %w", err)
	}
	if pr.Fatal != "" {
		return errors.New("hls.js fatal error: " + pr.Fatal)
	}
	var lat []float64
	for _, s := range pr.Samples[len(pr.Samples)/2:] {
		if s.Latency > 0 {
			lat = append(lat, s.Latency)
		}
	}
	res.PlayerSamples, res.PlayerErrors = len(lat), len(pr.Errors)
	if len(lat) == 0 {
		return errors.New("hls.js reported no latency")
	}
	res.Player = quantile(lat, 0.5)
	log.Printf("%s: hls.js: live latency %.2f s (median of %d samples; %d player errors)", res.Name, res.Player, len(lat), len(pr.Errors))
	return nil
}

func quantile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func resultTable(rs []result, cfg config) report.Table {
	t := report.Table{
		Title:  "Live latency (seconds)",
		Header: []string{"contender", "hls.js latency", "listed after media end (median / p90)", "target", "anchor"},
	}
	for _, r := range rs {
		player := "-"
		if r.Player >= 0 {
			player = fmt.Sprintf("%.2f", r.Player)
		}
		listed := "-"
		if r.Listings > 0 {
			listed = fmt.Sprintf("%.2f / %.2f", r.Listed, r.ListedP90)
		}
		if r.Error != "" {
			player = "error"
		}
		t.Rows = append(t.Rows, []string{r.Text, player, listed, r.Target, r.Anchor})
	}
	t.Notes = []string{
		fmt.Sprintf("hls.js: wall clock minus hls.playingDate, median over the second half of %v of playback in headless Chromium.", cfg.watch),
		"Go client: wall clock when a segment or part is first listed minus the end of its media (program date-time + duration),",
		"  following the media playlist with blocking reloads (LL-HLS) or polling every 100 ms.",
		"Anchors (published figures, measured the same way on this kind of machine; MediaMTX cannot be installed here):",
		"  MediaMTX LL-HLS (1 s segments, 200 ms parts) 1.0 s; MediaMTX fMP4 HLS (2 s) 6.8 s; ffmpeg HLS muxer (2 s) 6.9 s.",
	}
	return t
}
