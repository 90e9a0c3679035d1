package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/backing"
	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
)

// standardResult is the STANDARD part of the report: what a viewer sees
// when the node of one pipeline dies, and what the second pipeline costs.
type standardResult struct {
	SegmentSeconds int     `json:"segmentSeconds"`
	WatchSeconds   float64 `json:"watchSeconds"`
	// Control is hls.js through the edge without a kill; Kills one watch
	// per SIGKILL of a pipeline's node.
	Control standardView   `json:"control"`
	Kills   []standardView `json:"kills"`
	// MedianExtraStalled is the median over the kills of the stalled time
	// beyond the control run's (0 when less), in seconds; MedianMissing
	// the median of the segments missing from the playlist.
	MedianExtraStalled float64 `json:"medianExtraStalledSeconds"`
	MedianMissing      float64 `json:"medianMissingSegments"`
	// SingleCores and StandardCores are the CPU the two nodes' process
	// trees used, in cores, with the channel as SINGLE_PIPELINE and as
	// STANDARD; IdleCores with no channel running.
	IdleCores     float64 `json:"idleCores"`
	SingleCores   float64 `json:"singlePipelineCores"`
	StandardCores float64 `json:"standardCores"`
}

// standardView is one hls.js watch and what the playlist did meanwhile.
type standardView struct {
	Killed   string  `json:"killed,omitempty"`
	Pipeline int     `json:"pipeline"`
	Waiting  int     `json:"waiting"`
	Stalled  float64 `json:"stalledSeconds"`
	Played   float64 `json:"playedSeconds"`
	Missing  int     `json:"missingSegments"`
	Gaps     int     `json:"gaps"`
	Discs    uint64  `json:"discontinuities"`
}

const standardStack = `name: standard
inputs:
  - {name: bars, type: TEST_PATTERN}
channels:
  - name: one
    autoStart: false
    inputAttachments: [{input: bars}]
    encoder: {ladder: test-360p, segmentSeconds: %[1]d}
    outputs: [{name: hls, type: HLS}]
  - name: std
    channelClass: STANDARD
    autoStart: false
    inputAttachments: [{input: bars}]
    encoder: {ladder: test-360p, segmentSeconds: %[1]d}
    outputs: [{name: hls, type: HLS}]
`

