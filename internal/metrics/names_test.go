package metrics

import "testing"

func TestPrometheusNames(t *testing.T) {
	for _, tc := range []struct {
		name          string
		metric, label bool
	}{
		{"sluice_encoder_speed_ratio", true, true},
		{"_x", true, true},
		{"ns:rule:rate5m", true, false},
		{"a1", true, true},
		{"1a", false, false},
		{"", false, false},
		{"sluice-x", false, false},
		{"sluice x", false, false},
		{"élan", false, false},
	} {
		if got := ValidMetricName(tc.name); got != tc.metric {
			t.Errorf("ValidMetricName(%q) = %v, want %v", tc.name, got, tc.metric)
		}
		if got := ValidLabelName(tc.name); got != tc.label {
			t.Errorf("ValidLabelName(%q) = %v, want %v", tc.name, got, tc.label)
		}
	}
}
