package metrics

import "time"

// EdgeObserver reports one edge's answers and origin fetches into the
// sluice_edge_* families. It satisfies the edge package's Observer.
type EdgeObserver struct {
	m    *Metrics
	edge string
}

// Edge returns the observer of the edge named edge (a distribution's name,
// or the name a standalone edge runs under).
func (m *Metrics) Edge(edge string) *EdgeObserver {
	// Create the series at once, so an idle edge exports zeros.
	for _, r := range []EdgeResult{EdgeHit, EdgeMiss, EdgeCollapsed, EdgeStale} {
		m.f.edgeReqs.WithLabelValues(edge, string(r))
	}
	m.f.edgeOriginErr.WithLabelValues(edge)
	m.f.edgeBytes.WithLabelValues(edge)
	return &EdgeObserver{m: m, edge: edge}
}

// CacheResult counts a response by how the cache served it.
func (o *EdgeObserver) CacheResult(result string) {
	o.m.EdgeRequest(o.edge, EdgeResult(result))
}

// Response counts a response by status class and its body bytes.
func (o *EdgeObserver) Response(status int, bytes int64) {
	o.m.f.edgeResponses.WithLabelValues(o.edge, StatusClass(status)).Inc()
	if bytes > 0 {
		o.m.f.edgeBytes.WithLabelValues(o.edge).Add(float64(bytes))
	}
}

// OriginRequest observes one fetch from an origin.
func (o *EdgeObserver) OriginRequest(d time.Duration, failed bool) {
	o.m.EdgeOriginRequest(o.edge, d)
	if failed {
		o.m.f.edgeOriginErr.WithLabelValues(o.edge).Inc()
	}
}