// measureStandard runs two nodes and an edge over both. It measures the
// CPU of the two nodes idle, with a SINGLE_PIPELINE channel and with the
// same channel as STANDARD; then hls.js plays the STANDARD channel through
// the edge, once without a kill and once per --runs with the node of one
// pipeline (pipeline 0, then 1, in turn) killed 10 s into the watch.
func measureStandard(ctx context.Context, ws *harness.Workspace, cfg config, pg *backing.Postgres) (*standardResult, error) {
	const watch, lead = 30 * time.Second, 10 * time.Second
	res := &standardResult{SegmentSeconds: cfg.segment, WatchSeconds: watch.Seconds()}
	if _, err := browser.Available(); err != nil {
		return res, err
	}
	db, err := pg.Database(ctx, "standard")
	if err != nil {
		return res, err
	}
	nodes := make([]*node, 2)
	for i := range nodes {
		if nodes[i], err = startNode(ctx, ws, cfg, fmt.Sprintf("std-%d", i+1), db, "--max-channels", "4"); err != nil {
			return res, err
		}
		// A restart listens where the edge looks for the node.
		nodes[i].addr = strings.TrimPrefix(nodes[i].srv.URL, "http://")
	}
	if _, err := nodes[0].apply(ctx, ws, "standard", fmt.Sprintf(standardStack, cfg.segment)); err != nil {
		return res, err
	}

	// CPU: idle, one pipeline, two pipelines.
	if res.IdleCores, err = clusterCores(ctx, nodes, cfg.settle); err != nil {
		return res, err
	}
	if err := nodes[0].cli(ctx, ws, "channel", "start", "one"); err != nil {
		return res, err
	}
	if err := waitRunning(ctx, nodes[0], "one", 1); err != nil {
		return res, err
	}
	if res.SingleCores, err = settledCores(ctx, nodes, cfg.settle); err != nil {
		return res, err
	}
	if err := nodes[0].cli(ctx, ws, "channel", "stop", "one"); err != nil {
		return res, err
	}
	if err := nodes[0].cli(ctx, ws, "channel", "start", "std"); err != nil {
		return res, err
	}
	if err := waitRunning(ctx, nodes[0], "std", 2); err != nil {
		return res, err
	}
	if res.StandardCores, err = settledCores(ctx, nodes, cfg.settle); err != nil {
		return res, err
	}
	ws.Log.Printf("CPU: idle %.2f, SINGLE_PIPELINE %.2f, STANDARD %.2f cores", res.IdleCores, res.SingleCores, res.StandardCores)

	// The viewer: hls.js through an edge over both nodes.
	edgeAddr, err := sluice.FreeAddr()
	if err != nil {
		return res, err
	}
	edgeLog, err := os.Create(filepath.Join(ws.Dir, "edge.log"))
	if err != nil {
		return res, err
	}
	ws.Cleanup.Add(func() { _ = edgeLog.Close() })
	edge, err := child.Start(ws.Bin, []string{"edge", "--listen", edgeAddr, "--cache-size", "64MiB",
		"--origin", nodes[0].srv.URL, "--origin", nodes[1].srv.URL, "--name", "bench-edge"},
		child.Options{Dir: ws.Dir, Stdout: edgeLog, Stderr: edgeLog})
	if err != nil {
		return res, err
	}
	ws.Cleanup.Add(func() { edge.Stop(10 * time.Second) })
	edgeURL := "http://" + edgeAddr
	if res.Control, err = watchStandard(ctx, edgeURL, watch, lead, nil); err != nil {
		return res, fmt.Errorf("control run: %w", err)
	}
	ws.Log.Printf("control: %+v", res.Control)
	var extra, missing []float64
	for run := 1; run <= cfg.runs; run++ {
		ch, err := waitApart(ctx, nodes[0], "std")
		if err != nil {
			return res, fmt.Errorf("run %d: %w", run, err)
		}
		pipeline := (run - 1) % 2
		var victim *node
		for _, n := range nodes {
			if n.id == ch.Pipelines[pipeline].Node {
				victim = n
			}
		}
		if victim == nil {
			return res, fmt.Errorf("run %d: pipeline %d runs on %q, not a node of the benchmark", run, pipeline, ch.Pipelines[pipeline].Node)
		}
		v, err := watchStandard(ctx, edgeURL, watch, lead, func() {
			ws.Log.Printf("run %d: killing node %s, which runs pipeline %d", run, victim.id, pipeline)
			victim.srv.Kill()
		})
		if err != nil {
			return res, fmt.Errorf("run %d: %w", run, err)
		}
		v.Killed, v.Pipeline = victim.id, pipeline
		ws.Log.Printf("run %d: %+v", run, v)
		res.Kills = append(res.Kills, v)
		extra = append(extra, max(0, v.Stalled-res.Control.Stalled))
		missing = append(missing, float64(v.Missing+v.Gaps))
		if err := victim.start(ctx, ws, cfg); err != nil {
			return res, err
		}
	}
	res.MedianExtraStalled = report.Median(extra)
	res.MedianMissing = report.Median(missing)
	return res, nil
}

