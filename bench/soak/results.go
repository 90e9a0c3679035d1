package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/report"
)

// results is everything the soak measured and checked.
type results struct {
	Duration time.Duration `json:"duration"`
	Restarts int           `json:"serverRestarts"`
	Faults   []faultRecord `json:"faults"`
	Viewers  viewerResult  `json:"viewers"`
	// ViewerFailures are the viewers' failed requests by kind.
	ViewerFailures failureSplit `json:"viewerFailures"`
	// DVR is the check of the channels' DVR archives.
	DVR     dvrResult      `json:"dvr"`
	Players []playerResult `json:"players"`
	Events  eventResult    `json:"events"`
	// Scraper is what scraped /metrics every 5 s (prometheus, or soak for
	// the soak's own loop), ScraperNote why not Prometheus, or why its
	// figures are missing; ScrapeTargets the servers scraped.
	Scraper       string `json:"scraper"`
	ScraperNote   string `json:"scraperNote,omitempty"`
	Scrapes       int    `json:"scrapes"`
	ScrapeTargets int    `json:"scrapeTargets"`
	// ScrapeFailures are failed /metrics reads outside the faults,
	// ScrapeFailuresDuring those inside.
	ScrapeFailures       int64      `json:"scrapeFailures"`
	ScrapeFailuresDuring int64      `json:"scrapeFailuresDuringFaults"`
	Jobs                 jobAccount `json:"jobs"`
	// Harvests are the live-to-VOD harvests asked for (nil: none, with
	// --harvest-every 0).
	Harvests *harvestAccount `json:"harvests,omitempty"`

	Baseline     sample        `json:"-"`
	Settled      sample        `json:"-"`
	SettledAfter time.Duration `json:"settledAfter"`
	Samples      []sample      `json:"-"`

	Orphans      []string  `json:"orphans,omitempty"`
	Integrity    string    `json:"integrity"`
	SpoolBytes   int64     `json:"spoolBytes"`
	LeftoverTemp []string  `json:"leftoverTemp,omitempty"`
	Panics       []string  `json:"panics,omitempty"`
	ErrorKinds   []logKind `json:"logProblems,omitempty"`

	// Cluster is what was measured of each node of --cluster.
	Cluster *clusterResult `json:"cluster,omitempty"`

	// Findings are what did not hold; Broken the findings a short soak in
	// the test suite fails on.
	Findings []string `json:"findings"`
	Broken   []string `json:"broken"`
}

// viewerResult is what the simulated viewers saw.
type viewerResult struct {
	Requests int64 `json:"requests"`
	// Outside and OutsideFailed count the requests outside the seconds a
	// fault covers; During those inside.
	Outside       int64    `json:"outside"`
	OutsideFailed int64    `json:"outsideFailed"`
	During        int64    `json:"during"`
	DuringFailed  int64    `json:"duringFailed"`
	Blocking      int64    `json:"blockingReloads"`
	Backwards     []string `json:"backwards,omitempty"`
}

// eventResult is what the event follower received.
type eventResult struct {
	Received   int `json:"received"`
	Reconnects int `json:"reconnects"`
	OutOfOrder int `json:"outOfOrder"`
	Gaps       int `json:"segmentGaps"`
}

func (r *rig) viewerResult(a *audience, tr *traffic, faults []faultRecord) viewerResult {
	v := viewerResult{Requests: a.requests.Load(), Blocking: a.blocking.Load()}
	v.Outside, v.OutsideFailed, v.During, v.DuringFailed = tr.split(windows(faults, time.Now()))
	a.mu.Lock()
	v.Backwards = append(v.Backwards, a.backwards...)
	a.mu.Unlock()
	return v
}

