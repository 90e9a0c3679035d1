package main

import (
	"encoding/json"
	"math"
	"testing"
)

func TestQuantileAndSummary(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, tc := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {1, 5}, {0.1, 1.4}, {0.9, 4.6}} {
		if got := quantile(xs, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if xs[0] != 5 {
		t.Error("quantile reordered its argument")
	}
	if !math.IsNaN(quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
	s := summarize([]float64{1.5, 1.6, 1.4, 1.55})
	if s.N != 4 || s.String() != "1.52 (1.43–1.59, n=4)" {
		t.Errorf("summary = %+v %q", s, s)
	}
	if got := (summary{}).String(); got != "-" {
		t.Errorf("empty summary = %q", got)
	}
	if ratio(1.5, 1.2) != "1.25" || ratio(math.NaN(), 1) != "-" || ratio(1, 0) != "-" {
		t.Error("ratio")
	}
}

func TestMissingFiguresAreNullInJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		S summary
		E num
		F num
	}{summarize(nil), num(math.NaN()), 1.25})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"S":{"samples":0,"p10":null,"median":null,"p90":null},"E":null,"F":1.25}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}
