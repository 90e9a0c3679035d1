// Command metrics measures what Sluice's observability costs with many
// channels: the time and memory of one /metrics scrape against a bare
// client_golang registry holding the same number of series, the memory of
// 24 hours of in-process history, the latency of history queries, and the
// cost on the segment path of counting a segment and publishing an event.
// Everything runs in this process on Sluice's own metrics and event
// packages, with --channels channels' worth of series.
//
//	go run ./bench/metrics [--channels 50] [--json FILE]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
)

func main() { harness.Main("metrics", parseFlags, run) }

// config is the command line.
type config struct {
	channels   int
	renditions int
	history    time.Duration
	scrapes    int
	queries    int
	jsonPath   string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("metrics", `Usage: go run ./bench/metrics [flags]

Builds Sluice's metrics for --channels running channels (each with an
input, --renditions renditions, origin traffic of every kind and status
class, an alarm), fills --history of in-process history at the 10 s
sampling interval, then measures: the wall time, allocations and size of
a /metrics scrape over loopback HTTP against a bare client_golang registry
with the same number of series; the history's memory; the latency of
history queries; and the nanoseconds a segment and an event cost on the
segment path. --json also writes the results to a file.

Flags:
`, stderr)
	fs.IntVar(&c.channels, "channels", 50, "channels whose series the registry holds")
	fs.IntVar(&c.renditions, "renditions", 3, "renditions per channel")
	fs.DurationVar(&c.history, "history", 24*time.Hour, "history to fill before the queries (at 10 s per sample)")
	fs.IntVar(&c.scrapes, "scrapes", 200, "scrapes measured per contender")
	fs.IntVar(&c.queries, "queries", 200, "history queries measured per kind")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	if c.channels < 1 || c.renditions < 1 || c.scrapes < 1 || c.queries < 1 || c.history < 10*time.Second {
		return c, errors.New("--channels, --renditions, --scrapes and --queries must be positive and --history at least 10s")
	}
	return c, nil
}

// metricsReport is the JSON document of a run.
type metricsReport struct {
	Benchmark   string         `json:"benchmark"`
	Command     string         `json:"command"`
	Machine     report.Machine `json:"machine"`
	Channels    int            `json:"channels"`
	Series      int            `json:"series"`
	Scrape      []scrapeResult `json:"scrape"`
	ScrapeRatio float64        `json:"scrapeRatio"`
	History     historyResult  `json:"history"`
	Queries     []queryResult  `json:"queries"`
	SegmentPath []pathResult   `json:"segmentPath"`
}

func run(ctx context.Context, cfg config) int {
	log := report.NewLog(os.Stderr)
	machine := report.DescribeMachine(ctx, "ffmpeg", "in-process metrics and event packages")
	for _, l := range machine.Lines() {
		log.Printf("%s", l)
	}
	rep := metricsReport{
		Benchmark: "metrics",
		Command:   report.CommandLine("go run ./bench/metrics", os.Args[1:]),
		Machine:   machine,
		Channels:  cfg.channels,
	}
	w := newWorld(cfg)
	log.Printf("filling %s of history for %d channels", cfg.history, cfg.channels)
	rep.History = w.fillHistory(ctx)
	if ctx.Err() != nil {
		log.Printf("interrupted")
		return 130
	}
	rep.Series = rep.History.Series
	log.Printf("history: %d series, %.1f MiB, filled in %.1f s", rep.History.Series, rep.History.HeapMiB, rep.History.FillSeconds)

	log.Printf("scraping /metrics %d times per contender", cfg.scrapes)
	sc, err := w.measureScrapes(ctx, cfg.scrapes)
	if err != nil {
		log.Printf("error: %v", err)
		return 1
	}
	rep.Scrape = sc
	if sc[1].MedianMs > 0 {
		rep.ScrapeRatio = sc[0].MedianMs / sc[1].MedianMs
	}
	log.Printf("querying the history %d times per query", cfg.queries)
	rep.Queries, err = w.measureQueries(ctx, cfg.queries)
	if err != nil {
		log.Printf("error: %v", err)
		return 1
	}
	rep.SegmentPath = w.measureSegmentPath()

	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	for _, t := range tables(rep) {
		_ = t.Write(os.Stdout)
	}
	if cfg.jsonPath != "" {
		if err := report.WriteJSON(cfg.jsonPath, rep); err != nil {
			log.Printf("error: %v", err)
			return 1
		}
		log.Printf("results written to %s", cfg.jsonPath)
	}
	return 0
}

// tables renders the report.
func tables(r metricsReport) []report.Table {
	st := report.Table{
		Title:  fmt.Sprintf("/metrics scrape, %d channels (%d series in the history)", r.Channels, r.Series),
		Header: []string{"contender", "series exposed", "body KiB", "median ms", "p90 ms", "KiB allocated per scrape"},
	}
	for _, s := range r.Scrape {
		st.Rows = append(st.Rows, []string{s.Name, fmt.Sprint(s.Series), f1(s.BodyKiB), f2(s.MedianMs), f2(s.P90Ms), f1(s.AllocKiB)})
	}
	st.Notes = []string{fmt.Sprintf("Sluice / bare client_golang (median scrape time): %.2f", r.ScrapeRatio)}
	ht := report.Table{
		Title:  "in-process history",
		Header: []string{"series", "points per series", "heap MiB", "fill s"},
		Rows:   [][]string{{fmt.Sprint(r.History.Series), fmt.Sprint(r.History.PointsPerSeries), f1(r.History.HeapMiB), f1(r.History.FillSeconds)}},
	}
	qt := report.Table{Title: "history queries (GET /api/v1/metrics/query without HTTP)", Header: []string{"query", "series", "datapoints", "median ms", "p90 ms"}}
	for _, q := range r.Queries {
		qt.Rows = append(qt.Rows, []string{q.Name, fmt.Sprint(q.Series), fmt.Sprint(q.Points), f2(q.MedianMs), f2(q.P90Ms)})
	}
	pt := report.Table{Title: "segment path", Header: []string{"operation", "ns per call", "bytes allocated per call"}}
	for _, p := range r.SegmentPath {
		pt.Rows = append(pt.Rows, []string{p.Name, f1(p.NsPerOp), f1(p.BytesPerOp)})
	}
	return []report.Table{st, ht, qt, pt}
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }
func f2(x float64) string { return fmt.Sprintf("%.2f", x) }
