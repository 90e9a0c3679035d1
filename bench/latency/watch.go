package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/clockcode"
)

// shot is what one screenshot of the playing page gave.
type shot struct {
	// Requested is the benchmark's clock when it asked for the screenshot;
	// RoundTrip how long the answer took.
	Requested time.Time
	RoundTrip time.Duration
	// Video and Page are the clock codes read from the picture and from
	// the page's clock under it; ok false when unreadable.
	Video, Page     uint32
	VideoOK, PageOK bool
	// DateTime is the player's own latency (from program date-times or
	// DASH availability times) read right after the screenshot, in
	// seconds; NaN when it has none.
	DateTime float64
	// Edge and Target are how far behind the playlist's live edge hls.js
	// says it plays, and aims to, in seconds; NaN for dash.js.
	Edge, Target float64
}

// Figures of one shot, in seconds.

// picture is glass to glass: the instant the screenshot shows minus the
// publisher's clock in the picture.
func (s shot) picture() float64 { return float64(clockcode.Diff(s.Page, s.Video)) / 1000 }

// captureDelay is how long after the request the captured frame was
// drawn.
func (s shot) captureDelay() float64 {
	return float64(clockcode.Diff(s.Page, clockcode.Encode(s.Requested.UnixMilli())>>8)) / 1000
}

// byRequest is the latency taken naively from the request time, without
// the capture delay.
func (s shot) byRequest() float64 {
	return float64(clockcode.Diff(clockcode.Encode(s.Requested.UnixMilli())>>8, s.Video)) / 1000
}

// watchResult is what watching one contender gave.
type watchResult struct {
	Shots  []shot
	Player string
	Errors []string
	Fatal  string
	// SkewMs is Date.now() minus the page's clock (timeOrigin + now) when
	// the watch ended.
	SkewMs float64
}

// watchOptions tune the watch.
type watchOptions struct {
	Warmup   time.Duration
	Duration time.Duration
	Interval time.Duration
	// MaxShots bounds the screenshots, whatever the duration.
	MaxShots int
	// SaveDir, when set, receives the first screenshots whose picture
	// clock could and could not be read, for a person to look at.
	SaveDir, SaveName string
	Logf              func(string, ...any)
}

// watch opens pageURL in a fresh headless Chromium, waits for playback,
// lets it settle for the warm-up and then takes screenshots of the video
// and the page clock at random intervals averaging Interval, until
// Duration has passed or MaxShots were taken.
func watch(ctx context.Context, pageURL string, o watchOptions) (*watchResult, error) {
	path, err := browser.Available()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "sluice-bench-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	// The flags of internal/testutil/browser: headless, no sandbox (root),
	// no GPU, and no background networking on this closed network.
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.WindowSize(800, 600),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(pageURL)); err != nil {
		return nil, fmt.Errorf("opening the player page: %w", err)
	}
	res := &watchResult{}
	defer func() { res.finish(tab) }()
	if err := waitPlaying(tab); err != nil {
		return res, err
	}
	o.Logf("playing (%s); warming up for %s", evalString(tab, "window.bench.player"), o.Warmup)
	if err := sleepCtx(tab, o.Warmup); err != nil {
		return res, err
	}
	clip := page.Viewport{Width: pageVideoWidth, Height: pageVideoHeight + pageClockHeight, Scale: 1}
	end := time.Now().Add(o.Duration)
	nextLog := time.Now().Add(10 * time.Second)
	savedGood, savedBad := false, false
	for time.Now().Before(end) && len(res.Shots) < o.MaxShots {
		// Random intervals, so that the instants do not lock onto the
		// frame, part or segment cadence.
		pause := time.Duration(float64(o.Interval) * (0.5 + rand.Float64())) //nolint:gosec // sampling jitter, not a secret
		if err := sleepCtx(tab, pause); err != nil {
			return res, err
		}
		s := shot{Requested: time.Now()}
		data, err := chromedp.Run(tab, captureClip(clip))
		s.RoundTrip = time.Since(s.Requested)
		if err != nil {
			return res, fmt.Errorf("screenshot: %w", err)
		}
		s.DateTime, s.Edge, s.Target = playerFigures(tab)
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return res, fmt.Errorf("screenshot: %w", err)
		}
		s.Video, s.VideoOK, s.Page, s.PageOK = readShot(img)
		res.Shots = append(res.Shots, s)
		if o.SaveDir != "" && ((s.VideoOK && !savedGood) || (!s.VideoOK && !savedBad)) {
			which := "readable"
			if !s.VideoOK {
				which = "unreadable"
			}
			savedGood, savedBad = savedGood || s.VideoOK, savedBad || !s.VideoOK
			_ = os.WriteFile(filepath.Join(o.SaveDir, o.SaveName+"-"+which+".png"), data, 0o644)
		}
		if fatal := evalString(tab, "window.bench.fatal || ''"); fatal != "" {
			return res, errors.New("player: " + fatal)
		}
		if time.Now().After(nextLog) {
			nextLog = time.Now().Add(10 * time.Second)
			pic := pictureFigures(res.Shots)
			o.Logf("%d screenshots, %d with a readable picture clock; picture latency so far %s s", len(res.Shots), len(pic), seconds(quantile(pic, 0.5)))
		}
	}
	return res, nil
}

