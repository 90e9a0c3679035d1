// Command latency measures live latency glass to glass, from the picture:
// a publisher burns its wall clock into the video, players in headless
// Chromium show it, and screenshots taken beside a clock drawn by the page
// give the difference. Sluice's LL-HLS, LL-DASH and HLS are measured in one
// run with ffmpeg's HLS muxer and MediaMTX, over RTMP and SRT, with the
// players' date-time figures beside the picture's.
//
//	go run ./bench/latency [--duration 30s] [--only …] [--protocols rtmp,srt] [--json FILE]
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

func main() { harness.Main("latency", parseFlags, run) }

// result is one contender's figures over one protocol, in seconds.
type result struct {
	Name        string `json:"name"`
	Protocol    string `json:"protocol"`
	Description string `json:"description"`
	// Picture is glass to glass: the instant a screenshot shows minus the
	// publisher's clock in its picture.
	Picture summary `json:"pictureSeconds"`
	// DateTime is the player's own latency from the stream's date-times,
	// read at the same instants.
	DateTime summary `json:"dateTimeSeconds"`
	// DateTimeError is the median of picture − date-time over the shots
	// that have both: how much later the media is than its date-times say.
	DateTimeError float64 `json:"dateTimeErrorSeconds"`
	// CaptureDelay is how long after the benchmark asked for a screenshot
	// the frame it got was drawn; RoundTrip how long the answer took.
	CaptureDelay summary `json:"captureDelaySeconds"`
	RoundTrip    summary `json:"screenshotRoundTripSeconds"`
	// ByRequest is the latency taken from the request time alone.
	ByRequest summary `json:"byRequestSeconds"`
	// Available is, for HLS, how long after the capture of its last frame
	// each new segment (or part, for LL-HLS) appeared in the media
	// playlist, as a Go client following it saw; PDTError is its program
	// date-time minus the capture of its first frame.
	Available       summary `json:"availableAfterCaptureSeconds"`
	PDTError        summary `json:"programDateTimeMinusCaptureSeconds"`
	Followed        int     `json:"followed"`
	FollowDropped   int     `json:"followDropped,omitempty"`
	Shots           int     `json:"screenshots"`
	UnreadableVideo int     `json:"unreadablePicture"`
	UnreadablePage  int     `json:"unreadablePageClock"`
	Player          string  `json:"player"`
	PlayerErrors    int     `json:"playerErrors"`
	FirstError      string  `json:"firstPlayerError,omitempty"`
	SkewMs          float64 `json:"pageClockSkewMs"`
	// PublisherFrames is how many frames the publisher sent; of those,
	// PublisherLate left it more than a frame interval after their
	// capture instant (a loaded machine), and PublisherResyncs counts the
	// times it fell so far behind that it restarted its clock.
	PublisherFrames  int64                  `json:"publisherFrames"`
	PublisherLate    int64                  `json:"publisherLate"`
	PublisherResyncs int64                  `json:"publisherResyncs"`
	Stages           map[string]stageFigure `json:"stages,omitempty"`
	LoadAverage      string                 `json:"loadAverage"`
	Skipped          string                 `json:"skipped,omitempty"`
	Error            string                 `json:"error,omitempty"`
}

// fill computes the figures from the screenshots.
func (r *result) fill(w *watchResult) {
	var pic, dt, diff, capture, rt, byReq []float64
	for _, s := range w.Shots {
		rt = append(rt, s.RoundTrip.Seconds())
		if !s.PageOK {
			r.UnreadablePage++
		} else {
			capture = append(capture, s.captureDelay())
		}
		if !s.VideoOK {
			r.UnreadableVideo++
		} else {
			byReq = append(byReq, s.byRequest())
		}
		if !math.IsNaN(s.DateTime) {
			dt = append(dt, s.DateTime)
		}
		if s.VideoOK && s.PageOK {
			pic = append(pic, s.picture())
			if !math.IsNaN(s.DateTime) {
				diff = append(diff, s.picture()-s.DateTime)
			}
		}
	}
	r.Shots = len(w.Shots)
	r.Picture, r.DateTime = summarize(pic), summarize(dt)
	r.DateTimeError = quantile(diff, 0.5)
	r.CaptureDelay, r.RoundTrip, r.ByRequest = summarize(capture), summarize(rt), summarize(byReq)
	r.Player, r.PlayerErrors, r.SkewMs = w.Player, len(w.Errors), w.SkewMs
	if len(w.Errors) > 0 {
		r.FirstError = w.Errors[0]
	}
}

type latencyReport struct {
	Benchmark string         `json:"benchmark"`
	Command   string         `json:"command"`
	Machine   report.Machine `json:"machine"`
	EndLoad   string         `json:"loadAverageAtEnd"`
	Results   []result       `json:"results"`
}

