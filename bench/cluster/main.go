// Command cluster measures what running Sluice as several nodes on one
// PostgreSQL database costs and gives:
//
//   - failover: three nodes, one TEST_PATTERN channel; the node holding it
//     is killed (SIGKILL of its process group), and the time until a new
//     segment is listed, read through another node, is the failover time
//     (median of --runs; target: the lease plus one segment);
//   - control plane: API latency of a channel's GET and of the channel
//     list, and the wall time of applying a stack of --stack-resources
//     resources, on PostgreSQL and on SQLite in the same run;
//   - capacity: how many TEST_PATTERN test-360p channels one node runs with
//     every encoder at speed ≥ 1.0, and how placement alone spreads three
//     times as many over three nodes;
//   - standard: two nodes and an edge over both; the CPU of a test-360p
//     channel as SINGLE_PIPELINE and as STANDARD, then hls.js plays the
//     STANDARD channel through the edge while the node of one pipeline is
//     SIGKILLed (--runs times): the stalled time beyond a control run and
//     the segments missing from the playlist (target: 0 and 0). Needs
//     Chromium.
//
// PostgreSQL is a throwaway server made with the installed initdb in the
// temporary directory, unless --database names one.
//
//	go run ./bench/cluster [--runs 5] [--parts failover,control,capacity,standard] [--json FILE]
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sluice-video/sluice/bench/internal/backing"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
)

func main() { harness.Main("cluster", parseFlags, run) }

// config is the command line.
type config struct {
	harness.Flags
	database  string
	parts     []string
	runs      int
	lease     time.Duration
	segment   int
	samples   int
	resources int
	maxChans  int
	settle    time.Duration
}

var allParts = []string{"failover", "control", "capacity", "standard"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("cluster", "usage: go run ./bench/cluster [flags]\n\n", stderr)
	c.Register(fs, "nothing else")
	fs.StringVar(&c.database, "database", "", "PostgreSQL server URL (postgres://user@host:port/db) whose databases the benchmark creates; default: a throwaway server made with initdb")
	parts := fs.String("parts", "failover,control,capacity", "what to measure: failover, control, capacity, standard")
	fs.IntVar(&c.runs, "runs", 5, "failovers measured, and node kills of the standard part")
	fs.DurationVar(&c.lease, "lease", 10*time.Second, "the nodes' --lease")
	fs.IntVar(&c.segment, "segment", 2, "segment length of the failover and standard channels, seconds")
	fs.IntVar(&c.samples, "samples", 200, "API requests per latency figure")
	fs.IntVar(&c.resources, "stack-resources", 200, "resources of the applied stack")
	fs.IntVar(&c.maxChans, "capacity-max", 12, "most channels one node is given while its capacity is sought")
	fs.DurationVar(&c.settle, "settle", 15*time.Second, "how long channels run before their encoders' speed is read, and the standard part's CPU window")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	var err error
	if c.parts, err = harness.SplitNames("parts", "part", *parts, allParts); err != nil {
		return c, err
	}
	if c.runs < 1 || c.samples < 1 || c.resources < 3 || c.maxChans < 1 || c.segment < 1 {
		return c, fmt.Errorf("--runs, --samples, --capacity-max and --segment must be positive and --stack-resources at least 3")
	}
	return c, nil
}

// clusterReport is the JSON document of a run.
type clusterReport struct {
	Benchmark string          `json:"benchmark"`
	Command   string          `json:"command"`
	Machine   report.Machine  `json:"machine"`
	Failover  *failoverResult `json:"failover,omitempty"`
	Control   []controlResult `json:"controlPlane,omitempty"`
	Capacity  *capacityResult `json:"capacity,omitempty"`
	Standard  *standardResult `json:"standard,omitempty"`
	Errors    []string        `json:"errors,omitempty"`
}

func (c config) wants(part string) bool {
	for _, p := range c.parts {
		if p == part {
			return true
		}
	}
	return false
}

// run performs the benchmark and returns the exit code.
func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "cluster", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	rep := clusterReport{Benchmark: "cluster", Command: report.CommandLine("go run ./bench/cluster", os.Args[1:]), Machine: ws.Machine(ctx)}
	pg, err := backing.StartPostgres(ctx, ws, cfg.database)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	failed := false
	note := func(part string, err error) {
		if err != nil {
			ws.Log.Printf("%s: %v", part, err)
			rep.Errors = append(rep.Errors, part+": "+err.Error())
			failed = true
		}
	}
	if cfg.wants("failover") {
		res, err := measureFailover(ctx, ws, cfg, pg)
		rep.Failover = res
		note("failover", err)
	}
	if cfg.wants("control") && ctx.Err() == nil {
		res, err := measureControl(ctx, ws, cfg, pg)
		rep.Control = res
		note("control plane", err)
	}
	if cfg.wants("capacity") && ctx.Err() == nil {
		res, err := measureCapacity(ctx, ws, cfg, pg)
		rep.Capacity = res
		note("capacity", err)
	}
	if cfg.wants("standard") && ctx.Err() == nil {
		res, err := measureStandard(ctx, ws, cfg, pg)
		rep.Standard = res
		note("standard", err)
	}
	if ctx.Err() != nil {
		return ws.Fail(ctx, ctx.Err())
	}
	printReport(os.Stdout, cfg, rep)
	if cfg.JSONPath != "" {
		if err := report.WriteJSON(cfg.JSONPath, rep); err != nil {
			return ws.Fail(ctx, err)
		}
	}
	if failed {
		return 1
	}
	return 0
}

func printReport(w io.Writer, cfg config, rep clusterReport) {
	fmt.Fprintln(w, "Sluice cluster benchmark")
	for _, l := range rep.Machine.Lines() {
		fmt.Fprintln(w, l)
	}
	if f := rep.Failover; f != nil {
		_ = f.table(cfg).Write(w)
	}
	if len(rep.Control) > 0 {
		_ = controlTable(cfg, rep.Control).Write(w)
	}
	if c := rep.Capacity; c != nil {
		_ = c.table(cfg).Write(w)
	}
	if s := rep.Standard; s != nil {
		_ = s.table(cfg).Write(w)
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(w, "error:", e)
	}
}

// seconds words a duration in seconds with two decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
