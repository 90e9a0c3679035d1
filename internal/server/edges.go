package server

import (
	"github.com/sluice-video/sluice/internal/edge"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/origin"
)

// edgeMetrics exports the distributions' edges into the registry.
type edgeMetrics struct{ m *metrics.Metrics }

func (e edgeMetrics) EdgeObserver(name string) edge.Observer { return e.m.Edge(name) }
func (e edgeMetrics) RemoveEdge(name string)                 { e.m.RemoveEdge(name) }
func (e edgeMetrics) EdgeConnectionRefused(name string)      { e.m.EdgeConnectionRefused(name) }

// originVerifier is what checks signatures on protected endpoints: nil
// (every request refused) without signing keys.
func (s *Server) originVerifier() origin.Verifier {
	if s.verify == nil {
		return nil
	}
	return s.verify
}
