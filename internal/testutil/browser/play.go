package browser

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// Timings of Play. The ready deadline is generous: a live channel may need a
// few segments before its manifest exists, and a loaded CI machine is slow.
const (
	readyTimeout   = 90 * time.Second
	readyPoll      = 250 * time.Millisecond
	sampleInterval = time.Second
	evalTimeout    = 10 * time.Second
)

// Sample is what the player showed at one moment of the watch.
type Sample struct {
	// At is the time since sampling began.
	At time.Duration
	// CurrentTime is the video element's playback position, in seconds.
	CurrentTime float64
	// Latency is the live latency in seconds, or -1 when the player does not
	// know it (a VOD stream, or a stream without wall-clock times).
	Latency float64
	// FramesDecoded and Audio are what the WebRTC player reads from
	// RTCStats: the video frames decoded so far, and whether an audio
	// track arrived (0 and false for the other players).
	FramesDecoded int64
	Audio         bool
	// Width and Height are the size of the picture the video element
	// shows (0 before the first frame).
	Width, Height int
	// Waiting counts the video element's waiting events since it first
	// played (the stalls a viewer sees), and Stalled is how long they
	// lasted in all, in seconds (the HLS and DASH players).
	Waiting int
	Stalled float64
}

// Result is what Play saw.
type Result struct {
	// Samples were taken once a second while watching, the first at At 0.
	Samples []Sample
	// Errors are the player's recorded errors, then the page's console
	// errors (prefixed "console"). Console errors include failed loads, such
	// as the 404s of the page's manifest probes while a channel starts.
	Errors []string
	// Fatal is the player's fatal error, empty when there was none.
	Fatal string
}

// playerState is what the page exposes as window.sluicePlayer.
type playerState struct {
	Ready       bool     `json:"ready"`
	Fatal       string   `json:"fatal"`
	Errors      []string `json:"errors"`
	CurrentTime float64  `json:"currentTime"`
	Latency     float64  `json:"latency"`
	Frames      int64    `json:"frames"`
	Audio       bool     `json:"audio"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	Waiting     int      `json:"waiting"`
	Stalled     float64  `json:"stalled"`
}

// playerStateJS reads window.sluicePlayer, or null while the page has not
// defined it yet.
const playerStateJS = `(() => {
	const p = window.sluicePlayer;
	if (!p) return null;
	let latency = null;
	try { latency = p.latencySeconds(); } catch (e) {}
	const t = Number(p.currentTime());
	let frames = 0, audio = false, stalled = 0;
	try { frames = Number(p.framesDecoded ? p.framesDecoded() : 0) || 0; audio = !!(p.hasAudio && p.hasAudio()); } catch (e) {}
	try { stalled = Number(p.stalledSeconds ? p.stalledSeconds() : 0) || 0; } catch (e) {}
	const v = document.querySelector("video");
	return {
		frames: frames,
		audio: audio,
		width: v ? v.videoWidth : 0,
		height: v ? v.videoHeight : 0,
		ready: !!p.ready,
		waiting: Number(p.waiting) || 0,
		stalled: stalled,
		fatal: p.fatal ? String(p.fatal) : "",
		errors: (p.errors || []).map(String),
		currentTime: isFinite(t) ? t : 0,
		latency: (typeof latency === "number" && isFinite(latency)) ? latency : -1,
	};
})()`

// Play opens pageURL, waits until window.sluicePlayer.ready (up to a
// generous deadline from ctx), then samples currentTime once a second,
// watch/1s + 1 samples in all, returning what it saw. It never asserts;
// callers decide. On a slow machine a sample can take longer than a
// second; the watch then lasts longer rather than yielding fewer samples.
//
// Sampling stops early if the player reports a fatal error. If the player
// never becomes ready, Play returns the errors seen so far in the Result
// together with an error saying so.
func Play(ctx context.Context, pageURL string, watch time.Duration) (*Result, error) {
	s, err := start(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	return playIn(s.ctx, s.console, pageURL, watch)
}

// PlayAll is Play of several pages at once, each in its own tab of one
// Chromium: players compared over the same moments (hls.js and dash.js
// while a server fails) see the same failure. The results are in the
// order of pageURLs; err is the first page's error, if any.
func PlayAll(ctx context.Context, pageURLs []string, watch time.Duration) ([]*Result, error) {
	s, err := start(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	results := make([]*Result, len(pageURLs))
	errs := make([]error, len(pageURLs))
	var wg sync.WaitGroup
	for i, u := range pageURLs {
		tab, console := s.ctx, s.console
		if i > 0 {
			var cancel context.CancelFunc
			tab, cancel = chromedp.NewContext(s.ctx)
			if err := chromedp.Do(tab); err != nil {
				cancel()
				errs[i] = fmt.Errorf("browser: opening a tab for %s: %w", u, err)
				continue
			}
			console = collectConsoleErrors(tab)
			defer console.wait()
			defer cancel() // before the wait
		}
		wg.Go(func() { results[i], errs[i] = playIn(tab, console, u, watch) })
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// playIn plays pageURL in the tab of ctx, whose console errors console
// collects.
func playIn(ctx context.Context, console *consoleErrors, pageURL string, watch time.Duration) (*Result, error) {
	res := &Result{}
	finish := func(st *playerState) {
		if st != nil {
			res.Errors = append(res.Errors, st.Errors...)
			res.Fatal = st.Fatal
		}
		res.Errors = append(res.Errors, console.errors()...)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		finish(nil)
		return res, fmt.Errorf("browser: opening %s: %w", pageURL, err)
	}

	st, err := waitReady(ctx)
	if err != nil || st.Fatal != "" {
		finish(st)
		return res, err
	}

	want := int(watch/sampleInterval) + 1
	began := time.Now()
	tick := time.NewTicker(sampleInterval)
	defer tick.Stop()
	for {
		st, err = readState(ctx)
		if err != nil {
			finish(nil)
			return res, err
		}
		at := time.Since(began)
		res.Samples = append(res.Samples, Sample{At: at, CurrentTime: st.CurrentTime, Latency: st.Latency, FramesDecoded: st.Frames, Audio: st.Audio, Width: st.Width, Height: st.Height,
			Waiting: st.Waiting, Stalled: st.Stalled})
		if st.Fatal != "" || len(res.Samples) >= want {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			finish(st)
			return res, ctx.Err()
		}
	}
	finish(st)
	return res, nil
}

// waitReady polls the page until its player is ready or has failed. The
// returned state is the last one read, also when the wait failed.
func waitReady(ctx context.Context) (*playerState, error) {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	var last *playerState
	for {
		st, err := readState(ctx)
		switch {
		case err != nil:
			return last, err
		case st != nil:
			last = st
			if st.Ready || st.Fatal != "" {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			if last == nil {
				return nil, fmt.Errorf("browser: the page defined no window.sluicePlayer within %s", readyTimeout)
			}
			return last, fmt.Errorf("browser: the player was not ready within %s", readyTimeout)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return last, ctx.Err()
		}
	}
}

// readState reads window.sluicePlayer; it returns nil, nil while the page has
// not defined it.
func readState(ctx context.Context) (*playerState, error) {
	ectx, cancel := context.WithTimeout(ctx, evalTimeout)
	defer cancel()
	st, err := chromedp.Run(ectx, chromedp.Evaluate[*playerState](playerStateJS))
	if errors.Is(err, chromedp.ErrJSNull) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("browser: reading window.sluicePlayer: %w", err)
	}
	return st, nil
}
