package main

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// stageMetric is the histogram of how long media spends in each stage of
// a Sluice pipeline, if the server exposes it.
const stageMetric = "sluice_pipeline_stage_seconds"

// stageBuckets are the cumulative bucket counts of one stage: upper bound
// → count, summed over every other label.
type stageBuckets map[float64]float64

// parseStageHistogram reads the buckets of stageMetric, per stage, from a
// Prometheus text exposition. It returns nil when the metric is absent.
func parseStageHistogram(r io.Reader) (map[string]stageBuckets, error) {
	var out map[string]stageBuckets
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	prefix := stageMetric + "_bucket{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		labels := parseLabels(line[len(prefix):end])
		fields := strings.Fields(line[end+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		le, err := strconv.ParseFloat(labels["le"], 64) // "+Inf" parses
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]stageBuckets{}
		}
		stage := labels["stage"]
		if out[stage] == nil {
			out[stage] = stageBuckets{}
		}
		out[stage][le] += v
	}
	return out, sc.Err()
}

// parseLabels reads `a="x",b="y"` (escaped quotes and backslashes are
// unescaped).
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, `="`)
		if !ok {
			break
		}
		var v strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				if rest[i] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(rest[i])
		}
		out[strings.TrimSpace(k)] = v.String()
		s = strings.TrimPrefix(rest[min(i+1, len(rest)):], ",")
	}
	return out
}

// sub returns the buckets of b minus those of before (what was observed
// in between).
func (b stageBuckets) sub(before stageBuckets) stageBuckets {
	out := stageBuckets{}
	for le, v := range b {
		out[le] = v - before[le]
	}
	return out
}

// quantile estimates the q-quantile from cumulative buckets as
// Prometheus's histogram_quantile does: linear within the bucket that
// holds the rank, the lower bound of the first bucket being 0. It
// returns the count observed too; NaN for no observations.
func (b stageBuckets) quantile(q float64) (float64, float64) {
	bounds := make([]float64, 0, len(b))
	for le := range b {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 || !math.IsInf(bounds[len(bounds)-1], 1) {
		return math.NaN(), 0
	}
	total := b[bounds[len(bounds)-1]]
	if total <= 0 {
		return math.NaN(), 0
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for _, le := range bounds {
		c := b[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevBound, total // above the highest finite bound
			}
			if c == prevCount {
				return le, total
			}
			return prevBound + (le-prevBound)*(rank-prevCount)/(c-prevCount), total
		}
		prevBound, prevCount = le, c
	}
	return prevBound, total
}
