package alarm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

// dps builds datapoints from a pattern: a number, or "-" for no data.
func dps(vals ...any) []datapoint {
	out := make([]datapoint, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case float64:
			out[i] = datapoint{value: v, ok: true}
		case int:
			out[i] = datapoint{value: float64(v), ok: true}
		}
	}
	return out
}

func TestBreachesEveryComparison(t *testing.T) {
	tests := []struct {
		cmp  string
		v    float64
		want bool
	}{
		{resource.GreaterThanOrEqual, 11, true},
		{resource.GreaterThanOrEqual, 10, true},
		{resource.GreaterThanOrEqual, 9, false},
		{resource.GreaterThan, 11, true},
		{resource.GreaterThan, 10, false},
		{resource.GreaterThan, 9, false},
		{resource.LessThan, 11, false},
		{resource.LessThan, 10, false},
		{resource.LessThan, 9, true},
		{resource.LessThanOrEqual, 11, false},
		{resource.LessThanOrEqual, 10, true},
		{resource.LessThanOrEqual, 9, true},
		{"Sideways", 10, false},
	}
	for _, tt := range tests {
		if got := breaches(tt.cmp, tt.v, 10); got != tt.want {
			t.Errorf("%v %s 10 = %v, want %v", tt.v, tt.cmp, got, tt.want)
		}
	}
}

// TestDecide covers M of N with every missing-data treatment. X is a
// breaching value (above the threshold 10), o a fine one, - no data.
func TestDecide(t *testing.T) {
	const X, o = 20, 1
	const (
		ok   = resource.AlarmOK
		al   = resource.AlarmAlarm
		ins  = resource.AlarmInsufficientData
		keep = resource.AlarmState("keep")
	)
	tests := []struct {
		m       int
		points  []datapoint
		missing resource.MissingData
		current resource.AlarmState
		want    resource.AlarmState
	}{
		// Complete data: M of N.
		{3, dps(X, X, X), resource.MissingMissing, ok, al},
		{3, dps(X, o, X), resource.MissingMissing, al, ok},
		{2, dps(X, o, X), resource.MissingMissing, ok, al},
		{2, dps(o, o, X), resource.MissingMissing, al, ok},
		{0, dps(X, X, X), resource.MissingMissing, ok, al}, // 0 means all
		{0, dps(X, X, o), resource.MissingMissing, ins, ok},
		{1, dps(o, o, X), resource.MissingMissing, ok, al},
		{3, dps(o, X, X, X, o), resource.MissingMissing, ok, al},
		{3, dps(X, X, o, X, o), resource.MissingMissing, ok, al}, // any 3 of 5, not consecutive
		{3, dps(X, o, o, X, o), resource.MissingMissing, ok, ok},
		// The CloudWatch table for 3 of 5.
		{3, dps(o, o, X, o, X), resource.MissingMissing, al, ok},
		{3, dps(o, o, X, o, X), resource.MissingIgnore, al, ok},
		{3, dps(o, o, X, o, X), resource.MissingBreaching, al, ok},
		{3, dps(o, o, X, o, X), resource.MissingNotBreaching, al, ok},
		{3, dps(o, "-", X, "-", X), resource.MissingMissing, al, ok},
		{3, dps(o, "-", X, "-", X), resource.MissingIgnore, al, ok},
		{3, dps(o, "-", X, "-", X), resource.MissingBreaching, ok, al},
		{3, dps(o, "-", X, "-", X), resource.MissingNotBreaching, al, ok},
		{3, dps("-", "-", "-", "-", "-"), resource.MissingMissing, ok, ins},
		{3, dps("-", "-", "-", "-", "-"), resource.MissingIgnore, ok, keep},
		{3, dps("-", "-", "-", "-", "-"), resource.MissingIgnore, al, keep},
		{3, dps("-", "-", "-", "-", "-"), resource.MissingBreaching, ok, al},
		{3, dps("-", "-", "-", "-", "-"), resource.MissingNotBreaching, al, ok},
		{3, dps(o, X, X, "-", X), resource.MissingMissing, ok, al},
		{3, dps(o, X, X, "-", X), resource.MissingIgnore, ok, al},
		{3, dps(o, X, X, "-", X), resource.MissingBreaching, ok, al},
		{3, dps(o, X, X, "-", X), resource.MissingNotBreaching, ok, al},
		{3, dps("-", "-", X, "-", "-"), resource.MissingMissing, ok, al},
		{3, dps("-", "-", X, "-", "-"), resource.MissingIgnore, ok, keep},
		{3, dps("-", "-", X, "-", "-"), resource.MissingBreaching, ok, al},
		{3, dps("-", "-", X, "-", "-"), resource.MissingNotBreaching, al, ok},
		// Fewer datapoints than M: with missing, every one must breach.
		{3, dps("-", o, X, "-", "-"), resource.MissingMissing, al, ok},
		{3, dps("-", "-", o, "-", "-"), resource.MissingMissing, al, ok},
		{3, dps("-", "-", o, "-", "-"), resource.MissingIgnore, al, keep},
		// The default treatment is missing.
		{3, dps("-", "-", "-"), "", ok, ins},
		{2, dps("-", X, X), "", ok, al},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%d of %s %s from %s", tt.m, pattern(tt.points), tt.missing, tt.current)
		t.Run(name, func(t *testing.T) {
			spec := resource.AlarmSpec{
				Metric: "sluice_test", Statistic: "avg", PeriodSeconds: 60, EvaluationPeriods: len(tt.points),
				DatapointsToAlarm: tt.m, Threshold: 10, Comparison: resource.GreaterThan, TreatMissingData: tt.missing,
			}
			out := decide(&spec, tt.points, tt.current)
			got := out.state
			if out.keep {
				got = keep
				if out.state != tt.current {
					t.Errorf("kept state %s, current %s", out.state, tt.current)
				}
			}
			if got != tt.want {
				t.Fatalf("%s, want %s (%s)", got, tt.want, out.reason)
			}
			if !out.keep && out.reason == "" {
				t.Fatal("no reason")
			}
		})
	}
}

