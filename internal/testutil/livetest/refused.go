package livetest

import (
	"testing"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/metrics"
)

// Refused returns how many connections of a protocol the metrics counted
// as refused for reason, as /metrics would show it.
func Refused(t *testing.T, m *metrics.Metrics, protocol string, reason live.Refusal) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sluice_ingest_refused_connections_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["protocol"] == protocol && labels["reason"] == string(reason) {
				return s.GetCounter().GetValue()
			}
		}
	}
	return 0
}