// env is what the contenders share: the workspace, the page server, and
// the Sluice server and MediaMTX binary, started or built when first
// needed.
type env struct {
	cfg   config
	ws    *harness.Workspace
	log   *report.Log
	pages *pageServer
	srv   *sluice.Server
	mtx   string
}

func (e *env) sluiceServer(ctx context.Context) (*sluice.Server, error) {
	if e.srv != nil {
		return e.srv, nil
	}
	rtmp, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	srt, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	srv, err := e.ws.Serve(ctx, e.cfg.FFmpeg, sluiceStack(), "--rtmp", loopback(rtmp), "--srt", loopback(srt))
	if err != nil {
		return nil, err
	}
	e.srv = srv
	return srv, nil
}

func (e *env) mediamtxBinary(ctx context.Context) (string, error) {
	if e.mtx != "" {
		return e.mtx, nil
	}
	bin, err := mediamtxBinary(ctx, e.cfg.mediamtx, e.log.Printf)
	if err != nil {
		return "", err
	}
	e.mtx = bin
	return bin, nil
}

func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "latency", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	machine := ws.Machine(ctx)
	pages, err := startPageServer(ctx)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	ws.Cleanup.Add(pages.stop)
	e := &env{cfg: cfg, ws: ws, log: ws.Log, pages: pages}

	var results []result
	failed := false
	for _, proto := range cfg.protocols {
		for _, name := range cfg.contends {
			c := contenderNamed(name)
			res := result{Name: c.Name, Protocol: proto, Description: c.Text, LoadAverage: loadAverage()}
			ws.Log.Printf("%s/%s: %s (load %s)", c.Name, proto, c.Text, res.LoadAverage)
			var err error
			switch c.Server {
			case "sluice":
				err = e.measureSluice(ctx, c, proto, &res)
			case "ffmpeg":
				err = e.measureBare(ctx, c, proto, &res)
			case "mediamtx":
				err = e.measureMediaMTX(ctx, c, proto, &res)
			}
			if ctx.Err() != nil {
				return ws.Fail(ctx, ctx.Err())
			}
			switch {
			case errors.Is(err, errUnsupported):
				res.Skipped = err.Error()
				ws.Log.Printf("%s/%s: %v", c.Name, proto, err)
			case err != nil:
				res.Error = err.Error()
				failed = true
				ws.Log.Printf("%s/%s: %v", c.Name, proto, err)
			}
			results = append(results, res)
		}
	}
	if e.srv != nil {
		e.srv.Stop()
		for _, p := range e.srv.LogProblems() {
			ws.Log.Printf("server log: %s", p)
		}
	}
	endLoad := loadAverage()
	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	fmt.Println("load at the end: " + endLoad)
	_ = resultTable(results, cfg).Write(os.Stdout)
	if cfg.follow {
		_ = serverTable(results).Write(os.Stdout)
	}
	_ = ratioTable(results).Write(os.Stdout)
	printStages(results, e.srv != nil)
	return ws.Finish(ctx, latencyReport{
		Benchmark: "latency", Command: report.CommandLine("go run ./bench/latency", os.Args[1:]),
		Machine: machine, EndLoad: endLoad, Results: results,
	}, failed)
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func resultTable(rs []result, cfg config) report.Table {
	t := report.Table{
		Title: "Live latency, glass to glass (seconds: median (p10–p90, screenshots))",
		Header: []string{"contender", "in", "from the picture", "from date-times", "picture − date-time",
			"unreadable", "player errors", "target", "load"},
	}
	var capture, rt []float64
	for _, r := range rs {
		row := []string{r.Name, r.Protocol}
		switch {
		case r.Skipped != "":
			row = append(row, "skipped: "+r.Skipped)
		case r.Error != "" && r.Picture.N == 0:
			row = append(row, "error: "+firstLine(r.Error))
		default:
			row = append(row, r.Picture.String(), r.DateTime.String(), signed(r.DateTimeError),
				fmt.Sprintf("%d of %d", r.UnreadableVideo, r.Shots), fmt.Sprint(r.PlayerErrors),
				contenderNamed(r.Name).Target, r.LoadAverage)
			if r.CaptureDelay.N > 0 {
				capture = append(capture, r.CaptureDelay.Median)
				rt = append(rt, r.RoundTrip.Median)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = []string{
		"from the picture: the page clock in each screenshot (drawn by the page at every animation frame) minus the",
		"  publisher's clock in the video frame it shows; screenshots at random instants, every " + cfg.interval.String() + " on average,",
		"  for " + cfg.duration.String() + " after " + cfg.warmup.String() + " of playback.",
		"from date-times: the player's own figure at the same instants (hls.js: now − playingDate, from",
		"  EXT-X-PROGRAM-DATE-TIME; dash.js: getCurrentLiveLatency, from the MPD's availability times).",
		"picture − date-time: median over the screenshots that have both; > 0 means the media is later than its date-times say.",
		"unreadable: screenshots whose picture showed no clock (stalled, black, or between two frames).",
	}
	if len(capture) > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("screenshot capture: the captured frame was drawn %s s after the request (median of the contenders' medians),",
			seconds(quantile(capture, 0.5))),
			fmt.Sprintf("  and the answer arrived %s s after the request; the picture figure depends on neither.", seconds(quantile(rt, 0.5))))
	}
	for _, r := range rs {
		if r.Error != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: %s", r.Name, r.Protocol, r.Error))
		}
		if r.FirstError != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: first player error: %s", r.Name, r.Protocol, r.FirstError))
		}
		if r.PublisherLate > r.PublisherFrames/100 || r.PublisherResyncs > 0 {
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: the publisher sent %d of %d frames more than a frame late and restarted its clock %d times (a loaded machine)",
				r.Name, r.Protocol, r.PublisherLate, r.PublisherFrames, r.PublisherResyncs))
		}
	}
	return t
}