// readShot reads the picture's clock code (the bottom rows of the video)
// and the page's (the canvas under it) from a screenshot of both.
func readShot(img image.Image) (video uint32, videoOK bool, pageClock uint32, pageOK bool) {
	b := img.Bounds()
	scale := float64(b.Dx()) / pageVideoWidth
	px := func(v int) int { return b.Min.Y + int(math.Round(float64(v)*scale)) }
	strip := clockcode.Strip(pageVideoWidth, pageVideoHeight)
	video, videoOK = clockcode.Read(img, image.Rect(b.Min.X, px(strip.Min.Y), b.Max.X, px(strip.Max.Y)))
	pageClock, pageOK = clockcode.Read(img, image.Rect(b.Min.X, px(pageVideoHeight), b.Max.X, px(pageVideoHeight+pageClockHeight)))
	return video, videoOK, pageClock, pageOK
}

// captureClip is a PNG screenshot of the clip rectangle of the page, as
// the compositor last drew it.
func captureClip(clip page.Viewport) chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		yes := true
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, Clip: &clip, FromSurface: &yes, OptimizeForSpeed: &yes,
		})
		return r.Data, err
	}
}

// waitPlaying polls window.bench until the video plays, the player fails
// or 90 s pass.
func waitPlaying(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if fatal := evalString(ctx, "window.bench ? (window.bench.fatal || '') : ''"); fatal != "" {
			return errors.New("player: " + fatal)
		}
		if evalString(ctx, "window.bench && window.bench.ready ? 'yes' : ''") == "yes" {
			return nil
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("the player did not start playing within 90 s")
}

// finish collects the player's errors and clock skew at the end.
func (r *watchResult) finish(ctx context.Context) {
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if errs, err := chromedp.Run(ectx, chromedp.Evaluate[[]string]("window.bench ? window.bench.errors : []")); err == nil {
		r.Errors = errs
	}
	r.Fatal = evalString(ectx, "window.bench ? (window.bench.fatal || '') : ''")
	r.Player = evalString(ectx, "window.bench ? window.bench.player : ''")
	r.SkewMs = evalNumber(ectx, "window.bench ? window.bench.skew() : NaN")
}

// playerFigures reads the player's date-time latency and hls.js's
// distance from the live edge and its target; NaN for what it lacks.
func playerFigures(ctx context.Context) (dateTime, edge, target float64) {
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ectx, chromedp.Evaluate[[]float64]("[window.bench.dateLatency()].concat(window.bench.edge())"))
	if err != nil || len(v) != 3 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	for i := range v {
		if v[i] < 0 {
			v[i] = math.NaN()
		}
	}
	return v[0], v[1], v[2]
}

func evalString(ctx context.Context, js string) string {
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ectx, chromedp.Evaluate[string](js))
	if err != nil {
		return ""
	}
	return s
}

// evalNumber evaluates js to a number; NaN when it gives none.
func evalNumber(ctx context.Context, js string) float64 {
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f, err := chromedp.Run(ectx, chromedp.Evaluate[float64](js))
	if err != nil {
		return math.NaN()
	}
	return f
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pictureFigures are the glass-to-glass latencies of the shots whose two
// clocks could both be read.
func pictureFigures(shots []shot) []float64 {
	var out []float64
	for _, s := range shots {
		if s.VideoOK && s.PageOK {
			out = append(out, s.picture())
		}
	}
	return out
}
