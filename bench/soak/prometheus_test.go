package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestParseAndClassifyUp reads a range selector's answer over `up` and
// splits the failed scrapes by the faults' windows.
func TestParseAndClassifyUp(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"matrix","result":[
	 {"metric":{"__name__":"up","instance":"127.0.0.1:1","job":"sluice","node":"n1"},"values":[[1796662800,"1"],[1796662805.25,"0"],[1796662810,"1"]]},
	 {"metric":{"__name__":"up","instance":"127.0.0.1:2","job":"sluice","node":"n2"},"values":[[1796662801,"0"],[1796662806,"0"]]}]}}`
	samples, err := parseUp([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 5 || samples[0].instance != "n1" || !samples[0].ok || samples[1].instance != "n2" || samples[1].ok {
		t.Fatalf("samples: %+v", samples)
	}
	if got := samples[2].at; got != time.Unix(1796662805, 25e7) {
		t.Errorf("fractional timestamp: %v", got)
	}
	// A fault covers 1796662804..1796662807: the failures at 805.25 and
	// 806 are inside it, the one at 801 outside.
	ws := []window{{from: time.Unix(1796662804, 0), to: time.Unix(1796662807, 0)}}
	c := classifyUp(samples, ws)
	if c != (upCount{scrapes: 5, targets: 2, outside: 1, during: 2}) {
		t.Errorf("classifyUp: %+v", c)
	}
	for _, bad := range []string{`{"status":"error","error":"parse error"}`, `{"status":"success","data":{"resultType":"vector","result":[]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["x",1]]}]}}`, `<html>`} {
		if _, err := parseUp([]byte(bad)); err == nil {
			t.Errorf("parseUp(%s) accepted", bad)
		}
	}
}

// TestPrometheusCountsFailedScrapes runs a real Prometheus against a
// /metrics that answers, then fails, and reads back one sample of `up`
// per scrape with the failures counted; stopping it removes its files.
func TestPrometheusCountsFailedScrapes(t *testing.T) {
	if testing.Short() {
		t.Skip("scrapes every 5 s")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("no prometheus on the PATH (scripts/deps.sh installs it)")
	}
	var failing atomic.Bool
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE sluice_up gauge\nsluice_up 1\n"))
	}))
	defer srv.Close()
	parent := t.TempDir()
	p, err := startPrometheus(context.Background(), bin, parent, []metricsTarget{{addr: strings.TrimPrefix(srv.URL, "http://"), node: "n1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	poll.UntilTrue(t, "two scrapes that answered", 2*time.Minute, func() bool { return hits.Load() >= 2 })
	failing.Store(true)
	failedFrom := time.Now()
	poll.UntilTrue(t, "two scrapes that failed", 2*time.Minute, func() bool { return hits.Load() >= 4 })
	var samples []upSample
	poll.Until(t, "the scrapes in up", time.Minute, func() (bool, string) {
		samples, err = p.up(context.Background(), time.Now())
		return err == nil && len(samples) >= 4, fmt.Sprintf("%d samples, %v", len(samples), err)
	})
	// Every failure falls in a window from the switch on: none outside.
	c := classifyUp(samples, []window{{from: failedFrom, to: time.Now()}})
	if c.targets != 1 || c.during < 2 || c.outside != 0 || c.scrapes < 4 {
		t.Errorf("classifyUp: %+v of %+v", c, samples)
	}
	// Without the window they count as outside.
	if c := classifyUp(samples, nil); c.outside < 2 {
		t.Errorf("classifyUp without windows: %+v", c)
	}
	p.stop()
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) != 0 {
		t.Errorf("left in the directory after the stop: %v %v", entries, err)
	}
}