// cli runs a sluice command against n.
func (n *node) cli(ctx context.Context, ws *harness.Workspace, args ...string) error {
	out, err := exec.CommandContext(ctx, ws.Bin, append([]string{"--server", n.srv.URL}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sluice %s through %s: %w\n%s", strings.Join(args, " "), n.id, err, out)
	}
	return nil
}

// channel reads one channel through n.
func (n *node) channel(ctx context.Context, name string) (resource.Channel, error) {
	var ch resource.Channel
	err := n.srv.GetJSON(ctx, "/api/v1/channels/"+name, &ch)
	return ch, err
}

// waitRunning waits until a channel runs with pipelines pipelines
// delivering segments, on as many nodes.
func waitRunning(ctx context.Context, n *node, name string, pipelines int) error {
	deadline := time.Now().Add(3 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		ch, err := n.channel(ctx, name)
		if err == nil {
			nodes := map[string]bool{}
			for _, p := range ch.Pipelines {
				if p.State == resource.PipelineRunning && p.Node != "" {
					nodes[p.Node] = true
				}
			}
			if ch.State == resource.StateRunning && ch.Degraded == "" && (pipelines == 1 || len(nodes) == pipelines) {
				return nil
			}
			last = fmt.Sprintf("%s, %d pipelines on %d nodes, degraded %q", ch.State, len(ch.Pipelines), len(nodes), ch.Degraded)
		} else {
			last = err.Error()
		}
		if err := harness.Sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("channel %s did not run on %d nodes within 3 minutes: %s", name, pipelines, last)
}

// waitApart waits until both pipelines of a channel deliver on two nodes.
func waitApart(ctx context.Context, n *node, name string) (resource.Channel, error) {
	if err := waitRunning(ctx, n, name, 2); err != nil {
		return resource.Channel{}, err
	}
	return n.channel(ctx, name)
}

// settledCores lets the encoders settle for a few seconds, then measures.
func settledCores(ctx context.Context, nodes []*node, window time.Duration) (float64, error) {
	if err := harness.Sleep(ctx, 5*time.Second); err != nil {
		return 0, err
	}
	return clusterCores(ctx, nodes, window)
}

// clusterCores is the CPU the nodes' process trees use over window, in
// cores.
func clusterCores(ctx context.Context, nodes []*node, window time.Duration) (float64, error) {
	before := make([]procfs.TreeSample, len(nodes))
	for i, n := range nodes {
		before[i] = procfs.SampleTree(n.srv.Pid())
	}
	began := time.Now()
	if err := harness.Sleep(ctx, window); err != nil {
		return 0, err
	}
	var used time.Duration
	for i, n := range nodes {
		d, _ := procfs.SampleTree(n.srv.Pid()).CPUSince(before[i])
		used += d
	}
	return used.Seconds() / time.Since(began).Seconds(), nil
}

// watchStandard plays channel std with hls.js through the edge for
// watch, running act lead into it, and watches its media playlist.
func watchStandard(ctx context.Context, edgeURL string, watch, lead time.Duration, act func()) (standardView, error) {
	pl := watchMedia(ctx, edgeURL+"/live/std/hls/360p/index.m3u8")
	type played struct {
		res *browser.Result
		err error
	}
	out := make(chan played, 1)
	go func() {
		pctx, cancel := context.WithTimeout(ctx, watch+2*time.Minute)
		defer cancel()
		res, err := browser.Play(pctx, edgeURL+"/play/std?player=hls", watch)
		out <- played{res, err}
	}()
	if act != nil {
		if err := harness.Sleep(ctx, lead); err == nil {
			act()
		}
	}
	p := <-out
	v := pl.end()
	if p.err != nil {
		return v, p.err
	}
	if p.res.Fatal != "" || len(p.res.Samples) < 2 {
		return v, fmt.Errorf("hls.js: %q after %d samples (errors: %s)", p.res.Fatal, len(p.res.Samples), strings.Join(p.res.Errors, "; "))
	}
	first, last := p.res.Samples[0], p.res.Samples[len(p.res.Samples)-1]
	v.Waiting, v.Stalled, v.Played = last.Waiting-first.Waiting, last.Stalled-first.Stalled, last.CurrentTime-first.CurrentTime
	return v, nil
}

// mediaWatch reads a media playlist every 250 ms and keeps the segment
// numbers it lists, the gaps and the discontinuities that appear.
type mediaWatch struct {
	mu            sync.Mutex
	seen          map[uint64]bool
	gaps          int
	firstDisc     uint64
	sawDisc       bool
	disc          uint64
	cancel        context.CancelFunc
	done          chan struct{}
	lowest, upper uint64
}

func watchMedia(ctx context.Context, u string) *mediaWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &mediaWatch{seen: map[uint64]bool{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			if body, code := fetch(ctx, u); code == http.StatusOK {
				w.read(body)
			}
			if harness.Sleep(ctx, 250*time.Millisecond) != nil {
				return
			}
		}
	}()
	return w
}

// read takes one answer of the playlist.
func (w *mediaWatch) read(body []byte) {
	var disc uint64
	gap := false
	w.mu.Lock()
	defer w.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE:"):
			disc, _ = strconv.ParseUint(strings.TrimPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE:"), 10, 64)
		case l == "#EXT-X-DISCONTINUITY":
			disc++
		case l == "#EXT-X-GAP":
			gap = true
		case strings.HasSuffix(l, ".m4s") && !strings.HasPrefix(l, "#"):
			n, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(l), ".m4s"), 10, 64)
			if err != nil {
				continue
			}
			if gap && !w.seen[n] {
				w.gaps++
			}
			gap = false
			if len(w.seen) == 0 || n < w.lowest {
				w.lowest = n
			}
			w.upper = max(w.upper, n)
			w.seen[n] = true
		}
	}
	if !w.sawDisc {
		w.firstDisc, w.sawDisc = disc, true
	}
	w.disc = disc - w.firstDisc
}

