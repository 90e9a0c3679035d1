// Package metrics is Sluice's metrics registry: the Prometheus families
// every stage reports into, served on /metrics, and an in-process history
// of each series that alarms and the API query by period and statistic.
//
// The history samples the registry every Interval into one ring per series
// of Retention/Interval points (8,640 for a day at 10 s). Gauges keep their
// value and counters their running total (a query turns it into a rate);
// histograms keep their count and sum but not their buckets, so a period's
// p90 is the 90th percentile of the period's samples rather than of the
// observations. Memory stays below MaxSeries × points × 16 bytes: past
// MaxSeries, idle series make room for new ones, and new ones are dropped
// and counted while every kept series is live.
package metrics

import (
	"context"
	"github.com/sluice-video/sluice/internal/lifecycle"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures a Metrics.
type Config struct {
	// Now is the clock of Run and of queries without an end time (default
	// time.Now).
	Now func() time.Time
	// Interval is how often Run samples the registry into the history
	// (default 10 s).
	Interval time.Duration
	// Retention is how far back the history reaches (default 24 h); each
	// series keeps Retention/Interval points.
	Retention time.Duration
	// MaxSeries caps the series the history keeps (default 2000); past it
	// idle series make room and new ones are dropped and counted.
	MaxSeries int
	// Record says which metric families the history keeps (default the
	// sluice_ and process_ families; the Go runtime's are only exported).
	Record func(family string) bool
	Logger *slog.Logger
}

// Metrics owns Sluice's Prometheus registry, the families the stages report
// into, and their history.
type Metrics struct {
	cfg     Config
	logger  *slog.Logger
	reg     *prometheus.Registry
	handler http.Handler
	f       families
	rtc     webrtcFamilies
	hist    *history
	loop    lifecycle.Loop

	mu       sync.RWMutex
	channels map[string]*channelState // known channels, by name
	// unknown keeps the origin series of requests for unknown channels.
	unknown channelState
	jobs    map[string]bool // job states ever reported
}

// channelState is what Metrics remembers of a channel between reports.
type channelState struct {
	state   string
	input   string
	dropped int64 // the encoder process's last running total of dropped frames
	// origin keeps the channel's origin series by kind and status class,
	// so that a request does not look its labels up; dropped with the
	// channel by RemoveChannel.
	origin map[originLabels]*originSeries
}

// originLabels are the labels of an origin request besides the channel.
type originLabels struct {
	kind  RequestKind
	class string
}

// originSeries are the series one origin request updates.
type originSeries struct {
	requests prometheus.Counter
	bytes    prometheus.Counter
	duration prometheus.Observer
}

// New returns a Metrics with its registry, the Go and process collectors and
// every Sluice family registered.
func New(cfg Config) *Metrics {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Retention < cfg.Interval {
		cfg.Retention = cfg.Interval
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = 2000
	}
	if cfg.Record == nil {
		cfg.Record = defaultRecord
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		cfg:      cfg,
		logger:   cfg.Logger,
		reg:      reg,
		hist:     newHistory(uint64(cfg.Retention/cfg.Interval), cfg.MaxSeries), //nolint:gosec // both are positive, set above
		channels: map[string]*channelState{},
		jobs:     map[string]bool{},
	}
	m.f = newFamilies(m.hist)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.f.register(reg)
	m.rtc = newWebRTCFamilies()
	reg.MustRegister(m.rtc.collectors()...)
	m.startFrameRefusals()
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	return m
}

func defaultRecord(family string) bool {
	return hasPrefix(family, "sluice_") || hasPrefix(family, "process_")
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// Registry returns the registry, for collectors Sluice's parts bring along.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Interval returns the sampling interval of the history.
func (m *Metrics) Interval() time.Duration { return m.cfg.Interval }

// Start samples the registry into the history at every multiple of
// Interval, from now until Close.
func (m *Metrics) Start(ctx context.Context) error {
	m.loop.Go(ctx, m.run)
	return nil
}

// Close stops the sampling.
func (m *Metrics) Close(ctx context.Context) error { return m.loop.Stop(ctx) }

func (m *Metrics) run(ctx context.Context) {
	for {
		now := m.cfg.Now()
		next := now.Truncate(m.cfg.Interval).Add(m.cfg.Interval)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		m.SampleNow(m.cfg.Now())
	}
}

// SampleNow gathers the registry and appends every recorded series' value
// at t to the history. Samples at or before the previous one are ignored.
func (m *Metrics) SampleNow(t time.Time) {
	mfs, err := m.reg.Gather()
	if err != nil {
		m.logger.Warn("gathering metrics for the history", "error", err)
	}
	fams := make([]familySample, 0, len(mfs))
	for _, mf := range mfs {
		if !m.cfg.Record(mf.GetName()) {
			continue
		}
		f := familySample{name: mf.GetName()}
		typ := mf.GetType().String()
		switch typ {
		case "GAUGE", "UNTYPED":
			f.kind = kindGauge
		case "COUNTER":
			f.kind = kindCounter
		case "HISTOGRAM", "SUMMARY":
			f.kind = kindHistogram
		default:
			continue
		}
		for _, mt := range mf.GetMetric() {
			sm := sampled{labels: make([]labelPair, 0, len(mt.GetLabel()))}
			for _, lp := range mt.GetLabel() {
				sm.labels = append(sm.labels, labelPair{lp.GetName(), lp.GetValue()})
			}
			switch typ {
			case "GAUGE":
				sm.value = mt.GetGauge().GetValue()
			case "UNTYPED":
				sm.value = mt.GetUntyped().GetValue()
			case "COUNTER":
				sm.value = mt.GetCounter().GetValue()
			case "HISTOGRAM":
				sm.value = float64(mt.GetHistogram().GetSampleCount())
				sm.sum = mt.GetHistogram().GetSampleSum()
			case "SUMMARY":
				sm.value = float64(mt.GetSummary().GetSampleCount())
				sm.sum = mt.GetSummary().GetSampleSum()
			}
			// Values that are not finite count as missing.
			if math.IsNaN(sm.value) || math.IsInf(sm.value, 0) || math.IsNaN(sm.sum) || math.IsInf(sm.sum, 0) {
				continue
			}
			f.samples = append(f.samples, sm)
		}
		fams = append(fams, f)
	}
	if !m.hist.sample(t, fams) {
		m.logger.Debug("metrics sample not after the previous one; ignored", "at", t)
	}
}

// RemoveChannel forgets every series of a deleted channel, in the registry
// and in the history.
func (m *Metrics) RemoveChannel(channel string) {
	m.mu.Lock()
	delete(m.channels, channel)
	m.mu.Unlock()
	m.f.deleteLabel("channel", channel)
	m.rtc.deleteChannel(channel)
	m.hist.removeLabel("channel", channel)
}

// RemoveInput forgets every series of a deleted input.
func (m *Metrics) RemoveInput(input string) {
	m.f.deleteLabel("input", input)
	m.hist.removeLabel("input", input)
}

// RemoveEdge forgets every series of an edge that is gone.
func (m *Metrics) RemoveEdge(edge string) {
	m.f.deleteLabel("edge", edge)
	m.hist.removeLabel("edge", edge)
}