// findings lists what did not hold. Broken are the invariants nothing
// excuses: a lost or doubled job, a media sequence going backwards, a
// panic, resources that do not return to their baseline.
func (res *results) findings() {
	broken := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		res.Broken = append(res.Broken, s)
		res.Findings = append(res.Findings, s)
	}
	finding := func(format string, args ...any) { res.Findings = append(res.Findings, fmt.Sprintf(format, args...)) }
	for _, l := range res.Jobs.Lost {
		broken("job lost: %s", l)
	}
	for _, l := range res.Jobs.Twice {
		broken("job run twice: %s", l)
	}
	for _, b := range res.Viewers.Backwards {
		broken("media sequence backwards: %s", b)
	}
	for _, p := range res.Panics {
		broken("panic in the server log: %s", p)
	}
	if res.Cluster != nil {
		res.Cluster.findings(broken)
	} else if res.SettledAfter < 0 {
		broken("goroutines and descriptors did not return to the baseline: %d goroutines and %d descriptors at the end, %d and %d at the baseline",
			res.Settled.goroutines, res.Settled.fds, res.Baseline.goroutines, res.Baseline.fds)
	}
	if res.Integrity != "ok" {
		finding("database integrity check: %s", res.Integrity)
	}
	for _, o := range res.Orphans {
		finding("process left running after the server stopped: %s", o)
	}
	if res.Viewers.OutsideFailed > 0 {
		finding("%d of %d viewer requests outside the faults did not answer 200", res.Viewers.OutsideFailed, res.Viewers.Outside)
	}
	if res.ScrapeFailures > 0 {
		finding("%d metrics scrapes outside the faults failed", res.ScrapeFailures)
	}
	if res.Scraper == scraperPrometheus && res.ScraperNote != "" {
		finding("%s", res.ScraperNote)
	}
	res.harvestFindings(broken, finding)
	if res.Events.OutOfOrder > 0 {
		finding("%d events arrived twice or out of order", res.Events.OutOfOrder)
	}
	for _, f := range res.Faults {
		if f.Segment < 0 {
			finding("after %s at %s the channels did not list new segments within %s", f.Kind, f.Start.Format("15:04:05"), recoverWithin)
		}
		if f.ServerErrors > 0 {
			finding("%s: %d requests answered 5xx or dropped", f.Kind, f.ServerErrors)
		}
	}
	res.Findings = append(res.Findings, res.dvrFindings()...)
	for _, t := range res.LeftoverTemp {
		finding("temporary file left in the data directory: %s", t)
	}
}

// write prints the tables.
func (res *results) write(w io.Writer) error {
	server, dvr := res.serverTable(), res.dvrTable()
	if res.Cluster != nil {
		server = res.Cluster.table()
	}
	tables := []report.Table{res.faultTable(), res.viewerTable(), res.failureTable(), res.jobTable(), res.harvestTable(), dvr, server, res.afterTable()}
	for _, t := range tables {
		if err := t.Write(w); err != nil {
			return err
		}
	}
	findings := report.Table{Title: "Findings", Header: []string{"#", "what did not hold"}}
	for i, f := range res.Findings {
		findings.Rows = append(findings.Rows, []string{fmt.Sprint(i + 1), f})
	}
	if len(res.Findings) == 0 {
		findings.Rows = append(findings.Rows, []string{"-", "none: everything held"})
	}
	return findings.Write(w)
}

func (res *results) faultTable() report.Table {
	t := report.Table{Title: fmt.Sprintf("Faults over %s (%d server restarts)", res.Duration, res.Restarts),
		Header: []string{"fault", "times", "after its end: RUNNING median", "max", "next segment median", "max", "not recovered"}}
	byKind := map[string][]faultRecord{}
	var kinds []string
	for _, f := range res.Faults {
		if _, ok := byKind[f.Kind]; !ok {
			kinds = append(kinds, f.Kind)
		}
		byKind[f.Kind] = append(byKind[f.Kind], f)
	}
	for _, k := range kinds {
		var run, seg []float64
		lost := 0
		for _, f := range byKind[k] {
			if f.Running >= 0 {
				run = append(run, f.Running.Seconds())
			}
			if f.Segment >= 0 {
				seg = append(seg, f.Segment.Seconds())
			} else {
				lost++
			}
		}
		t.Rows = append(t.Rows, []string{k, fmt.Sprint(len(byKind[k])), secs(report.Median(run)), secs(maxOf(run)), secs(report.Median(seg)), secs(maxOf(seg)), fmt.Sprint(lost)})
	}
	for _, f := range res.Faults {
		if strings.HasPrefix(f.Note, "skipped") || strings.HasPrefix(f.Note, "could not") {
			t.Notes = append(t.Notes, f.Kind+": "+f.Note)
		}
	}
	return t
}

func (res *results) viewerTable() report.Table {
	v := res.Viewers
	t := report.Table{Title: "Viewers", Header: []string{"who", "figure", "target"}}
	t.Rows = append(t.Rows,
		[]string{"HLS and LL-HLS viewers via the edge", fmt.Sprintf("%s of %d requests outside faults answered 200", pct(v.Outside-v.OutsideFailed, v.Outside), v.Outside), "100 %"},
		[]string{"", fmt.Sprintf("%s of %d requests during faults answered 200", pct(v.During-v.DuringFailed, v.During), v.During), "-"},
		[]string{"", fmt.Sprintf("%d media sequences going backwards", len(v.Backwards)), "0"},
		[]string{"", fmt.Sprintf("%d blocking reloads answered", v.Blocking), "-"},
		[]string{"event stream follower", fmt.Sprintf("%d events, %d reconnects, %d out of order, %d segment.gap", res.Events.Received, res.Events.Reconnects, res.Events.OutOfOrder, res.Events.Gaps), "0 out of order"},
		res.scrapeRow(),
	)
	for _, p := range res.Players {
		note := fmt.Sprintf("stalled %.1f s of %.0f s watched (%s)", p.Stalled, p.Watched, pct(int64((p.Watched-p.Stalled)*10), int64(p.Watched*10)))
		if p.Fatal != "" {
			note += ", fatal: " + p.Fatal
		}
		t.Rows = append(t.Rows, []string{"hls.js player of " + p.Channel, note, "stalls only during faults"})
	}
	return t
}