// end stops the watch and says what it saw.
func (w *mediaWatch) end() standardView {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	v := standardView{Gaps: w.gaps, Discs: w.disc}
	for n := w.lowest; n <= w.upper && len(w.seen) > 0; n++ {
		if !w.seen[n] {
			v.Missing++
		}
	}
	return v
}

func (s *standardResult) table(cfg config) report.Table {
	t := report.Table{
		Title: "STANDARD: hls.js through an edge over two nodes while the node of one pipeline is SIGKILLed; CPU of SINGLE_PIPELINE and STANDARD",
		Header: []string{"segment", "kills", "median extra stalled (target 0 s)", "median missing segments (target 0)", "waiting per kill (control)",
			"discontinuities per kill", "CPU idle", "CPU SINGLE_PIPELINE", "CPU STANDARD", "STANDARD / SINGLE (less idle)"},
	}
	var waits, discs []string
	for _, k := range s.Kills {
		waits = append(waits, strconv.Itoa(k.Waiting))
		discs = append(discs, strconv.FormatUint(k.Discs, 10))
	}
	ratio := "—"
	if single := s.SingleCores - s.IdleCores; single > 0 {
		ratio = fmt.Sprintf("%.2f×", (s.StandardCores-s.IdleCores)/single)
	}
	t.Rows = append(t.Rows, []string{
		fmt.Sprintf("%d s", s.SegmentSeconds), strconv.Itoa(len(s.Kills)),
		seconds(time.Duration(s.MedianExtraStalled * float64(time.Second))), fmt.Sprintf("%.0f", s.MedianMissing),
		fmt.Sprintf("%s (%d)", strings.Join(waits, ","), s.Control.Waiting), strings.Join(discs, ","),
		fmt.Sprintf("%.2f cores", s.IdleCores), fmt.Sprintf("%.2f cores", s.SingleCores), fmt.Sprintf("%.2f cores", s.StandardCores), ratio,
	})
	t.Notes = append(t.Notes,
		fmt.Sprintf("Each watch is %.0f s of hls.js; the kill comes 10 s in, of pipeline 0's node and pipeline 1's in turn; the node starts again before the next kill.", s.WatchSeconds),
		"Extra stalled is the stalled time of the watch beyond the control run's; missing segments are numbers absent from, or listed as gaps in, the playlist through the edge.",
		"CPU is of both nodes' process trees (sluice and its encoders), test-360p, over --settle.")
	return t
}
