// Command ingest measures Sluice's live ingest against ffmpeg receiving the
// same publish itself: an ffmpeg publisher sends a real-time RTMP stream
// (a 720p30 test picture at --bitrate with AAC, black for one second in
// every six as a marker) to a Sluice RTMP_PUSH input attached to a channel
// on the test ladder with 1 s segments, then to a bare ffmpeg listening for
// RTMP and encoding the same two rungs into HLS with 1 s segments. For each
// it reports the CPU of the receiving process tree per Mbit/s in and the
// delay from the publisher sending a marker to the playlist listing the
// segment it starts in; then the ratios.
//
//	go run ./bench/ingest [--duration 20s] [--json FILE]
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

func main() { harness.Main("ingest", parseFlags, run) }

// config is the command line.
type config struct {
	harness.Flags
	duration time.Duration
	warmup   time.Duration
	bitrate  string
	size     string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("ingest", `Usage: go run ./bench/ingest [flags]

Publishes a real-time RTMP stream with ffmpeg into Sluice (an RTMP_PUSH
input feeding a channel on the test-360p ladder, 1 s segments) and then
into a bare ffmpeg RTMP listener encoding the same rungs into HLS, one after
the other. Prints, for each, the CPU of the receiving process tree per
Mbit/s in and the delay from publisher to playlist: the publisher's
picture turns black for one second in every six; each new segment of the
lowest rendition is decoded, and the delay is the wall clock when the
playlist first lists the segment where the black starts minus the moment
the publisher sent it (from its -progress reports). Prints the
Sluice/ffmpeg ratios; --json also writes everything to a file.

Flags:
`, stderr)
	c.Register(fs, "the publisher and the bare receiver")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "measured window per contender")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "skipped after the first segment")
	fs.StringVar(&c.bitrate, "bitrate", "3M", "video bitrate of the publisher")
	fs.StringVar(&c.size, "size", "1280x720", "picture size of the publisher")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	if c.duration < 5*time.Second || c.warmup < 0 {
		return c, errors.New("--duration must be at least 5s and --warmup not negative")
	}
	return c, nil
}

// ingestReport is the JSON document of a run.
type ingestReport struct {
	Benchmark string            `json:"benchmark"`
	Command   string            `json:"command"`
	Machine   report.Machine    `json:"machine"`
	Results   []contenderResult `json:"results"`
	// CPURatio and DelayRatio are Sluice over bare ffmpeg: CPU per Mbit/s
	// in, and the median delay.
	CPURatio   float64 `json:"cpuPerMbitRatio"`
	DelayRatio float64 `json:"delayRatio"`
}

func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "ingest", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	machine := ws.Machine(ctx)
	rep := ingestReport{Benchmark: "ingest", Command: report.CommandLine("go run ./bench/ingest", os.Args[1:]), Machine: machine}
	for _, c := range []struct {
		name string
		run  func(context.Context, *harness.Workspace, config) (contenderResult, error)
	}{{"sluice", runSluice}, {"bare", runBare}} {
		r, err := c.run(ctx, ws, cfg)
		if err != nil {
			return ws.Fail(ctx, fmt.Errorf("%s: %w", c.name, err))
		}
		rep.Results = append(rep.Results, r)
	}
	s, b := rep.Results[0], rep.Results[1]
	if b.CoresPerMbit > 0 {
		rep.CPURatio = s.CoresPerMbit / b.CoresPerMbit
	}
	if b.DelayMedian > 0 {
		rep.DelayRatio = s.DelayMedian / b.DelayMedian
	}
	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	t := report.Table{
		Title:  fmt.Sprintf("RTMP publish of %s at %s video + 128k AAC, real time; 1 s segments, test-360p rungs", cfg.size, cfg.bitrate),
		Header: []string{"receiver", "Mbit/s in", "cores (tree)", "cores (root)", "cores per Mbit/s", "markers", "delay median s", "delay p90 s"},
	}
	for _, r := range rep.Results {
		t.Rows = append(t.Rows, []string{r.Name, f2(r.MbitIn), f2(r.Cores), f2(r.RootCores), f3(r.CoresPerMbit), fmt.Sprint(len(r.Delays)), f2(r.DelayMedian), f2(r.DelayP90)})
	}
	t.Notes = []string{
		fmt.Sprintf("Sluice / bare ffmpeg: CPU per Mbit/s %.2f, median delay %.2f", rep.CPURatio, rep.DelayRatio),
		"root: the sluice serve process alone (ingest, switcher, packager, origin) or the bare ffmpeg (which also encodes).",
	}
	_ = t.Write(os.Stdout)
	return ws.Finish(ctx, rep, false)
}

func f2(x float64) string { return fmt.Sprintf("%.2f", x) }
func f3(x float64) string { return fmt.Sprintf("%.3f", x) }
