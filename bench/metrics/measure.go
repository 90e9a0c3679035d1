package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
)

// scrapeResult is one contender's scrapes.
type scrapeResult struct {
	Name     string  `json:"name"`
	Series   int     `json:"series"`
	BodyKiB  float64 `json:"bodyKiB"`
	MedianMs float64 `json:"medianMs"`
	P90Ms    float64 `json:"p90Ms"`
	AllocKiB float64 `json:"allocKiBPerScrape"`
}

// measureScrapes serves Sluice's /metrics and, as the anchor, a bare
// client_golang registry with as many gauge series, each on a loopback
// HTTP server, and scrapes each n times in the text format Prometheus asks
// for. Allocations are the whole process's (server and client side).
func (w *world) measureScrapes(ctx context.Context, n int) ([]scrapeResult, error) {
	series, err := countSeries(w.m.Registry())
	if err != nil {
		return nil, err
	}
	bare := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bare_series", Help: "One of as many gauges as Sluice exposes series."}, []string{"channel", "n"})
	bare.MustRegister(g)
	for i := range series {
		g.WithLabelValues(channelName(i%w.cfg.channels), fmt.Sprint(i)).Set(float64(i))
	}
	var out []scrapeResult
	for _, c := range []struct {
		name   string
		series int
		h      http.Handler
	}{
		{"sluice /metrics", series, w.m.Handler()},
		{"bare client_golang", series, promhttp.HandlerFor(bare, promhttp.HandlerOpts{})},
	} {
		r, err := scrape(ctx, c.h, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		r.Name, r.Series = c.name, c.series
		out = append(out, r)
	}
	return out, nil
}

// countSeries counts the samples a registry exposes (a histogram counts
// its buckets, sum and count).
func countSeries(g prometheus.Gatherer) (int, error) {
	fams, err := g.Gather()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				n += len(h.GetBucket()) + 3
				continue
			}
			n++
		}
	}
	return n, nil
}

func scrape(ctx context.Context, h http.Handler, n int) (scrapeResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return scrapeResult{}, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	url := "http://" + ln.Addr().String() + "/metrics"
	client := &http.Client{Timeout: 30 * time.Second}
	get := func() (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept", "text/plain;version=0.0.4")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
		}
		return int(b), err
	}
	size, err := get() // warm-up: connections, buffers
	if err != nil {
		return scrapeResult{}, err
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	times := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if _, err := get(); err != nil {
			return scrapeResult{}, err
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
	}
	runtime.ReadMemStats(&ms1)
	return scrapeResult{
		BodyKiB:  float64(size) / 1024,
		MedianMs: report.Median(times),
		P90Ms:    metrics.Quantile(0.9, times),
		AllocKiB: float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(n) / 1024,
	}, nil
}

// queryResult is one kind of history query.
type queryResult struct {
	Name     string  `json:"name"`
	Series   int     `json:"series"`
	Points   int     `json:"points"`
	MedianMs float64 `json:"medianMs"`
	P90Ms    float64 `json:"p90Ms"`
}

// measureQueries runs the queries an alarm, a console graph and a
// dashboard over every channel make.
func (w *world) measureQueries(ctx context.Context, n int) ([]queryResult, error) {
	end := w.now
	span := min(w.cfg.history, 24*time.Hour)
	qs := []struct {
		name string
		q    metrics.Query
	}{
		{"one channel's encoder speed, avg, last 5 min at 60 s (an alarm)", metrics.Query{Name: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": channelName(0)}, Stat: "avg", Period: time.Minute, From: end.Add(-5 * time.Minute), To: end}},
		{"one channel's segment rate, 1 h at 60 s", metrics.Query{Name: "sluice_packager_segments_total", Labels: map[string]string{"channel": channelName(0)}, Stat: "avg", Period: time.Minute, From: end.Add(-time.Hour), To: end, Rate: true}},
		{"every channel's encoder speed, p90 of " + span.String() + " at 5 min", metrics.Query{Name: "sluice_encoder_speed_ratio", Stat: "p90", Period: 5 * time.Minute, From: end.Add(-span), To: end}},
		{"every channel's segment latency (histogram), avg of 1 h at 60 s", metrics.Query{Name: "sluice_packager_segment_availability_latency_seconds", Stat: "avg", Period: time.Minute, From: end.Add(-time.Hour), To: end}},
	}
	var out []queryResult
	for _, c := range qs {
		times := make([]float64, 0, n)
		var res metrics.Result
		for range n {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			start := time.Now()
			r, err := w.m.Query(c.q)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			times = append(times, float64(time.Since(start).Microseconds())/1000)
			res = r
		}
		qr := queryResult{Name: c.name, Series: len(res.Series), MedianMs: report.Median(times), P90Ms: metrics.Quantile(0.9, times)}
		for _, s := range res.Series {
			qr.Points += len(s.Points)
		}
		if qr.Series == 0 || qr.Points == 0 {
			return nil, fmt.Errorf("%s: no datapoints", c.name)
		}
		out = append(out, qr)
	}
	return out, nil
}

// pathResult is the cost of one call on the segment path.
type pathResult struct {
	Name       string  `json:"name"`
	NsPerOp    float64 `json:"nsPerOp"`
	BytesPerOp float64 `json:"bytesPerOp"`
}

// measureSegmentPath times what the packager and the control plane do per
// segment and per event: count the segment with its availability
// latency, and publish an event on a bus with a reader attached.
func (w *world) measureSegmentPath() []pathResult {
	const ops = 200_000
	bus := event.NewBus(event.BusConfig{Metrics: w.m})
	defer bus.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, sub := bus.Subscribe(ctx, bus.Last())
	read := make(chan int)
	go func() {
		n := 0
		for range events { // as an SSE reader would
			n++
		}
		read <- n
	}()
	defer func() { sub.Close(); <-read }()
	ev := resource.Event{Type: resource.EventSegmentGap, Resource: "channel/" + channelName(0), Detail: map[string]string{"channel": channelName(0), "rendition": "r0"}, Message: "a gap"}
	cases := []struct {
		name string
		op   func(i int)
	}{
		{"count a segment (SegmentProduced)", func(i int) {
			w.m.SegmentProduced(channelName(i%w.cfg.channels), "r0", 700*time.Millisecond)
		}},
		{"publish an event (one SSE reader)", func(int) { bus.Publish(ev) }},
	}
	var out []pathResult
	for _, c := range cases {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		for i := range ops {
			c.op(i)
		}
		d := time.Since(start)
		runtime.ReadMemStats(&ms1)
		out = append(out, pathResult{Name: c.name, NsPerOp: float64(d.Nanoseconds()) / ops, BytesPerOp: float64(ms1.TotalAlloc-ms0.TotalAlloc) / ops})
	}
	return out
}
