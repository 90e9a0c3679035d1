package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// contender is one way of getting the publisher's stream to a player.
type contender struct {
	Name string
	Text string
	// Server runs it: "sluice", "ffmpeg" or "mediamtx".
	Server string
	// Player is the page's player kind: llhls, lldash or hls.
	Player string
	// Target is the design's figure for it, Anchor what it is compared to.
	Target, Anchor string
}

// contenders, in the order they run for each protocol.
var contenders = []contender{
	{Name: "sluice-llhls", Text: "Sluice LL-HLS (1 s segments, 200 ms parts), hls.js lowLatencyMode", Server: "sluice", Player: "llhls",
		Target: "≤ 1.0 s", Anchor: "mediamtx-llhls"},
	{Name: "sluice-lldash", Text: "Sluice LL-DASH (1 s segments, 200 ms chunks), dash.js low latency", Server: "sluice", Player: "lldash",
		Target: "≤ 1.5 s", Anchor: "mediamtx-llhls"},
	{Name: "sluice-passthrough", Text: "Sluice LL-HLS, passthrough rung {name: source, passthrough: true}", Server: "sluice", Player: "llhls",
		Target: "≤ 0.8 s", Anchor: "mediamtx-llhls"},
	{Name: "sluice-hls", Text: "Sluice HLS, 2 s segments", Server: "sluice", Player: "hls",
		Target: "≤ 5 s", Anchor: "mediamtx-hls"},
	{Name: "sluice-whep", Text: "Sluice WebRTC (WHEP), the transcoded rung without B-frames, Chromium's RTCPeerConnection", Server: "sluice", Player: "whep",
		Target: "≤ 0.4 s", Anchor: "mediamtx-webrtc"},
	{Name: "sluice-whep-passthrough", Text: "Sluice WebRTC (WHEP) on a passthrough rung (the publisher's frames, no B-frames), Chromium's RTCPeerConnection", Server: "sluice", Player: "whep",
		Target: "≤ 0.3 s", Anchor: "mediamtx-webrtc"},
	{Name: "ffmpeg-hls", Text: "ffmpeg's HLS muxer receiving the publish, same rung, 2 s TS segments", Server: "ffmpeg", Player: "hls",
		Target: "(anchor)", Anchor: "mediamtx-hls"},
	{Name: "mediamtx-llhls", Text: "MediaMTX v1.15.3 LL-HLS (1 s segments, 200 ms parts, no transcode)", Server: "mediamtx", Player: "llhls",
		Target: "(anchor)"},
	{Name: "mediamtx-hls", Text: "MediaMTX v1.15.3 HLS fMP4, 2 s segments (no transcode)", Server: "mediamtx", Player: "hls",
		Target: "(anchor)"},
	{Name: "mediamtx-webrtc", Text: "MediaMTX v1.15.3 WebRTC (WHEP, no transcode), Chromium's RTCPeerConnection", Server: "mediamtx", Player: "whep",
		Target: "(anchor)"},
}

// segment is the contender's segment duration.
func (c contender) segment() time.Duration {
	if c.Player == "hls" {
		return 2 * time.Second
	}
	return time.Second
}

func contenderNames() []string {
	out := make([]string, len(contenders))
	for i, c := range contenders {
		out[i] = c.Name
	}
	return out
}

func contenderNamed(name string) contender {
	for _, c := range contenders {
		if c.Name == name {
			return c
		}
	}
	return contender{}
}

func joinNames(names []string) string { return strings.Join(names, ",") }

