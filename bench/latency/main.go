// Command latency measures live latency glass to glass, from the picture:
// a publisher burns its wall clock into the video, players in headless
// Chromium show it, and screenshots taken beside a clock drawn by the page
// give the difference. Sluice's LL-HLS, LL-DASH, HLS and WebRTC (WHEP) are
// measured in one run with ffmpeg's HLS muxer and MediaMTX, over RTMP and SRT,
// with the players' date-time figures beside the picture's.
//
//	go run ./bench/latency [--duration 30s] [--only …] [--protocols rtmp,srt] [--json FILE]
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
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
	Round       int    `json:"round"`
	Description string `json:"description"`
	// Picture is glass to glass: the instant a screenshot shows minus the
	// publisher's clock in its picture.
	Picture summary `json:"pictureSeconds"`
	// DateTime is the player's own latency from the stream's date-times,
	// read at the same instants.
	DateTime summary `json:"dateTimeSeconds"`
	// DateTimeError is the median of picture − date-time over the shots
	// that have both: how much later the media is than its date-times say.
	DateTimeError num `json:"dateTimeErrorSeconds"`
	// Edge is how far behind the playlist's live edge hls.js says it
	// plays (hls.latency), Target where it aims (hls.targetLatency).
	Edge   summary `json:"hlsjsLatencySeconds"`
	Target summary `json:"hlsjsTargetLatencySeconds"`
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
	SkewMs          num     `json:"pageClockSkewMs"`
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
	var pic, dt, diff, capture, rt, byReq, edge, target []float64
	for _, s := range w.Shots {
		if !math.IsNaN(s.Edge) {
			edge = append(edge, s.Edge)
		}
		if !math.IsNaN(s.Target) {
			target = append(target, s.Target)
		}
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
	r.Edge, r.Target = summarize(edge), summarize(target)
	r.Picture, r.DateTime = summarize(pic), summarize(dt)
	r.DateTimeError = num(quantile(diff, 0.5))
	r.CaptureDelay, r.RoundTrip, r.ByRequest = summarize(capture), summarize(rt), summarize(byReq)
	r.Player, r.PlayerErrors, r.SkewMs = w.Player, len(w.Errors), num(w.SkewMs)
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
	rtc, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	srv, err := e.ws.Serve(ctx, e.cfg.FFmpeg, sluiceStack(), "--rtmp", loopback(rtmp), "--srt", loopback(srt), "--webrtc-udp", loopback(rtc))
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
	for round := 1; round <= cfg.rounds; round++ {
		order := slices.Clone(cfg.contends)
		if round%2 == 0 {
			// Every other round runs backwards, so that a drift of the
			// machine does not always favour the same contenders.
			slices.Reverse(order)
		}
		if err := e.runRound(ctx, round, order, &results, &failed); err != nil {
			return ws.Fail(ctx, err)
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
		_ = serverTable(results, cfg).Write(os.Stdout)
	}
	_ = ratioTable(results, cfg).Write(os.Stdout)
	printStages(results, cfg, e.srv != nil)
	return ws.Finish(ctx, latencyReport{
		Benchmark: "latency", Command: report.CommandLine("go run ./bench/latency", os.Args[1:]),
		Machine: machine, EndLoad: endLoad, Results: results,
	}, failed)
}

// runRound measures every contender of order over every protocol once.
func (e *env) runRound(ctx context.Context, round int, order []string, results *[]result, failed *bool) error {
	ws := e.ws
	for _, proto := range e.cfg.protocols {
		for _, name := range order {
			c := contenderNamed(name)
			res := result{Name: c.Name, Protocol: proto, Round: round, Description: c.Text, LoadAverage: loadAverage()}
			ws.Log.Printf("round %d, %s/%s: %s (load %s)", round, c.Name, proto, c.Text, res.LoadAverage)
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
				return ctx.Err()
			}
			switch {
			case errors.Is(err, errUnsupported):
				res.Skipped = err.Error()
				ws.Log.Printf("%s/%s: %v", c.Name, proto, err)
			case err != nil:
				res.Error = err.Error()
				*failed = true
				ws.Log.Printf("%s/%s: %v", c.Name, proto, err)
			}
			*results = append(*results, res)
		}
	}
	return nil
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
		row := []string{r.Name, inRound(r, cfg)}
		switch {
		case r.Skipped != "":
			row = append(row, "skipped: "+r.Skipped)
		case r.Error != "" && r.Picture.N == 0:
			row = append(row, "error: "+firstLine(r.Error))
		default:
			row = append(row, r.Picture.String(), r.DateTime.String(), signed(float64(r.DateTimeError)),
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
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: %s", r.Name, inRound(r, cfg), r.Error))
		}
		if r.FirstError != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: first player error: %s", r.Name, inRound(r, cfg), r.FirstError))
		}
		if r.PublisherLate > r.PublisherFrames/100 || r.PublisherResyncs > 0 {
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: the publisher sent %d of %d frames more than a frame late and restarted its clock %d times (a loaded machine)",
				r.Name, inRound(r, cfg), r.PublisherLate, r.PublisherFrames, r.PublisherResyncs))
		}
	}
	return t
}

