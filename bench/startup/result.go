package main

import (
	"fmt"
	"strconv"

	"github.com/sluice-video/sluice/bench/internal/report"
)

// segmentSeconds is Sluice's default segment length, which the benchmark
// channels keep.
const segmentSeconds = 2.0

// targetSeconds is the goal for a channel start: one segment plus one second.
const targetSeconds = segmentSeconds + 1

// anchor is the managed service's figure Sluice is compared with.
const anchor = "MediaLive: 3–10 minutes (documented channel start time)"

// caseResult is every run of one case.
type caseResult struct {
	Name   string      `json:"name"`
	Input  string      `json:"input"`
	Ladder string      `json:"ladder"`
	Preset string      `json:"preset"`
	Runs   []runResult `json:"runs"`
	// MedianSeconds and MaxSeconds summarise Runs' Seconds.
	MedianSeconds float64 `json:"medianSeconds"`
	MaxSeconds    float64 `json:"maxSeconds"`
	TargetSeconds float64 `json:"targetSeconds"`
	Anchor        string  `json:"anchor"`
	Error         string  `json:"error,omitempty"`
}

// summarise fills in the median and the maximum.
func (c *caseResult) summarise() {
	var xs []float64
	for _, r := range c.Runs {
		xs = append(xs, r.Seconds)
	}
	c.MedianSeconds, c.MaxSeconds = report.Median(xs), maximum(xs)
	c.TargetSeconds, c.Anchor = targetSeconds, anchor
}

// runsTable lists every run with the server's own milestones.
func runsTable(cases []caseResult) report.Table {
	t := report.Table{
		Title:  "Channel start, every run (seconds after POST .../start)",
		Header: []string{"Case", "Run", "Encoder started", "Server says RUNNING", "Every playlist has a segment"},
	}
	for _, c := range cases {
		for _, r := range c.Runs {
			t.Rows = append(t.Rows, []string{c.Name, strconv.Itoa(r.Run),
				fmt.Sprintf("%.3f s", r.EncoderSeconds), secs(r.RunningSeconds), secs(r.Seconds)})
		}
	}
	return t
}

// summaryTable puts each case's median and maximum next to the target and
// the anchor.
func summaryTable(cases []caseResult) report.Table {
	t := report.Table{
		Title:  "Channel start time: Sluice against the anchor",
		Header: []string{"Case", "Input", "Ladder", "Runs", "Median", "Max", "Target", "Median/target", "Anchor"},
	}
	for _, c := range cases {
		if c.Error != "" {
			t.Notes = append(t.Notes, c.Name+": failed: "+c.Error)
		}
		if len(c.Runs) == 0 {
			t.Rows = append(t.Rows, []string{c.Name, c.Input, c.ladderText(), "0", "-", "-", secs(targetSeconds), "-", anchor})
			continue
		}
		t.Rows = append(t.Rows, []string{
			c.Name, c.Input, c.ladderText(), strconv.Itoa(len(c.Runs)),
			secs(c.MedianSeconds), secs(c.MaxSeconds), secs(c.TargetSeconds),
			fmt.Sprintf("%.2f", c.MedianSeconds/c.TargetSeconds), c.Anchor,
		})
	}
	t.Notes = append(t.Notes, fmt.Sprintf("target = segment duration (%.0f s) + 1 s; a playlist counts once it lists a segment of the new run", segmentSeconds))
	return t
}

func (c caseResult) ladderText() string {
	if c.Preset == "" {
		return c.Ladder
	}
	return c.Ladder + " " + c.Preset
}

func secs(s float64) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", s)
}
