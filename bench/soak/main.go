// Command soak runs Sluice under load for a bounded time while faults keep
// coming, and prints what held: viewers' answers, recovery times, jobs,
// resource use over time and what was left behind. See --help.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
)

func main() { harness.Main("soak", parseConfig, run) }

func run(ctx context.Context, cfg config) int {
	res, err := soak(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	if err := res.write(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	if cfg.JSONPath != "" {
		if err := report.WriteJSON(cfg.JSONPath, res); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 1
		}
	}
	if cfg.strict && len(res.Findings) > 0 {
		return 3
	}
	return 0
}
