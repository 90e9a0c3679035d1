package main

import (
	"fmt"
	"time"

	"github.com/sluice-video/sluice/bench/internal/report"
)

// clusterResult is what the soak measured of each node of a cluster and
// of its database.
type clusterResult struct {
	Nodes []nodeResult `json:"nodes"`
	// SettledAfter is how long after the load every node was back near
	// its baseline (-1: not within --settle); SumBaseline and SumSettled
	// the cluster's totals when it was not.
	SettledAfter time.Duration `json:"settledAfter"`
	SumBaseline  sample        `json:"-"`
	SumSettled   sample        `json:"-"`
	PGBaseline   connSample    `json:"-"`
	PGConns      []connSample  `json:"-"`
}

// nodeResult is one node's resources over the run.
type nodeResult struct {
	ID       string `json:"id"`
	Restarts int    `json:"restarts"`
	// HeldBefore and HeldAfter are the channels (pipelines) it held at
	// the baseline and once the load stopped.
	HeldBefore   int           `json:"heldBefore"`
	HeldAfter    int           `json:"heldAfter"`
	Baseline     sample        `json:"-"`
	Settled      sample        `json:"-"`
	SettledAfter time.Duration `json:"settledAfter"`
	// MovedIn is set when the node holds more channels than at the
	// baseline, so that only the cluster's sum could be compared.
	MovedIn bool     `json:"movedIn,omitempty"`
	Samples []sample `json:"-"`
}

// findings adds what did not hold on the cluster's nodes.
func (cr *clusterResult) findings(broken func(string, ...any)) {
	for _, n := range cr.Nodes {
		if n.SettledAfter < 0 {
			broken("node %s: goroutines and descriptors did not return to the baseline: %d goroutines and %d descriptors at the end, %d and %d at the baseline (channels held: %d, then %d)",
				n.ID, n.Settled.goroutines, n.Settled.fds, n.Baseline.goroutines, n.Baseline.fds, n.HeldBefore, n.HeldAfter)
		}
	}
	if cr.SettledAfter < 0 {
		broken("the cluster's goroutines and descriptors did not return to the baseline: %d goroutines and %d descriptors at the end, %d and %d at the baseline",
			cr.SumSettled.goroutines, cr.SumSettled.fds, cr.SumBaseline.goroutines, cr.SumBaseline.fds)
	}
}

// table is the nodes' resources and the database's connections.
func (cr *clusterResult) table() report.Table {
	t := report.Table{Title: "Cluster resources, per node",
		Header: []string{"node", "", "baseline", "peak", "after the load", "slope of the longest run (per hour)"}}
	for _, n := range cr.Nodes {
		run := longestRun(n.Samples)
		long := len(run) > 1 && run[len(run)-1].at.Sub(run[0].at) >= 5*time.Minute
		row := func(first, name string, f func(sample) int64, unit int64) []string {
			var peak int64
			for _, s := range n.Samples {
				peak = max(peak, f(s))
			}
			slope := "- (no run of 5 minutes)"
			if long {
				slope = fmt.Sprintf("%+.1f", slopePerHour(run, f)/float64(unit))
			}
			return []string{first, name, fmt.Sprint(f(n.Baseline) / unit), fmt.Sprint(peak / unit), fmt.Sprint(f(n.Settled) / unit), slope}
		}
		t.Rows = append(t.Rows,
			row(fmt.Sprintf("%s (%d restarts, channels %d→%d)", n.ID, n.Restarts, n.HeldBefore, n.HeldAfter), "resident memory (MiB)", func(s sample) int64 { return s.rss }, 1<<20),
			row("", "goroutines", func(s sample) int64 { return s.goroutines }, 1),
			row("", "open descriptors", func(s sample) int64 { return s.fds }, 1),
		)
		switch {
		case n.SettledAfter < 0:
			t.Notes = append(t.Notes, n.ID+": NOT back near its baseline after the load stopped")
		case n.MovedIn:
			t.Notes = append(t.Notes, n.ID+": holds more channels than at the baseline; compared in the cluster's sum")
		}
	}
	var peak, last int64
	var ss []sample
	for _, c := range cr.PGConns {
		peak = max(peak, c.conns)
		last = c.conns
		ss = append(ss, sample{at: c.at, dbConns: c.conns})
	}
	slope := "- (no run of 5 minutes)"
	if len(ss) > 1 && ss[len(ss)-1].at.Sub(ss[0].at) >= 5*time.Minute {
		slope = fmt.Sprintf("%+.1f", slopePerHour(ss, func(s sample) int64 { return s.dbConns }))
	}
	t.Rows = append(t.Rows, []string{"PostgreSQL", "connections of the nodes", fmt.Sprint(cr.PGBaseline.conns), fmt.Sprint(peak), fmt.Sprint(last), slope})
	if cr.SettledAfter >= 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("every node back near its baseline %s after the load stopped", cr.SettledAfter.Round(time.Second)))
	} else {
		t.Notes = append(t.Notes, "the cluster was NOT back near its baseline after the load stopped")
	}
	return t
}
