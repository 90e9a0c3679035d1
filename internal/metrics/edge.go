package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-video/sluice/internal/edge"
)

// EdgeObserver reports one edge's answers and origin fetches into the
// sluice_edge_* families. It satisfies the edge package's Observer. Its
// series are looked up once, so a cache hit costs a few atomic adds.
type EdgeObserver struct {
	m       *Metrics
	edge    string
	results map[string]prometheus.Counter
	classes map[string]prometheus.Counter
	bytes   prometheus.Counter
	errors  prometheus.Counter
	latency prometheus.Observer
}

// EdgeObserver is Edge as the edge package takes it: the observer of a
// distribution's edge, or of `sluice edge`.
func (m *Metrics) EdgeObserver(name string) edge.Observer { return m.Edge(name) }

// Edge returns the observer of the edge named edge (a distribution's name,
// or the name a standalone edge runs under). Its series exist at once, so
// an idle edge exports zeros.
func (m *Metrics) Edge(edge string) *EdgeObserver {
	o := &EdgeObserver{
		m: m, edge: edge,
		results: map[string]prometheus.Counter{},
		classes: map[string]prometheus.Counter{},
		bytes:   m.f.edgeBytes.WithLabelValues(edge),
		errors:  m.f.edgeOriginErr.WithLabelValues(edge),
		latency: m.f.edgeOriginDur.WithLabelValues(edge),
	}
	for _, r := range []EdgeResult{EdgeHit, EdgeMiss, EdgeCollapsed, EdgeStale} {
		o.results[string(r)] = m.f.edgeReqs.WithLabelValues(edge, string(r))
	}
	for _, c := range []string{"2xx", "3xx", "4xx", "5xx"} {
		o.classes[c] = m.f.edgeResponses.WithLabelValues(edge, c)
	}
	m.f.edgeRefused.WithLabelValues(edge)
	return o
}

// CacheResult counts a response by how the cache served it.
func (o *EdgeObserver) CacheResult(result string) {
	if c, ok := o.results[result]; ok {
		c.Inc()
		return
	}
	o.m.EdgeRequest(o.edge, EdgeResult(result))
}

// Response counts a response by status class and its body bytes.
func (o *EdgeObserver) Response(status int, bytes int64) {
	class := StatusClass(status)
	// The maps are only read after Edge filled them.
	if c, ok := o.classes[class]; ok {
		c.Inc()
	} else {
		o.m.f.edgeResponses.WithLabelValues(o.edge, class).Inc()
	}
	if bytes > 0 {
		o.bytes.Add(float64(bytes))
	}
}

// OriginRequest observes one fetch from an origin.
func (o *EdgeObserver) OriginRequest(d time.Duration, failed bool) {
	o.latency.Observe(max(d, 0).Seconds())
	if failed {
		o.errors.Inc()
	}
}