// measureSluice runs one Sluice contender: start its channel, publish to
// the input, wait until the channel encodes the publisher, watch, stop.
func (e *env) measureSluice(ctx context.Context, c contender, proto string, res *result) error {
	srv, err := e.sluiceServer(ctx)
	if err != nil {
		return err
	}
	channel, endpoint := "ll-"+proto, resource.OutputLLHLS
	switch c.Name {
	case "sluice-lldash":
		endpoint = resource.OutputLLDASH
	case "sluice-hls":
		channel, endpoint = "hls-"+proto, resource.OutputHLS
	case "sluice-whep":
		channel, endpoint = "rtc-"+proto, resource.OutputWebRTC
	case "sluice-passthrough":
		if channel, err = createPassthrough(ctx, srv, proto, false); err != nil {
			return err
		}
	case "sluice-whep-passthrough":
		if channel, err = createPassthrough(ctx, srv, proto, true); err != nil {
			return err
		}
		endpoint = resource.OutputWebRTC
	}
	if _, err := srv.WaitState(ctx, channel, time.Minute, resource.StateIdle); err != nil {
		return err
	}
	e.log.Printf("%s/%s: starting channel %s", c.Name, proto, channel)
	if err := srv.StartChannel(ctx, channel); err != nil {
		return err
	}
	defer func() {
		bg := context.WithoutCancel(ctx)
		_ = srv.StopChannel(bg, channel)
		_, _ = srv.WaitState(bg, channel, time.Minute, resource.StateIdle)
	}()
	if _, err := srv.WaitState(ctx, channel, 2*time.Minute, resource.StateRunning); err != nil {
		return err
	}
	publishTo, err := sluicePublishURL(ctx, srv, proto)
	if err != nil {
		return err
	}
	pub, err := e.publish(ctx, c, proto, publishTo)
	if err != nil {
		return err
	}
	defer pub.Stop()
	manifest, err := waitOnAir(ctx, srv, channel, endpoint)
	if err != nil {
		return err
	}
	onAir := time.Now()
	before, _ := e.stageSnapshot(ctx, srv)
	if err := e.watchManifest(ctx, c, proto, manifest, pub, onAir, res); err != nil {
		return err
	}
	if after, err := e.stageSnapshot(ctx, srv); err == nil && after != nil {
		res.Stages = stageFigures(after, before)
	}
	return nil
}

// measureBare runs ffmpeg's HLS muxer receiving the publish.
func (e *env) measureBare(ctx context.Context, c contender, proto string, res *result) error {
	b, err := startBare(ctx, e.cfg.FFmpeg, e.ws.Dir, proto)
	if err != nil {
		return err
	}
	defer b.stop()
	pub, err := e.publish(ctx, c, proto, b.publishURL)
	if err != nil {
		return err
	}
	defer pub.Stop()
	return e.watchManifest(ctx, c, proto, b.manifest, pub, time.Now(), res)
}

// measureMediaMTX runs a fresh MediaMTX with the contender's HLS variant.
func (e *env) measureMediaMTX(ctx context.Context, c contender, proto string, res *result) error {
	bin, err := e.mediamtxBinary(ctx)
	if err != nil {
		return err
	}
	variant := "fmp4"
	switch c.Player {
	case "llhls":
		variant = "lowLatency"
	case "whep":
		variant = "webrtc"
	}
	m, err := startMediaMTX(ctx, bin, e.ws.Dir, variant)
	if err != nil {
		return err
	}
	defer m.stop()
	publishTo := m.rtmpURL
	if proto == "srt" {
		publishTo = m.srtURL
	}
	pub, err := e.publish(ctx, c, proto, publishTo)
	if err != nil {
		return err
	}
	defer pub.Stop()
	return e.watchManifest(ctx, c, proto, m.manifest, pub, time.Now(), res)
}

