// Command ingest measures Sluice's live ingest against ffmpeg receiving the
// same publish itself, for RTMP, SRT and UDP: an ffmpeg publisher sends a
// real-time stream (a 720p30 test picture at --bitrate with AAC, black for
// one second in every six as a marker) to a Sluice push input attached to a
// channel on the test ladder with 1 s segments, then to a bare ffmpeg
// receiving the same protocol and encoding the same two rungs into HLS with
// 1 s segments. For each it reports the CPU of the receiving process tree
// per Mbit/s in and the delay from the publisher sending a marker to the
// playlist listing the segment it starts in; then the ratios.
//
//	go run ./bench/ingest [--protocols rtmp,srt,udp] [--duration 20s] [--json FILE]
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
	protos   []string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("ingest", `Usage: go run ./bench/ingest [flags]

For each protocol (RTMP, SRT, UDP), publishes a real-time stream with
ffmpeg into Sluice (a push input feeding a channel on the test-360p ladder,
1 s segments) and then into a bare ffmpeg receiving the same protocol and
encoding the same rungs into HLS, one after the other. Prints, for each, the CPU of the receiving process tree per
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
	only := fs.String("protocols", "rtmp,srt,udp", "protocols to measure")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	protos, err := harness.SplitNames("--protocols", "protocol", *only, protocolNames())
	if err != nil {
		return c, err
	}
	c.protos = protos
	if c.duration < 5*time.Second || c.warmup < 0 {
		return c, errors.New("--duration must be at least 5s and --warmup not negative")
	}
	return c, nil
}

// ingestReport is the JSON document of a run.
type ingestReport struct {
	Benchmark string           `json:"benchmark"`
	Command   string           `json:"command"`
	Machine   report.Machine   `json:"machine"`
	Protocols []protocolResult `json:"protocols"`
}

// protocolResult is one protocol's pair of receivers and their ratios.
type protocolResult struct {
	Protocol string            `json:"protocol"`
	Results  []contenderResult `json:"results"`
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
	for _, name := range cfg.protos {
		p := protocolNamed(name)
		pr := protocolResult{Protocol: name}
		for _, c := range []struct {
			name string
			run  func(context.Context, *harness.Workspace, config, protocol) (contenderResult, error)
		}{{"sluice", runSluice}, {"bare", runBare}} {
			r, err := c.run(ctx, ws, cfg, p)
			if err != nil {
				return ws.Fail(ctx, fmt.Errorf("%s over %s: %w", c.name, name, err))
			}
			pr.Results = append(pr.Results, r)
		}
		s, b := pr.Results[0], pr.Results[1]
		if b.CoresPerMbit > 0 {
			pr.CPURatio = s.CoresPerMbit / b.CoresPerMbit
		}
		if b.DelayMedian > 0 {
			pr.DelayRatio = s.DelayMedian / b.DelayMedian
		}
		rep.Protocols = append(rep.Protocols, pr)
	}
	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	t := report.Table{
		Title:  fmt.Sprintf("Publish of %s at %s video + 128k AAC, real time; 1 s segments, test-360p rungs", cfg.size, cfg.bitrate),
		Header: []string{"receiver", "Mbit/s in", "cores (tree)", "cores (root)", "cores per Mbit/s", "markers", "delay median s", "delay p90 s"},
	}
	var notes []string
	for _, pr := range rep.Protocols {
		for _, r := range pr.Results {
			t.Rows = append(t.Rows, []string{r.Name, f2(r.MbitIn), f2(r.Cores), f2(r.RootCores), f3(r.CoresPerMbit), fmt.Sprint(len(r.Delays)), f2(r.DelayMedian), f2(r.DelayP90)})
		}
		notes = append(notes, fmt.Sprintf("%s, Sluice / bare ffmpeg: CPU per Mbit/s %.2f, median delay %.2f", pr.Protocol, pr.CPURatio, pr.DelayRatio))
	}
	notes = append(notes, "root: the sluice serve process alone (ingest, switcher, packager, origin) or the bare ffmpeg (which also encodes).")
	t.Notes = notes
	_ = t.Write(os.Stdout)
	return ws.Finish(ctx, rep, false)
}

func f2(x float64) string { return fmt.Sprintf("%.2f", x) }
func f3(x float64) string { return fmt.Sprintf("%.3f", x) }