// scrapeRow is the viewers' table's row of the metrics scrapes.
func (res *results) scrapeRow() []string {
	switch {
	case res.Scraper == scraperPrometheus && res.ScraperNote != "":
		return []string{"Prometheus (5 s)", res.ScraperNote, "0 failed"}
	case res.Scraper == scraperPrometheus:
		return []string{"Prometheus (5 s)", fmt.Sprintf("%d scrapes of %d servers, %d failed outside faults, %d during", res.Scrapes, res.ScrapeTargets, res.ScrapeFailures, res.ScrapeFailuresDuring), "0 failed"}
	}
	return []string{"metrics scraper (5 s, the soak's own: " + res.ScraperNote + ")", fmt.Sprintf("%d scrapes, %d failed outside faults, %d during", res.Scrapes, res.ScrapeFailures, res.ScrapeFailuresDuring), "0 failed"}
}

func (res *results) jobTable() report.Table {
	j := res.Jobs
	return report.Table{Title: "On-demand jobs", Header: []string{"dropped", "complete", "error", "lost", "run twice", "retried after a fault", "time to finish median", "max"},
		Rows: [][]string{{fmt.Sprint(j.Dropped), fmt.Sprint(j.Complete), fmt.Sprint(j.Errored), fmt.Sprint(len(j.Lost)), fmt.Sprint(len(j.Twice)), fmt.Sprint(j.Retried),
			secs(report.Median(j.FinishSeconds)), secs(maxOf(j.FinishSeconds))}},
		Notes: j.Errors}
}

func (res *results) serverTable() report.Table {
	run := longestRun(res.Samples)
	t := report.Table{Title: "Server resources", Header: []string{"", "baseline", "peak", "after the load", "slope of the longest server run (per hour)"}}
	peak := func(f func(sample) int64) int64 {
		var m int64
		for _, s := range res.Samples {
			m = max(m, f(s))
		}
		return m
	}
	// A slope over a few minutes says nothing about an hour.
	long := len(run) > 1 && run[len(run)-1].at.Sub(run[0].at) >= 5*time.Minute
	row := func(name string, f func(sample) int64, unit int64) []string {
		slope := "- (no run of 5 minutes)"
		if long {
			slope = fmt.Sprintf("%+.1f", slopePerHour(run, f)/float64(unit))
		}
		return []string{name, fmt.Sprint(f(res.Baseline) / unit), fmt.Sprint(peak(f) / unit), fmt.Sprint(f(res.Settled) / unit), slope}
	}
	t.Rows = append(t.Rows,
		row("resident memory (MiB)", func(s sample) int64 { return s.rss }, 1<<20),
		row("goroutines", func(s sample) int64 { return s.goroutines }, 1),
		row("open descriptors", func(s sample) int64 { return s.fds }, 1),
		row("SQLite connections", func(s sample) int64 { return s.dbConns }, 1),
	)
	if long {
		t.Notes = append(t.Notes, fmt.Sprintf("the longest server run sampled lasted %s (its first minute left out)", run[len(run)-1].at.Sub(run[0].at).Round(time.Second)))
	}
	if res.SettledAfter >= 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("back near the baseline %s after the load stopped", res.SettledAfter.Round(time.Second)))
	} else {
		t.Notes = append(t.Notes, "NOT back near the baseline after the load stopped")
	}
	return t
}

func (res *results) afterTable() report.Table {
	t := report.Table{Title: "Afterwards", Header: []string{"check", "result"}}
	t.Rows = append(t.Rows,
		[]string{"panics and data races in the log", fmt.Sprint(len(res.Panics))},
		[]string{"database integrity", res.Integrity},
		[]string{"processes left after the stop", fmt.Sprint(len(res.Orphans))},
		[]string{"segment spool", fmt.Sprintf("%d MiB", res.SpoolBytes>>20)},
		[]string{"temporary files left", fmt.Sprint(len(res.LeftoverTemp))},
	)
	kinds := slices.Clone(res.ErrorKinds)
	sort.SliceStable(kinds, func(i, j int) bool { return kinds[i].Count > kinds[j].Count })
	for i, k := range kinds {
		if i == 12 {
			t.Notes = append(t.Notes, fmt.Sprintf("  … and %d more kinds", len(kinds)-i))
			break
		}
		t.Notes = append(t.Notes, fmt.Sprintf("  %6d × %s", k.Count, k.Message))
	}
	if len(kinds) > 0 {
		t.Notes = append([]string{"warnings and errors the server logged, by message:"}, t.Notes...)
	}
	return t
}

func secs(s float64) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f s", s)
}

func maxOf(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func pct(a, b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f %%", 100*float64(a)/float64(b))
}