// publish starts the publisher, trying again for a while when it ends at
// once: a receiver that listens itself (ffmpeg -listen, a new MediaMTX)
// may not accept connections yet.
func (e *env) publish(ctx context.Context, c contender, proto, url string) (*publisher, error) {
	name := c.Name + "-" + proto
	for try := 1; ; try++ {
		pub, err := startPublisher(ctx, e.cfg.FFmpeg, e.ws.Dir, name, proto, url, e.cfg.audio)
		if err != nil {
			return nil, err
		}
		t := time.NewTimer(1500 * time.Millisecond)
		select {
		case <-t.C:
			e.log.Printf("%s/%s: publishing to %s", c.Name, proto, url)
			return pub, nil
		case <-pub.Done():
			t.Stop()
			err := pub.Err()
			pub.Stop()
			if try >= 20 {
				return nil, fmt.Errorf("publisher to %s: %w (log: %s-publisher.log)", url, err, name)
			}
		case <-ctx.Done():
			t.Stop()
			pub.Stop()
			return nil, ctx.Err()
		}
		if err := harness.Sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// watchManifest waits until the manifest answers, then plays it in the
// page and fills res from what the screenshots showed.
func (e *env) watchManifest(ctx context.Context, c contender, proto, manifest string, pub *publisher, liveSince time.Time, res *result) error {
	if err := waitAnswer(ctx, manifest, c.Player == "whep", 90*time.Second); err != nil {
		return err
	}
	// A viewer joins a stream that has been live for a while: players pick
	// their starting point from what the playlist lists, and a playlist
	// of one or two segments puts them closer to the live edge than they
	// would ever be later.
	settle := 4 * c.segment()
	if wait := time.Until(liveSince.Add(settle)); wait > 0 {
		if err := harness.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	e.log.Printf("%s/%s: playing %s", c.Name, proto, manifest)
	wctx, cancel := context.WithTimeout(ctx, e.cfg.warmup+e.cfg.duration+4*time.Minute)
	defer cancel()
	saveDir := ""
	if e.cfg.Keep {
		saveDir = e.ws.Dir
	}
	// A Go client follows HLS playlists meanwhile, for the server's side.
	fctx, stopFollow := context.WithCancel(wctx)
	defer stopFollow()
	var followed *followResult
	var followErr error
	followDone := make(chan struct{})
	if c.Player == "dash" || c.Player == "lldash" || c.Player == "whep" || !e.cfg.follow {
		close(followDone)
	} else {
		go func() {
			defer close(followDone)
			followed, followErr = follow(fctx, manifest)
		}()
	}
	w, err := watch(wctx, e.pages.pageURL(manifest, c.Player, e.cfg.hlsSync, e.cfg.syncRate), watchOptions{
		Warmup: e.cfg.warmup, Duration: e.cfg.duration, Interval: e.cfg.interval, MaxShots: e.cfg.samples,
		SaveDir: saveDir, SaveName: c.Name + "-" + proto,
		Logf: func(f string, a ...any) { e.log.Printf("%s/%s: "+f, append([]any{c.Name, proto}, a...)...) },
	})
	stopFollow()
	<-followDone
	if w != nil {
		res.fill(w)
	}
	if followErr != nil {
		e.log.Printf("%s/%s: following the playlist: %v", c.Name, proto, followErr)
	}
	if followed != nil && err == nil {
		sf, derr := decodeFollowed(ctx, e.cfg.FFmpeg, e.ws.Dir, followed, 150)
		if derr != nil {
			return derr
		}
		res.Available, res.PDTError = summarize(sf.Available), summarize(sf.PDTError)
		res.Followed, res.FollowDropped = len(followed.items), followed.dropped
		e.log.Printf("%s/%s: server side: %d parts or segments listed %s s after their last frame was captured; date-time − capture %s s",
			c.Name, proto, sf.Decoded, res.Available, res.PDTError)
	}
	res.PublisherFrames, res.PublisherLate, res.PublisherResyncs = pub.frames.Load(), pub.late.Load(), pub.resyncs.Load()
	select {
	case <-pub.Done():
		if err == nil {
			err = pub.Err()
		}
	default:
	}
	if err != nil {
		return err
	}
	if res.Picture.N == 0 {
		return fmt.Errorf("no screenshot showed a readable clock in the picture (%d screenshots)", res.Shots)
	}
	e.log.Printf("%s/%s: picture %s s, date-time %s s", c.Name, proto, res.Picture, res.DateTime)
	return nil
}

// waitAnswer polls u until it answers 200 to a GET, or, for a WHEP
// endpoint, until it answers its CORS preflight (an OPTIONS) with a 2xx.
func waitAnswer(ctx context.Context, u string, whep bool, timeout time.Duration) error {
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(timeout)
	method := http.MethodGet
	if whep {
		method = http.MethodOptions
	}
	for {
		req, err := http.NewRequestWithContext(ctx, method, u, http.NoBody)
		if err != nil {
			return err
		}
		if whep {
			req.Header.Set("Origin", "http://127.0.0.1")
			req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK || (whep && resp.StatusCode/100 == 2) {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %s: %w", u, timeout, err)
		}
		if err := harness.Sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// stageSnapshot reads the stage histogram from the server's /metrics; nil
// when the server does not expose it.
func (e *env) stageSnapshot(ctx context.Context, srv *sluice.Server) (map[string]stageBuckets, error) {
	code, body, err := srv.Get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", code)
	}
	return parseStageHistogram(strings.NewReader(string(body)))
}

// stageFigure is one stage's median over a contender's run.
type stageFigure struct {
	Median num     `json:"medianSeconds"`
	Count  float64 `json:"observations"`
}

// stageFigures are the per-stage medians of what was observed between two
// snapshots.
func stageFigures(after, before map[string]stageBuckets) map[string]stageFigure {
	out := map[string]stageFigure{}
	for stage, b := range after {
		q, n := b.sub(before[stage]).quantile(0.5)
		out[stage] = stageFigure{Median: num(q), Count: n}
	}
	return out
}
