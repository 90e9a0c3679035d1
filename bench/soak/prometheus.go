package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// scrapeEvery is the interval at which /metrics is scraped.
const scrapeEvery = 5 * time.Second

// What scraped /metrics: a real Prometheus, or the soak's own loop.
const (
	scraperPrometheus = "prometheus"
	scraperSoak       = "soak"
)

// metricsWatch scrapes the servers' /metrics through the load: a real
// Prometheus when one is on the PATH, which is asked afterwards for its
// `up` series; the soak's own scraper otherwise.
type metricsWatch struct {
	prom *prometheus
	// note says why the soak's own scraper runs instead ("" with
	// Prometheus).
	note   string
	scrape *scraper
}

// metricsTarget is a server Prometheus scrapes: its address and, on a
// cluster, its node id.
type metricsTarget struct {
	addr, node string
}

// watchMetrics starts Prometheus on targets, or prepares the soak's own
// scraper reading base and counting in tr when there is no Prometheus or
// it does not start.
func (r *rig) watchMetrics(ctx context.Context, base func() string, tr *traffic) *metricsWatch {
	var targets []metricsTarget
	if r.cl != nil {
		for _, n := range r.cl.nodes {
			targets = append(targets, metricsTarget{addr: n.addr, node: n.id})
		}
	} else {
		targets = append(targets, metricsTarget{addr: r.node.addr})
	}
	m := &metricsWatch{scrape: &scraper{base: base, traffic: tr}}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		m.note = "no prometheus on the PATH"
		r.log.Printf("metrics scraped by the soak's own loop: %s", m.note)
		return m
	}
	p, err := startPrometheus(ctx, bin, r.ws.Dir, targets)
	if err != nil {
		m.note = "prometheus did not start: " + err.Error()
		r.log.Printf("metrics scraped by the soak's own loop: %s", m.note)
		return m
	}
	r.ws.Cleanup.Add(p.stop)
	r.log.Printf("Prometheus on %s scrapes %d servers every %s", p.addr, len(targets), scrapeEvery)
	m.prom = p
	return m
}

// run scrapes with the soak's own loop when there is no Prometheus.
func (m *metricsWatch) run(ctx context.Context) {
	if m.prom == nil {
		m.scrape.run(ctx, scrapeEvery)
	}
}

// result records in res the scrapes over the load and their failures
// inside and outside windows, and stops Prometheus.
func (m *metricsWatch) result(ctx context.Context, res *results, windows []window) {
	if m.prom == nil {
		res.Scraper, res.ScraperNote = scraperSoak, m.note
		res.Scrapes, res.ScrapeTargets = m.scrape.count, 1
		_, res.ScrapeFailures, _, res.ScrapeFailuresDuring = m.scrape.traffic.split(windows)
		return
	}
	defer m.prom.stop()
	res.Scraper = scraperPrometheus
	samples, err := m.prom.up(ctx, time.Now())
	if err != nil {
		res.ScraperNote = "reading up from Prometheus failed: " + err.Error()
		return
	}
	s := classifyUp(samples, windows)
	res.Scrapes, res.ScrapeFailures, res.ScrapeFailuresDuring, res.ScrapeTargets = s.scrapes, s.outside, s.during, s.targets
}

// prometheus is a Prometheus server the soak runs in a directory of its
// own, removed when it stops.
type prometheus struct {
	proc  *child.Process
	addr  string
	dir   string
	since time.Time
}

// startPrometheus runs bin scraping targets every scrapeEvery, with its
// configuration and database under a new directory in parent, and
// returns once it is ready.
func startPrometheus(ctx context.Context, bin, parent string, targets []metricsTarget) (*prometheus, error) {
	dir, err := os.MkdirTemp(parent, "prometheus-")
	if err != nil {
		return nil, err
	}
	addr, err := sluice.FreeAddr()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(prometheusConfig(targets)), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	proc, err := child.Start(bin, []string{"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--log.level=warn"}, child.Options{Stdout: logFile, Stderr: logFile})
	_ = logFile.Close()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	p := &prometheus{proc: proc, addr: addr, dir: dir, since: time.Now()}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-proc.Done():
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			p.stop()
			return nil, fmt.Errorf("%w: %s", proc.ExitedEarly("prometheus"), strings.TrimSpace(string(log)))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("not ready within a minute")
		}
	}
}

// prometheusConfig scrapes every target's /metrics every scrapeEvery,
// each labelled with its node.
func prometheusConfig(targets []metricsTarget) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\nscrape_configs:\n  - job_name: sluice\n    static_configs:\n", scrapeEvery, scrapeEvery)
	for _, t := range targets {
		fmt.Fprintf(&b, "      - targets: [%q]\n", t.addr)
		if t.node != "" {
			fmt.Fprintf(&b, "        labels: {node: %q}\n", t.node)
		}
	}
	return b.String()
}

// stop ends Prometheus and removes its directory; it may be called more
// than once.
func (p *prometheus) stop() {
	p.proc.Stop(10 * time.Second)
	_ = os.RemoveAll(p.dir)
}

// upSample is one scrape Prometheus made: when, of which target, and
// whether it succeeded.
type upSample struct {
	at       time.Time
	instance string
	ok       bool
}

// up reads every sample of the `up` series from Prometheus's start to
// at: one per scrape (a range selector returns the raw samples, where a
// range query would resample them on its steps).
func (p *prometheus) up(ctx context.Context, at time.Time) ([]upSample, error) {
	span := int64(math.Ceil(at.Sub(p.since).Seconds())) + 10
	q := url.Values{"query": {fmt.Sprintf(`up{job="sluice"}[%ds]`, span)}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+p.addr+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseUp(body)
}

// parseUp reads the answer of Prometheus's query API to a range selector
// over `up`: a matrix of series, each with [seconds, "value"] pairs.
func parseUp(body []byte) ([]upSample, error) {
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("the query answer is not JSON: %w", err)
	}
	if ans.Status != "success" {
		return nil, fmt.Errorf("the query failed: %s", ans.Error)
	}
	if ans.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("the query answered a %s, not a matrix", ans.Data.ResultType)
	}
	var out []upSample
	for _, s := range ans.Data.Result {
		inst := s.Metric["instance"]
		if n := s.Metric["node"]; n != "" {
			inst = n
		}
		for _, v := range s.Values {
			ts, ok1 := v[0].(float64)
			val, ok2 := v[1].(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("a sample of %s is not [seconds, \"value\"]: %v", inst, v)
			}
			sec, frac := math.Modf(ts)
			out = append(out, upSample{at: time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)), instance: inst, ok: val == "1"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}

// upCount is the scrapes and the failed ones inside and outside the
// faults' windows.
type upCount struct {
	scrapes, targets int
	outside, during  int64
}

// classifyUp counts the scrapes in samples and splits the failed ones by
// the windows of the faults.
func classifyUp(samples []upSample, windows []window) upCount {
	var c upCount
	targets := map[string]bool{}
	for _, s := range samples {
		c.scrapes++
		targets[s.instance] = true
		switch {
		case s.ok:
		case coveredSecond(windows, s.at.Unix()):
			c.during++
		default:
			c.outside++
		}
	}
	c.targets = len(targets)
	return c
}
