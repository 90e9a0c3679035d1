package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// num is a figure that JSON shows as null when it is missing (NaN), which
// encoding/json refuses otherwise.
type num float64

// MarshalJSON writes the number, or null for NaN and infinities.
func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'f', -1, 64), nil
}

// summary is the distribution of one figure over a contender's samples.
type summary struct {
	N      int
	P10    float64
	Median float64
	P90    float64
}

// MarshalJSON writes the summary with null for missing figures.
func (s summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		N      int `json:"samples"`
		P10    num `json:"p10"`
		Median num `json:"median"`
		P90    num `json:"p90"`
	}{s.N, num(s.P10), num(s.Median), num(s.P90)})
}

// summarize returns the count, 10th percentile, median and 90th
// percentile of xs; all NaN but the count when xs is empty.
func summarize(xs []float64) summary {
	return summary{N: len(xs), P10: quantile(xs, 0.1), Median: quantile(xs, 0.5), P90: quantile(xs, 0.9)}
}

// quantile is the q-quantile of xs (0 ≤ q ≤ 1), interpolating linearly
// between the two nearest ranks (the definition spreadsheets and R's
// default use); NaN for no values. xs is not reordered.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// seconds formats a figure in seconds with two decimals, "-" when it is
// missing.
func seconds(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// String is "median (p10–p90, n)" in seconds.
func (s summary) String() string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%s–%s, n=%d)", seconds(s.Median), seconds(s.P10), seconds(s.P90), s.N)
}

// ratio is a/b with two decimals, "-" when either is missing.
func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}
