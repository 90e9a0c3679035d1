package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/bench/internal/report"
)

// targetRatio is the goal for Sluice's CPU cost relative to the bare
// encoder: the packager and control plane may add at most 5 %.
const targetRatio = 1.05

// producerResult is one process tree's figures over the window.
type producerResult struct {
	Label string `json:"label"`
	// CPUSeconds is the CPU time of the tree (utime+stime of every process).
	CPUSeconds float64 `json:"cpuSeconds"`
	// RootCPUSeconds is the share of the root process alone: for the Sluice
	// channel, the server (packager, origin, API) without its encoder.
	RootCPUSeconds float64 `json:"rootCpuSeconds"`
	// MediaSeconds is how far the encoder's output position moved.
	MediaSeconds      float64 `json:"mediaSeconds"`
	WallSeconds       float64 `json:"wallSeconds"`
	CPUPerMediaSecond float64 `json:"cpuPerMediaSecond"`
	// Speed is media seconds per wall second (1.0 = real time).
	Speed float64 `json:"speed"`
	// PeakRSSBytes adds up VmHWM of every process in the tree.
	PeakRSSBytes     int64 `json:"peakRssBytes"`
	Processes        int   `json:"processes"`
	ProcessesChanged bool  `json:"processesChanged"`
	// PerProcess splits the tree's figures by process.
	PerProcess []processResult `json:"perProcess"`
}

// processResult is one process of a tree over the window.
type processResult struct {
	Pid          int     `json:"pid"`
	Name         string  `json:"name"`
	CPUSeconds   float64 `json:"cpuSeconds"`
	PeakRSSBytes int64   `json:"peakRssBytes"`
}

// contenderResult is the figures of one way of producing the ladder in
// one round.
type contenderResult struct {
	Name        string `json:"name"`
	Round       int    `json:"round"`
	Description string `json:"description"`
	// CPUPerMediaSecond is the CPU time it takes to output one second of
	// the whole ladder: the sum over the process trees of each tree's CPU
	// time divided by its own media output.
	CPUPerMediaSecond float64 `json:"cpuPerMediaSecond"`
	// Speed is the slowest tree's speed.
	Speed float64 `json:"speed"`
	// CoresBusy is CPU time per wall second, all trees together.
	CoresBusy float64 `json:"coresBusy"`
	// OtherCores is the machine's busy time per wall second not spent by
	// the contender: other processes disturbing the figure.
	OtherCores float64 `json:"otherCores"`
	// StealCores is the hypervisor's steal time per wall second.
	StealCores   float64          `json:"stealCores"`
	PeakRSSBytes int64            `json:"peakRssBytes"`
	Processes    int              `json:"processes"`
	Producers    []producerResult `json:"producers"`
	Notes        []string         `json:"notes,omitempty"`
	Error        string           `json:"error,omitempty"`
}

// contenderSummary sums up a contender over the rounds it completed.
type contenderSummary struct {
	Name   string `json:"name"`
	Rounds int    `json:"rounds"`
	// CPUPerMediaSecond is the median over the rounds; Min and Max the range.
	CPUPerMediaSecond    float64 `json:"cpuPerMediaSecond"`
	MinCPUPerMediaSecond float64 `json:"minCpuPerMediaSecond"`
	MaxCPUPerMediaSecond float64 `json:"maxCpuPerMediaSecond"`
	// PeakRSSBytes is the largest over the rounds.
	PeakRSSBytes int64 `json:"peakRssBytes"`
}

// comparison is Sluice's median against an anchor's, with the ratio of
// each round, where the two ran a few minutes apart.
type comparison struct {
	Anchor string  `json:"anchor"`
	Ratio  float64 `json:"ratio"`
	// RoundRatios are the ratios of the rounds in which both were measured.
	RoundRatios []float64 `json:"roundRatios"`
	// PeakRSSRatio compares the largest peak RSS of each.
	PeakRSSRatio float64 `json:"peakRssRatio"`
}

// summarize sums up each contender over its successful rounds, in the
// order the contenders first appear.
func summarize(results []contenderResult) []contenderSummary {
	var out []contenderSummary
	for _, r := range results {
		if slices.ContainsFunc(out, func(s contenderSummary) bool { return s.Name == r.Name }) {
			continue
		}
		s := contenderSummary{Name: r.Name}
		var xs []float64
		for _, q := range results {
			if q.Name != r.Name || q.Error != "" {
				continue
			}
			xs = append(xs, q.CPUPerMediaSecond)
			s.PeakRSSBytes = max(s.PeakRSSBytes, q.PeakRSSBytes)
		}
		s.Rounds = len(xs)
		if len(xs) > 0 {
			s.CPUPerMediaSecond = report.Median(xs)
			s.MinCPUPerMediaSecond, s.MaxCPUPerMediaSecond = slices.Min(xs), slices.Max(xs)
		}
		out = append(out, s)
	}
	return out
}

