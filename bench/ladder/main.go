// Command ladder measures what a running Sluice channel costs in CPU: CPU
// seconds spent per second of ladder output, for the `sluice serve`
// process and its encoder child together, against two anchors run one
// after the other on the same machine: Sluice's own encoder command run
// bare (outputs to /dev/null, no packager), and one ffmpeg per rung, each
// decoding the source itself.
//
//	go run ./bench/ladder [--ladder default-1080p] [--preset veryfast] [--duration 60s] [--json FILE]
//
// The source is a generated 1080p30 MP4 with audio, looped by the channel
// and read in real time (-re) by every contender.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// contender names a way of producing the ladder and the function that
// measures it.
type contender struct {
	name string
	run  func(context.Context, env) (contenderResult, error)
}

// contenderOrder is every contender, in the order of odd rounds.
func contenderOrder() []contender {
	return []contender{
		{"sluice", runSluice},
		{"bare", runBare},
		{"separate", runSeparate},
	}
}

func main() { harness.Main("ladder", parseFlags, run) }

// ladderReport is the JSON document of a run.
type ladderReport struct {
	Benchmark string            `json:"benchmark"`
	Command   string            `json:"command"`
	Machine   report.Machine    `json:"machine"`
	Ladder    string            `json:"ladder"`
	Preset    string            `json:"preset"`
	Source    string            `json:"source"`
	Duration  float64           `json:"durationSeconds"`
	Warmup    float64           `json:"warmupSeconds"`
	Rounds    int               `json:"rounds"`
	Results   []contenderResult `json:"results"`
	// Summaries are each contender's medians over the rounds.
	Summaries []contenderSummary `json:"summaries"`
	// Comparisons put Sluice against each anchor; SeparateVsBare puts the
	// two anchors against each other.
	Comparisons    []comparison `json:"comparisons"`
	SeparateVsBare *comparison  `json:"separateVsBare,omitempty"`
}

// run performs the benchmark and returns the exit code: 0 when every
// contender was measured, 1 otherwise, 130 when interrupted.
func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "ladder", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	log := ws.Log
	src := cfg.Source()
	srcPath, err := ws.Generate(ctx, src, "source.mp4")
	if err != nil {
		return ws.Fail(ctx, err)
	}
	cmd, err := sluice.LadderCommand(ctx, ws.Bin, cfg.ladder, cfg.preset, srcPath)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	machine := ws.Machine(ctx)

	e := env{
		Workspace: ws, cfg: cfg, source: srcPath, cmd: cmd,
		win: window{Warmup: cfg.warmup, Duration: cfg.duration, Every: 10 * time.Second},
	}
	var results []contenderResult
	failed := false
	for round := 1; round <= cfg.rounds; round++ {
		// Even rounds run the contenders in reverse order, so that drift in
		// the machine's speed does not always favour the same one.
		order := contenderOrder()
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, c := range order {
			if !slices.Contains(cfg.only, c.name) {
				continue
			}
			if len(results) > 0 {
				// Let the previous contender's processes end and the machine settle.
				if err := harness.Sleep(ctx, 3*time.Second); err != nil {
					return ws.Fail(ctx, err)
				}
			}
			if cfg.rounds > 1 {
				log.Printf("round %d/%d", round, cfg.rounds)
			}
			res, err := c.run(ctx, e)
			res.Round = round
			if ctx.Err() != nil {
				return ws.Fail(ctx, ctx.Err())
			}
			if err != nil {
				log.Printf("%s: %v", res.Name, err)
				res.Error = err.Error()
				failed = true
			}
			results = append(results, res)
		}
	}

	rep := ladderReport{
		Benchmark: "ladder",
		Command:   report.CommandLine("go run ./bench/ladder", os.Args[1:]),
		Machine:   machine,
		Ladder:    cfg.ladder,
		Preset:    cfg.preset,
		Source:    src.String(),
		Duration:  cfg.duration.Seconds(),
		Warmup:    cfg.warmup.Seconds(),
		Rounds:    cfg.rounds,
		Results:   results,
		Summaries: summarize(results),
	}
	for _, anchor := range []string{nameBare, nameSeparate} {
		if c, ok := compare(results, rep.Summaries, nameSluice, anchor); ok {
			rep.Comparisons = append(rep.Comparisons, c)
		}
	}
	if c, ok := compare(results, rep.Summaries, nameSeparate, nameBare); ok {
		rep.SeparateVsBare = &c
	}
	printReport(os.Stdout, rep)
	return ws.Finish(ctx, rep, failed)
}

// printReport prints the header and both tables.
func printReport(w io.Writer, rep ladderReport) {
	preset := rep.Preset
	if preset == "" {
		preset = "of the ladder"
	}
	fmt.Fprintf(w, "\nLadder benchmark: %s, preset %s, source %s\n", rep.Ladder, preset, rep.Source)
	fmt.Fprintf(w, "window %.0f s of steady state after %.0f s warm-up, contenders run one after the other, %d round(s)\n",
		rep.Duration, rep.Warmup, rep.Rounds)
	for _, l := range rep.Machine.Lines() {
		fmt.Fprintln(w, l)
	}
	_ = detailTable(rep.Results).Write(w)
	t := comparisonTable(rep.Summaries, rep.Comparisons)
	if c := rep.SeparateVsBare; c != nil {
		t.Notes = append(t.Notes, fmt.Sprintf("%s / %s: CPU %.3f (per round %s), peak RSS %.2f",
			nameSeparate, nameBare, c.Ratio, ratios(c.RoundRatios), c.PeakRSSRatio))
	}
	_ = t.Write(w)
}