func pattern(d []datapoint) string {
	var b strings.Builder
	for _, p := range d {
		switch {
		case !p.ok:
			b.WriteByte('-')
		case p.value > 10:
			b.WriteByte('X')
		default:
			b.WriteByte('o')
		}
	}
	return b.String()
}

func TestReasons(t *testing.T) {
	spec := resource.AlarmSpec{
		Metric: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": "news"}, Statistic: "avg",
		PeriodSeconds: 60, EvaluationPeriods: 3, Threshold: 0.95, Comparison: resource.LessThan,
	}
	tests := []struct {
		points  []datapoint
		missing resource.MissingData
		want    string
	}{
		{dps(0.81, 0.79, 0.83), "", "Threshold crossed: 3 of the last 3 datapoints [0.81, 0.79, 0.83] were less than the threshold 0.95"},
		{dps(0.81, 0.99, 1.0), "", "Threshold not crossed: 1 of the last 3 datapoints [0.81, 0.99, 1] was less than the threshold 0.95; 3 needed to alarm"},
		{dps(0.8133333333, "-", 0.5), "", "Threshold crossed: 2 of the last 3 datapoints [0.8133, no data, 0.5] were less than the threshold 0.95 (periods without data are skipped)"},
		{dps(0.81, "-", 0.5), resource.MissingBreaching, "Threshold crossed: 3 of the last 3 datapoints [0.81, no data, 0.5] were less than the threshold 0.95 (periods without data count as breaching)"},
		{dps(0.81, "-", 0.5), resource.MissingNotBreaching, "Threshold not crossed: 2 of the last 3 datapoints [0.81, no data, 0.5] were less than the threshold 0.95 (periods without data count as not breaching); 3 needed to alarm"},
		{dps("-", "-", "-"), "", `Insufficient data: no datapoints of sluice_encoder_speed_ratio{channel="news"} in the last 3 periods of 1m`},
	}
	for _, tt := range tests {
		spec.TreatMissingData = tt.missing
		if got := decide(&spec, tt.points, resource.AlarmOK).reason; got != tt.want {
			t.Errorf("reason\n got %s\nwant %s", got, tt.want)
		}
	}
}