// compare puts contender a against anchor b.
func compare(results []contenderResult, sums []contenderSummary, a, b string) (comparison, bool) {
	sa, sb := findSummary(sums, a), findSummary(sums, b)
	if sa == nil || sb == nil || sa.Rounds == 0 || sb.Rounds == 0 {
		return comparison{}, false
	}
	c := comparison{
		Anchor:       b,
		Ratio:        sa.CPUPerMediaSecond / sb.CPUPerMediaSecond,
		PeakRSSRatio: float64(sa.PeakRSSBytes) / float64(sb.PeakRSSBytes),
	}
	for _, ra := range results {
		if ra.Name != a || ra.Error != "" {
			continue
		}
		for _, rb := range results {
			if rb.Name == b && rb.Round == ra.Round && rb.Error == "" {
				c.RoundRatios = append(c.RoundRatios, ra.CPUPerMediaSecond/rb.CPUPerMediaSecond)
			}
		}
	}
	return c, true
}

// detailTable lists every contender's figures in every round; "vs bare" is
// the ratio to the bare encoder of the same round.
func detailTable(results []contenderResult) report.Table {
	t := report.Table{
		Title:  "Ladder encoding cost, per contender and round",
		Header: []string{"Contender", "Round", "Processes", "CPU s / output s", "vs bare", "Speed", "Cores busy", "Peak RSS", "Other load", "Steal"},
	}
	for _, r := range results {
		if r.Error != "" {
			t.Rows = append(t.Rows, []string{r.Name, strconv.Itoa(r.Round), "-", "failed", "", "", "", "", "", ""})
			t.Notes = append(t.Notes, fmt.Sprintf("%s, round %d: failed: %s", r.Name, r.Round, r.Error))
			continue
		}
		vs := "-"
		for _, b := range results {
			if b.Name == nameBare && b.Round == r.Round && b.Error == "" {
				vs = fmt.Sprintf("%.3f", r.CPUPerMediaSecond/b.CPUPerMediaSecond)
			}
		}
		t.Rows = append(t.Rows, []string{
			r.Name, strconv.Itoa(r.Round), strconv.Itoa(r.Processes),
			fmt.Sprintf("%.3f", r.CPUPerMediaSecond), vs,
			fmt.Sprintf("%.3fx", r.Speed), fmt.Sprintf("%.2f", r.CoresBusy),
			mib(r.PeakRSSBytes), fmt.Sprintf("%.2f cores", r.OtherCores), fmt.Sprintf("%.2f cores", r.StealCores),
		})
		for _, n := range r.Notes {
			t.Notes = append(t.Notes, fmt.Sprintf("%s, round %d: %s", r.Name, r.Round, n))
		}
		if r.Name == nameSluice && len(r.Producers) == 1 {
			p := r.Producers[0]
			for _, pp := range p.PerProcess {
				t.Notes = append(t.Notes, fmt.Sprintf("%s, round %d: %s (pid %d) %.3f CPU s per output s, peak RSS %s",
					r.Name, r.Round, pp.Name, pp.Pid, pp.CPUSeconds/p.MediaSeconds, mib(pp.PeakRSSBytes)))
			}
		}
	}
	return t
}

// comparisonTable puts Sluice's median figures next to the anchors'.
func comparisonTable(sums []contenderSummary, comps []comparison) report.Table {
	t := report.Table{
		Title:  "Sluice against the anchors (median over rounds)",
		Header: []string{"Figure", "Sluice", "Anchor", "Anchor figure", "Ratio", "Per round", "Target"},
	}
	s := findSummary(sums, nameSluice)
	for _, c := range comps {
		a := findSummary(sums, c.Anchor)
		target := "-"
		if c.Anchor == nameBare {
			target = fmt.Sprintf("<= %.2f", targetRatio)
		}
		t.Rows = append(t.Rows,
			[]string{"CPU s / output s", fmt.Sprintf("%.3f", s.CPUPerMediaSecond), c.Anchor, fmt.Sprintf("%.3f", a.CPUPerMediaSecond),
				fmt.Sprintf("%.3f", c.Ratio), ratios(c.RoundRatios), target},
			[]string{"Peak RSS", mib(s.PeakRSSBytes), c.Anchor, mib(a.PeakRSSBytes),
				fmt.Sprintf("%.2f", c.PeakRSSRatio), "", "-"})
	}
	for _, x := range sums {
		if x.Rounds > 1 {
			t.Notes = append(t.Notes, fmt.Sprintf("%s: %d rounds, CPU s / output s from %.3f to %.3f",
				x.Name, x.Rounds, x.MinCPUPerMediaSecond, x.MaxCPUPerMediaSecond))
		}
	}
	return t
}

func ratios(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}

func findSummary(sums []contenderSummary, name string) *contenderSummary {
	for i := range sums {
		if sums[i].Name == name {
			return &sums[i]
		}
	}
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
