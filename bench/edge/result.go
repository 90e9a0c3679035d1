package main

import (
	"fmt"
	"strconv"

	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/wrk"
)

// hitResult is one proxy's cache-hit figures for one object.
type hitResult struct {
	Proxy  string       `json:"proxy"`
	Object string       `json:"object"`
	Rounds []wrk.Result `json:"rounds"`
	// Medians over the rounds.
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	P99Milliseconds   float64 `json:"p99Milliseconds"`
	Errors            int     `json:"errors"`
	// OriginRequests the proxy made while warmed and loaded: one per round.
	OriginRequests int64  `json:"originRequests"`
	Error          string `json:"error,omitempty"`
}

func (h *hitResult) summarise() {
	var rps, p99 []float64
	h.Errors = 0
	for _, r := range h.Rounds {
		rps = append(rps, r.RequestsPerSecond)
		p99 = append(p99, r.P99Milliseconds)
		h.Errors += r.Errors
	}
	h.RequestsPerSecond, h.P99Milliseconds = report.Median(rps), report.Median(p99)
}

func hitsTable(hs []hitResult, cfg config) report.Table {
	t := report.Table{
		Title:  fmt.Sprintf("Cache hits (wrk -t %d -c %d, %v per round, median of %d rounds)", cfg.threads, cfg.connections, cfg.duration, cfg.rounds),
		Header: []string{"OBJECT", "PROXY", "REQUESTS/S", "P99 MS", "ERRORS", "ORIGIN REQUESTS"},
	}
	for _, h := range hs {
		t.Rows = append(t.Rows, []string{h.Object, h.Proxy, fmt.Sprintf("%.0f", h.RequestsPerSecond), fmt.Sprintf("%.2f", h.P99Milliseconds), strconv.Itoa(h.Errors), strconv.FormatInt(h.OriginRequests, 10)})
	}
	return t
}

// ratioTable compares sluice with each other proxy: requests/s ratio
// (target ≥ 1.0 against Varnish) and p99 ratio (lower is better).
func ratioTable(hs []hitResult) report.Table {
	t := report.Table{
		Title:  "Sluice edge against the others (requests/s: higher is better, target >= 1.0x Varnish; p99: lower is better)",
		Header: []string{"OBJECT", "AGAINST", "REQUESTS/S RATIO", "P99 RATIO"},
	}
	by := map[string]map[string]hitResult{}
	var objects []string
	for _, h := range hs {
		if by[h.Object] == nil {
			by[h.Object] = map[string]hitResult{}
			objects = append(objects, h.Object)
		}
		by[h.Object][h.Proxy] = h
	}
	for _, obj := range objects {
		s, ok := by[obj]["sluice"]
		if !ok || s.RequestsPerSecond == 0 {
			continue
		}
		for _, other := range []string{"varnish", "nginx"} {
			o, ok := by[obj][other]
			if !ok || o.RequestsPerSecond == 0 || o.P99Milliseconds == 0 {
				continue
			}
			t.Rows = append(t.Rows, []string{obj, other, fmt.Sprintf("%.2fx", s.RequestsPerSecond/o.RequestsPerSecond), fmt.Sprintf("%.2fx", s.P99Milliseconds/o.P99Milliseconds)})
		}
	}
	return t
}

func viewersTable(vs []viewerResult, cfg config) report.Table {
	t := report.Table{
		Title:  fmt.Sprintf("Live channel, %d viewers for %v through each proxy (target: 1 origin request per object)", cfg.viewers, cfg.watch),
		Header: []string{"PROXY", "VIEWER REQUESTS", "FAILED", "OBJECTS", "ORIGIN OBJECT REQUESTS", "PER OBJECT", "ORIGIN PLAYLIST REQ/S"},
	}
	for _, v := range vs {
		t.Rows = append(t.Rows, []string{v.Proxy, strconv.FormatInt(v.Requests, 10), strconv.FormatInt(v.Failed, 10), strconv.Itoa(v.Objects),
			fmt.Sprintf("%.0f", v.OriginObjectRequests), fmt.Sprintf("%.2f", v.PerObject), fmt.Sprintf("%.2f", v.OriginPlaylistPerSecond)})
	}
	t.Notes = []string{"Objects are the distinct segments (init included) the viewers fetched; the origin counts come from the server's sluice_origin_requests_total."}
	return t
}
