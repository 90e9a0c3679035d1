package main

import (
	"math"
	"strings"
	"testing"
)

const stageExposition = `# HELP sluice_pipeline_stage_seconds Time media spends in each pipeline stage.
# TYPE sluice_pipeline_stage_seconds histogram
sluice_pipeline_stage_seconds_bucket{channel="a",stage="encode",le="0.1"} 2
sluice_pipeline_stage_seconds_bucket{channel="a",stage="encode",le="0.2"} 6
sluice_pipeline_stage_seconds_bucket{channel="a",stage="encode",le="+Inf"} 10
sluice_pipeline_stage_seconds_bucket{channel="b",stage="encode",le="0.1"} 0
sluice_pipeline_stage_seconds_bucket{channel="b",stage="encode",le="0.2"} 2
sluice_pipeline_stage_seconds_bucket{channel="b",stage="encode",le="+Inf"} 2
sluice_pipeline_stage_seconds_bucket{channel="a",stage="package \"x\"",le="0.5"} 4
sluice_pipeline_stage_seconds_bucket{channel="a",stage="package \"x\"",le="+Inf"} 4
sluice_pipeline_stage_seconds_sum{channel="a",stage="encode"} 1.5
sluice_other_bucket{stage="encode",le="+Inf"} 99
`

func TestParseStageHistogramSumsOtherLabels(t *testing.T) {
	h, err := parseStageHistogram(strings.NewReader(stageExposition))
	if err != nil {
		t.Fatal(err)
	}
	enc := h["encode"]
	if enc[0.1] != 2 || enc[0.2] != 8 || enc[math.Inf(1)] != 12 {
		t.Errorf("encode buckets = %v", enc)
	}
	if _, ok := h[`package "x"`]; !ok || len(h) != 2 {
		t.Errorf("stages = %v", h)
	}
	none, err := parseStageHistogram(strings.NewReader("sluice_up 1\n"))
	if err != nil || none != nil {
		t.Errorf("absent metric: %v, %v", none, err)
	}
}

func TestStageQuantileInterpolatesLikePrometheus(t *testing.T) {
	b := stageBuckets{0.1: 2, 0.2: 8, math.Inf(1): 12}
	// Rank 6 of 12 falls in (0.1, 0.2], 4 of its 6 observations in.
	if q, n := b.quantile(0.5); math.Abs(q-(0.1+0.1*4/6)) > 1e-9 || n != 12 {
		t.Errorf("median = %v (n %v)", q, n)
	}
	// Rank 11.4 is above the highest finite bound: that bound.
	if q, _ := b.quantile(0.95); q != 0.2 {
		t.Errorf("p95 = %v", q)
	}
	d := b.sub(stageBuckets{0.1: 2, 0.2: 2, math.Inf(1): 2})
	if q, n := d.quantile(0.5); math.Abs(q-(0.1+0.1*5/6)) > 1e-9 || n != 10 {
		t.Errorf("median of the difference = %v (n %v)", q, n)
	}
	if q, n := (stageBuckets{math.Inf(1): 0}).quantile(0.5); !math.IsNaN(q) || n != 0 {
		t.Errorf("empty = %v, %v", q, n)
	}
}