// serverTable splits the HLS contenders' latency into the server's share
// (until a segment or part is listed) and the player's (the rest).
func serverTable(rs []result, cfg config) report.Table {
	t := report.Table{
		Title: "Where the time goes (HLS; seconds: median (p10–p90, n))",
		Header: []string{"contender", "in", "listed after its last frame's capture", "date-time − first frame's capture",
			"picture", "picture − listed", "hls.js: behind the edge / target"},
	}
	for _, r := range rs {
		if r.Available.N == 0 {
			continue
		}
		rest := math.NaN()
		if r.Picture.N > 0 {
			rest = r.Picture.Median - r.Available.Median
		}
		t.Rows = append(t.Rows, []string{r.Name, inRound(r, cfg), r.Available.String(), r.PDTError.String(), seconds(r.Picture.Median), seconds(rest),
			orNaN(r.Edge) + " / " + orNaN(r.Target)})
	}
	t.Notes = []string{
		"listed: a Go client follows the media playlist (blocking reloads for LL-HLS, else every 100 ms) during the watch,",
		"  fetches every new part (LL-HLS) or segment, and ffmpeg reads the clock in its first and last frames.",
		"  It is the server's share: capture, publish, ingest, transcode, package, list.",
		"date-time − capture: the EXT-X-PROGRAM-DATE-TIME of the part or segment minus the capture of its first frame",
		"  (the design's target: within ±100 ms). > 0 means the date-times are late, and date-time latencies read too low.",
		"picture − listed: the player's share (fetch, buffer, decode, show) plus how far into its part a shown frame is.",
		"hls.js: hls.latency, how far behind the end of the playlist hls.js says it plays (its own clock against the",
		"  playlist's last part or segment, not the picture), and hls.targetLatency, where it aims (PART-HOLD-BACK,",
		"  HOLD-BACK or three target durations); medians.",
	}
	return t
}

// ratioTable compares each Sluice contender with its anchor measured over
// the same protocol in the same run.
func ratioTable(rs []result, cfg config) report.Table {
	title := "Against the anchors (medians from the picture, same protocol, same run)"
	if cfg.rounds > 1 {
		title = fmt.Sprintf("Against the anchors (median of the %d rounds' medians from the picture; ratios per round in brackets)", cfg.rounds)
	}
	t := report.Table{
		Title:  title,
		Header: []string{"contender", "in", "median", "anchor", "anchor median", "ratio", "target"},
	}
	for _, proto := range cfg.protocols {
		for _, name := range cfg.contends {
			c := contenderNamed(name)
			if c.Anchor == "" || !slices.Contains(cfg.contends, c.Anchor) {
				continue
			}
			var meds, ameds []float64
			var rounds []string
			skipped := false
			for round := 1; round <= cfg.rounds; round++ {
				r, a := find(rs, name, proto, round), find(rs, c.Anchor, proto, round)
				if r != nil && r.Skipped != "" {
					skipped = true
				}
				med, amed := pictureMedian(r), pictureMedian(a)
				if !math.IsNaN(med) {
					meds = append(meds, med)
				}
				if !math.IsNaN(amed) {
					ameds = append(ameds, amed)
				}
				rounds = append(rounds, ratio(med, amed))
			}
			if skipped {
				continue
			}
			med, amed := quantile(meds, 0.5), quantile(ameds, 0.5)
			rat := ratio(med, amed)
			if cfg.rounds > 1 {
				rat += " [" + strings.Join(rounds, ", ") + "]"
			}
			t.Rows = append(t.Rows, []string{name, proto, seconds(med), c.Anchor, seconds(amed), rat, c.Target})
		}
	}
	return t
}

// inRound is the protocol column: "rtmp", or "rtmp #2" for round 2 of a
// run of several rounds.
func inRound(r result, cfg config) string {
	if cfg.rounds > 1 {
		return fmt.Sprintf("%s #%d", r.Protocol, r.Round)
	}
	return r.Protocol
}

// find returns the result of a contender, protocol and round; nil if none.
func find(rs []result, name, proto string, round int) *result {
	for i := range rs {
		if rs[i].Name == name && rs[i].Protocol == proto && rs[i].Round == round {
			return &rs[i]
		}
	}
	return nil
}

// pictureMedian is a result's median from the picture, NaN when missing.
func pictureMedian(r *result) float64 {
	if r == nil || r.Picture.N == 0 {
		return math.NaN()
	}
	return r.Picture.Median
}

// printStages prints Sluice's per-stage medians, or says that the server
// does not expose them.
func printStages(rs []result, cfg config, ranSluice bool) {
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
			parts = append(parts, fmt.Sprintf("%s %s (n=%.0f)", s, seconds(float64(f.Median)), f.Count))
		}
		fmt.Printf("  %s/%s: %s\n", r.Name, inRound(r, cfg), strings.Join(parts, ", "))
	}
	if !shown {
		fmt.Println("stage breakdown: not exposed by this build")
	}
}

// orNaN is a summary's median, "-" when it has none.
func orNaN(s summary) string {
	if s.N == 0 {
		return "-"
	}
	return seconds(s.Median)
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