// serverTable splits the HLS contenders' latency into the server's share
// (until a segment or part is listed) and the player's (the rest).
func serverTable(rs []result) report.Table {
	t := report.Table{
		Title: "Where the time goes (HLS; seconds: median (p10–p90, n))",
		Header: []string{"contender", "in", "listed after its last frame's capture", "date-time − first frame's capture",
			"picture", "picture − listed"},
	}
	for _, r := range rs {
		if r.Available.N == 0 {
			continue
		}
		rest := math.NaN()
		if r.Picture.N > 0 {
			rest = r.Picture.Median - r.Available.Median
		}
		t.Rows = append(t.Rows, []string{r.Name, r.Protocol, r.Available.String(), r.PDTError.String(), seconds(r.Picture.Median), seconds(rest)})
	}
	t.Notes = []string{
		"listed: a Go client follows the media playlist (blocking reloads for LL-HLS, else every 100 ms) during the watch,",
		"  fetches every new part (LL-HLS) or segment, and ffmpeg reads the clock in its first and last frames.",
		"  It is the server's share: capture, publish, ingest, transcode, package, list.",
		"date-time − capture: the EXT-X-PROGRAM-DATE-TIME of the part or segment minus the capture of its first frame",
		"  (the design's target: within ±100 ms). > 0 means the date-times are late, and date-time latencies read too low.",
		"picture − listed: the player's share (fetch, buffer, decode, show) plus how far into its part a shown frame is.",
	}
	return t
}

// ratioTable compares each Sluice contender with its anchor measured over
// the same protocol in the same run.
func ratioTable(rs []result) report.Table {
	t := report.Table{
		Title:  "Sluice against its anchor (medians from the picture)",
		Header: []string{"contender", "in", "median", "anchor", "anchor median", "ratio", "target"},
	}
	find := func(name, proto string) *result {
		for i := range rs {
			if rs[i].Name == name && rs[i].Protocol == proto {
				return &rs[i]
			}
		}
		return nil
	}
	for _, r := range rs {
		c := contenderNamed(r.Name)
		if c.Anchor == "" || r.Skipped != "" {
			continue
		}
		a := find(c.Anchor, r.Protocol)
		med, amed := math.NaN(), math.NaN()
		if r.Picture.N > 0 {
			med = r.Picture.Median
		}
		if a != nil && a.Picture.N > 0 {
			amed = a.Picture.Median
		}
		t.Rows = append(t.Rows, []string{r.Name, r.Protocol, seconds(med), c.Anchor, seconds(amed), ratio(med, amed), c.Target})
	}
	return t
}

// printStages prints Sluice's per-stage medians, or says that the server
// does not expose them.
func printStages(rs []result, ranSluice bool) {
	if !ranSluice {
		return
	}
	fmt.Println()
	shown := false
	for _, r := range rs {
		if len(r.Stages) == 0 {
			continue
		}
		if !shown {
			fmt.Printf("Stage breakdown (%s, median seconds over each run)\n", stageMetric)
			shown = true
		}
		names := make([]string, 0, len(r.Stages))
		for s := range r.Stages {
			names = append(names, s)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		for _, s := range names {
			f := r.Stages[s]
			parts = append(parts, fmt.Sprintf("%s %s (n=%.0f)", s, seconds(f.Median), f.Count))
		}
		fmt.Printf("  %s/%s: %s\n", r.Name, r.Protocol, strings.Join(parts, ", "))
	}
	if !shown {
		fmt.Println("stage breakdown: not exposed by this build")
	}
}

func signed(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%+.2f", v)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 100 {
		l = l[:100] + "…"
	}
	return l
}
